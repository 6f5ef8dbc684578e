import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { ConfigError, SERVICE_NAMES, loadPayloadConfig, parsePayloadConfig, toConfigFile, validatePayloadConfig, type ServiceName } from "../src/config/index.js";

const CWD = "/srv/umbra";
const FILE = "config/umbra.yaml";

/** A record whose every key may be left out. */
const partial = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) => fc.record(model, { requiredKeys: [] });

// Round numbers through YAML: a double prints as its shortest form and reads back the same.
const seconds = (max = 86400) => fc.double({ min: 0.001, max, noNaN: true });
const path = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes("\0"));
const parameterValue = fc.oneof(fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)), fc.string({ maxLength: 100 }));
const restart = partial({
  initialBackoffS: seconds(30),
  factor: fc.double({ min: 1, max: 100, noNaN: true }),
  maxBackoffS: fc.double({ min: 30, max: 86400, noNaN: true }),
  maxFailures: fc.integer({ min: 1, max: 1000 }),
  windowS: seconds(),
});
const timeouts = { heartbeatTimeoutS: seconds(), startTimeoutS: seconds(), stopTimeoutS: seconds() };

const service = (name: ServiceName) =>
  partial({
    ...(name === "ttc" || name === "thermal" ? { enabled: fc.constant(true) } : { enabled: fc.boolean() }),
    ...timeouts,
    restart,
    parameters: fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/), parameterValue, { maxKeys: 5 }),
    args: fc.array(path, { maxLength: 4 }),
  });

/** Distinct APIDs for the services that get one (never the gateway). */
const apids = fc.uniqueArray(fc.integer({ min: 0, max: 2046 }), { minLength: SERVICE_NAMES.length, maxLength: SERVICE_NAMES.length }).chain((values) =>
  fc.tuple(fc.constant(values), fc.array(fc.boolean(), { minLength: SERVICE_NAMES.length, maxLength: SERVICE_NAMES.length })),
);

/** Any valid configuration file but its APIDs, every field optional. */
const fileWithoutApids = partial({
  platform: fc.constantFrom("hil", "linux"),
  paths: partial({ data: path, run: path, keys: path, reports: path, models: path }),
  bus: partial({ socket: path, tcp: fc.tuple(fc.constantFrom("127.0.0.1", "bench", "[::1]"), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`) }),
  hil: partial({ scenario: path, speed: fc.double({ min: 0.001, max: 10000, noNaN: true }) }),
  watchdog: partial({ enabled: fc.boolean(), timeoutS: fc.double({ min: 30, max: 86400, noNaN: true }), kickIntervalS: fc.double({ min: 0.001, max: 14.9, noNaN: true }) }),
  boot: partial({ stableAfterS: seconds(), loopThreshold: fc.integer({ min: 1, max: 100 }) }),
  safeMode: partial({
    keep: fc.shuffledSubarray([...SERVICE_NAMES]).map((keep) => [...keep, ...(["ttc", "thermal"] as const).filter((n) => !keep.includes(n))]),
    minBatterySocPct: fc.double({ min: 0, max: 100, noNaN: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    onThermalEmergency: fc.boolean(),
  }),
  supervisor: partial({ statusIntervalS: seconds(3600) }),
  defaults: partial({ ...timeouts, restart }),
  services: partial(Object.fromEntries(SERVICE_NAMES.map((n) => [n, service(n)]))),
  inference: partial({ models: fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/), { minLength: 1, maxLength: 5 }) }),
  gateway: partial({
    host: fc.constantFrom("127.0.0.1", "0.0.0.0", "::1", "localhost"),
    port: fc.integer({ min: 0, max: 65535 }),
    spi: fc.integer({ min: 1, max: 65534 }),
    sourceId: fc.integer({ min: 0, max: 65535 }),
    rawTcpPort: fc.integer({ min: 1, max: 65535 }),
    rawUdpPort: fc.integer({ min: 1, max: 65535 }),
  }),
});

/** Any valid configuration file, every field optional. */
const validFile = fc.tuple(fileWithoutApids, apids).map(([file, [values, given]]) => {
  if (!given.some((g, i) => g && SERVICE_NAMES[i] !== "gateway")) return file;
  const services = { ...(file.services as Record<string, Record<string, unknown>> | undefined) };
  SERVICE_NAMES.forEach((name, i) => {
    if (given[i] && name !== "gateway") services[name] = { ...(services[name] ?? {}), apid: values[i] };
  });
  return { ...file, services };
});

/** Runs `fn`; anything thrown must be a ConfigError. */
function onlyConfigErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.message.length).toBeGreaterThan(0);
  }
}

describe("configuration properties", () => {
  it("any valid partial configuration round-trips through YAML to the same PayloadConfig", () => {
    fc.assert(
      fc.property(validFile, (file) => {
        const g = (file as { gateway?: { port?: number; rawTcpPort?: number } }).gateway;
        fc.pre(g?.rawTcpPort === undefined || g.rawTcpPort !== (g.port ?? 8080));
        const direct = validatePayloadConfig(file, FILE, { cwd: CWD });
        const viaYaml = parsePayloadConfig(stringify(file), FILE, { cwd: CWD });
        expect(viaYaml).toEqual(direct);
        // And the loaded configuration written back reads as itself, from anywhere.
        expect(parsePayloadConfig(stringify(toConfigFile(viaYaml)), FILE, { cwd: CWD })).toEqual(viaYaml);
      }),
      { numRuns: 300 },
    );
  });

  it("a valid file with one field mangled gives a ConfigError, never anything else", () => {
    fc.assert(
      fc.property(validFile, fc.anything({ maxDepth: 2 }), fc.nat(), (file, junk, pick) => {
        // Replace one leaf (or section) somewhere in the file with junk.
        const leaves: [Record<string, unknown>, string][] = [];
        const walk = (o: unknown) => {
          if (o && typeof o === "object" && !Array.isArray(o)) for (const [k, v] of Object.entries(o)) (leaves.push([o as Record<string, unknown>, k]), walk(v));
        };
        walk(file);
        if (leaves.length) {
          const [o, k] = leaves[pick % leaves.length]!;
          o[k] = junk;
        }
        onlyConfigErrors(() => validatePayloadConfig(file, FILE, { cwd: CWD }));
        onlyConfigErrors(() => parsePayloadConfig(stringify(file), FILE, { cwd: CWD }));
      }),
      { numRuns: 300 },
    );
  });

  it("random junk never throws anything but ConfigError", () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        onlyConfigErrors(() => validatePayloadConfig(junk, FILE));
        let text: string | undefined;
        try {
          text = stringify(junk);
        } catch {
          // Some values (e.g. with symbols) are not YAML at all.
        }
        if (text !== undefined) onlyConfigErrors(() => parsePayloadConfig(text, FILE));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => onlyConfigErrors(() => parsePayloadConfig(text, FILE))),
      { numRuns: 500 },
    );
    // Text that looks like YAML: keys, indents, flow brackets, anchors, tags, quotes.
    const token = fc.constantFrom("platform", "paths", "services", "jobs", "restart", ":", " ", "  ", "\n", "-", "[", "]", "{", "}", ",", "&a", "*a", "!!str", "!!map", '"', "'", "#", "<<", "~", "0x10", "1e9", ".inf", "?", "|", ">", "---", "...");
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (parts) => onlyConfigErrors(() => parsePayloadConfig(parts.join(""), FILE))),
      { numRuns: 1000 },
    );
  });

  it("random bytes in a file never throw anything but ConfigError", async () => {
    const dir = await mkdtemp(join(tmpdir(), "umbra-config-junk-"));
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
          const p = join(dir, "c.yaml");
          await writeFile(p, bytes);
          try {
            await loadPayloadConfig(p);
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
          }
        }),
        { numRuns: 200 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
