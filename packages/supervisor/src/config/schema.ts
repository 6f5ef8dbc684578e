// The file's schema, field by field. Every leaf writes its own message in the
// form "expected <what>, got <value>", so an error reads the same whichever
// field it is about. Cross-field rules (APIDs, backoff order, the watchdog's
// kick interval) are checked after defaults are merged, in build.ts.
import { z } from "zod";
import { PLATFORM_NAMES, SERVICE_NAMES, type PlatformName, type ServiceName } from "./types.js";
import { suggest } from "./suggest.js";

/** The highest APID a PUS service may have (2047 is the idle APID). */
export const MAX_APID = 2046;
/** Security parameter indices 0 and 65535 are reserved. */
export const MAX_SPI = 65534;
/** Model names, as the inference service's registry takes them. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,39}$/;
/** Parameter names, as services declare them. */
export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A parameter's string value, in UTF-8 bytes. */
export const MAX_PARAMETER_STRING_BYTES = 1024;
export const MAX_PATH_BYTES = 4096;
/** sun_path is 108 bytes on Linux, with the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;
/** A day, the most any timeout or interval in the file may be. */
const DAY_S = 86400;

/** A value as an error message shows it: short, and never a whole blob. */
export function show(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") {
    const s = v.length > 40 ? `${v.slice(0, 40)}...` : v;
    return JSON.stringify(s);
  }
  return String(v);
}

/** A leaf's verdict; `at` points inside the value (an index in a list). */
type Check<T> = (v: unknown) => { ok: true; value: T } | { ok: false; message: string; at?: PropertyKey[] };

function leaf<T>(check: Check<T>) {
  return z.unknown().transform((v, ctx): T => {
    const r = check(v);
    if (!r.ok) {
      ctx.addIssue({ code: "custom", message: r.message, ...(r.at ? { path: r.at } : {}) });
      return z.NEVER;
    }
    return r.value;
  });
}

interface NumberRule {
  whole?: boolean;
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  gt?: number;
  max?: number;
}

function describeNumber(rule: NumberRule): string {
  const kind = rule.whole ? "a whole number" : "a number";
  if (rule.min !== undefined && rule.max !== undefined) return `${kind} ${rule.min}..${rule.max}`;
  const parts: string[] = [];
  if (rule.min !== undefined) parts.push(`>= ${rule.min}`);
  if (rule.gt !== undefined) parts.push(`> ${rule.gt}`);
  if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
  return `${kind}${parts.length ? ` ${parts.join(" and ")}` : ""}`;
}

export const checkNumber =
  (rule: NumberRule): Check<number> =>
  (v) => {
    const ok =
      typeof v === "number" &&
      Number.isFinite(v) &&
      (!rule.whole || Number.isInteger(v)) &&
      (rule.min === undefined || v >= rule.min) &&
      (rule.gt === undefined || v > rule.gt) &&
      (rule.max === undefined || v <= rule.max);
    return ok ? { ok: true, value: v } : { ok: false, message: `expected ${describeNumber(rule)}, got ${show(v)}` };
  };

const number = (rule: NumberRule) => leaf(checkNumber(rule));
/** Seconds, more than 0 and at most a day. */
const seconds = () => number({ gt: 0, max: DAY_S });
const whole = (min: number, max: number) => number({ whole: true, min, max });
const port = (allowZero = false) => number({ whole: true, min: allowZero ? 0 : 1, max: 65535 });

const boolean = () => leaf<boolean>((v) => (typeof v === "boolean" ? { ok: true, value: v } : { ok: false, message: `expected true or false, got ${show(v)}` }));

function oneOf<T extends string>(values: readonly T[]) {
  return leaf<T>((v) => {
    if (typeof v === "string" && (values as readonly string[]).includes(v)) return { ok: true, value: v as T };
    const close = typeof v === "string" ? suggest(v, values) : undefined;
    return { ok: false, message: `expected one of ${values.join(", ")}, got ${show(v)}${close ? ` (did you mean ${close}?)` : ""}` };
  });
}

function checkText(v: unknown, what: string, maxBytes: number): { ok: true; value: string } | { ok: false; message: string } {
  if (typeof v !== "string" || v.length === 0) return { ok: false, message: `expected ${what}, got ${show(v)}` };
  if (v.includes("\0")) return { ok: false, message: "must not contain a NUL byte" };
  if (Buffer.byteLength(v) > maxBytes) return { ok: false, message: `expected ${what} of at most ${maxBytes} bytes, got ${Buffer.byteLength(v)} bytes` };
  return { ok: true, value: v };
}

/** A file or directory path; relative ones are resolved against the working directory later. */
const path = () => leaf<string>((v) => checkText(v, "a non-empty path", MAX_PATH_BYTES));

const host = () =>
  leaf<string>((v) => {
    const r = checkText(v, "a host name or address", 255);
    if (r.ok && /[\s/]/.test(r.value)) return { ok: false, message: `expected a host name or address, got ${show(v)}` };
    return r;
  });

/** "host:port" or "[v6]:port", the bus's TCP listener. */
const hostPort = () =>
  leaf<string>((v) => {
    const expected = `expected "host:port" (e.g. 127.0.0.1:7400), got ${show(v)}`;
    if (typeof v !== "string") return { ok: false, message: expected };
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(v);
    if (!m) return { ok: false, message: expected };
    const p = Number(m[2]);
    if (p < 1 || p > 65535) return { ok: false, message: `expected a port 1..65535 after the colon, got ${m[2]}` };
    return { ok: true, value: v };
  });

const serviceList = () =>
  leaf<ServiceName[]>((v) => {
    if (!Array.isArray(v)) return { ok: false, message: `expected a list of services, got ${show(v)}` };
    const out: ServiceName[] = [];
    for (const [i, s] of v.entries()) {
      if (typeof s !== "string" || !(SERVICE_NAMES as readonly string[]).includes(s)) {
        const close = typeof s === "string" ? suggest(s, SERVICE_NAMES) : undefined;
        return { ok: false, at: [i], message: `expected one of ${SERVICE_NAMES.join(", ")}, got ${show(s)}${close ? ` (did you mean ${close}?)` : ""}` };
      }
      if (out.includes(s as ServiceName)) return { ok: false, at: [i], message: `${s} is listed twice` };
      out.push(s as ServiceName);
    }
    return { ok: true, value: out };
  });

const modelList = () =>
  leaf<string[]>((v) => {
    if (!Array.isArray(v)) return { ok: false, message: `expected a list of model names, got ${show(v)}` };
    if (v.length === 0) return { ok: false, message: "expected at least one model, got an empty list" };
    if (v.length > 64) return { ok: false, message: `expected at most 64 models, got ${v.length}` };
    const out: string[] = [];
    for (const [i, m] of v.entries()) {
      if (typeof m !== "string" || !MODEL_NAME.test(m)) {
        return { ok: false, at: [i], message: `expected a model name like tiny-cls (lower-case letters, digits and . _ -, at most 40), got ${show(m)}` };
      }
      if (out.includes(m)) return { ok: false, at: [i], message: `${m} is listed twice` };
      out.push(m);
    }
    return { ok: true, value: out };
  });

const argList = () =>
  leaf<string[]>((v) => {
    if (!Array.isArray(v)) return { ok: false, message: `expected a list of command-line arguments, got ${show(v)}` };
    if (v.length > 64) return { ok: false, message: `expected at most 64 arguments, got ${v.length}` };
    const out: string[] = [];
    for (const [i, a] of v.entries()) {
      const r = checkText(a, "a non-empty string", 1024);
      if (!r.ok) return { ok: false, at: [i], message: `${r.message}` };
      out.push(r.value);
    }
    return { ok: true, value: out };
  });

type ParameterValue = boolean | number | string;

/** Initial parameter values: names like identifiers, values scalar. The service checks them against its declaration. */
const parameters = () =>
  z.unknown().transform((v, ctx): Record<string, ParameterValue> => {
    if (v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) {
      ctx.addIssue({ code: "custom", message: `expected a mapping of parameter names to values, got ${show(v)}` });
      return z.NEVER;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length > 256) {
      ctx.addIssue({ code: "custom", message: `expected at most 256 parameters, got ${entries.length}` });
      return z.NEVER;
    }
    const out: Record<string, ParameterValue> = {};
    let bad = false;
    for (const [name, value] of entries) {
      if (!PARAMETER_NAME.test(name)) {
        ctx.addIssue({ code: "custom", path: [name], message: "expected a parameter name like maxQueue (a letter or _, then letters, digits or _, at most 64)" });
        bad = true;
        continue;
      }
      const ok =
        typeof value === "boolean" ||
        (typeof value === "number" && Number.isFinite(value)) ||
        (typeof value === "string" && Buffer.byteLength(value) <= MAX_PARAMETER_STRING_BYTES);
      if (!ok) {
        const why =
          typeof value === "string"
            ? `expected a string of at most ${MAX_PARAMETER_STRING_BYTES} bytes, got ${Buffer.byteLength(value)} bytes`
            : `expected true, false, a finite number or a string, got ${show(value)}`;
        ctx.addIssue({ code: "custom", path: [name], message: why });
        bad = true;
        continue;
      }
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    }
    return bad ? z.NEVER : out;
  });

/**
 * A mapping of known fields. An empty section (`watchdog:` with everything
 * under it commented out) is YAML null and counts as empty.
 */
function section<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.preprocess(
    (v) => (v === null ? {} : v),
    z.strictObject(shape, { error: (iss) => (iss.code === "invalid_type" ? `expected a mapping of fields, got ${show(iss.input)}` : undefined) }),
  );
}

const restartPolicy = () =>
  section({
    initialBackoffS: seconds().optional(),
    factor: number({ min: 1, max: 100 }).optional(),
    maxBackoffS: seconds().optional(),
    // No upper bound: a large value means "never give up".
    maxFailures: number({ whole: true, min: 1 }).optional(),
    windowS: seconds().optional(),
  });

const serviceTimeouts = {
  heartbeatTimeoutS: seconds().optional(),
  startTimeoutS: seconds().optional(),
  stopTimeoutS: seconds().optional(),
};

const service = () =>
  section({
    enabled: boolean().optional(),
    apid: whole(0, MAX_APID).optional(),
    ...serviceTimeouts,
    restart: restartPolicy().optional(),
    parameters: parameters().optional(),
    args: argList().optional(),
  });

const services = section(Object.fromEntries(SERVICE_NAMES.map((n) => [n, service().optional()])) as Record<ServiceName, z.ZodOptional<ReturnType<typeof service>>>);

/**
 * The file, as written: sections optional, every leaf checked, nothing merged
 * yet. Its output is what build.ts turns into a PayloadConfig.
 */
export const payloadFileSchema = section({
  platform: oneOf<PlatformName>(PLATFORM_NAMES).optional(),
  paths: section({ data: path().optional(), run: path().optional(), keys: path().optional(), reports: path().optional(), models: path().optional() }).optional(),
  bus: section({ socket: path().optional(), tcp: hostPort().optional() }).optional(),
  hil: section({ scenario: path().optional(), speed: number({ gt: 0, max: 10000 }).optional() }).optional(),
  watchdog: section({ enabled: boolean().optional(), timeoutS: seconds().optional(), kickIntervalS: seconds().optional() }).optional(),
  boot: section({ stableAfterS: seconds().optional(), loopThreshold: whole(1, 100).optional() }).optional(),
  safeMode: section({
    keep: serviceList().optional(),
    minBatterySocPct: number({ min: 0, max: 100 }).optional(),
    onThermalEmergency: boolean().optional(),
  }).optional(),
  supervisor: section({ statusIntervalS: number({ gt: 0, max: 3600 }).optional() }).optional(),
  defaults: section({ ...serviceTimeouts, restart: restartPolicy().optional() }).optional(),
  services: services.optional(),
  inference: section({ models: modelList().optional() }).optional(),
  gateway: section({
    host: host().optional(),
    port: port(true).optional(),
    spi: whole(1, MAX_SPI).optional(),
    sourceId: whole(0, 65535).optional(),
    rawTcpPort: port().optional(),
    rawUdpPort: port().optional(),
  }).optional(),
});

export type PayloadFileValues = z.output<typeof payloadFileSchema>;

/** The fields a mapping at `path` may hold, for "did you mean"; undefined where the path is not a known mapping. */
export function knownFieldsAt(path: readonly PropertyKey[]): string[] | undefined {
  let node: z.core.$ZodType | undefined = payloadFileSchema;
  for (let i = 0; ; i++) {
    node = unwrapToObject(node);
    if (!node) return undefined;
    const shape = (node as z.ZodObject).shape as Record<string, z.core.$ZodType>;
    if (i === path.length) return Object.keys(shape);
    const key = path[i];
    if (typeof key !== "string" || !Object.hasOwn(shape, key)) return undefined;
    node = shape[key];
  }
}

function unwrapToObject(node: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  for (let guard = 0; node && guard < 10; guard++) {
    const def = node._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; out?: z.core.$ZodType };
    if (def.type === "object") return node;
    if (def.innerType) node = def.innerType;
    else if (def.type === "pipe") node = def.out && (def.out._zod.def as { type: string }).type !== "transform" ? def.out : def.in;
    else return undefined;
  }
  return undefined;
}
