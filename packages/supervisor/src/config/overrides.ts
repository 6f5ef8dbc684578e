// Command-line flags over the file: a deep merge of two values in the file's
// layout, validated afterwards exactly as the file is. Pure.
import { SERVICE_NAMES, type PayloadConfig, type PayloadConfigOverrides } from "./types.js";

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so a "__proto__" key stays a key (and is then refused as unknown) instead of replacing the prototype.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `overrides` merged over `base` (both in the file's layout): mappings merge
 * key by key, anything else (a value, a list) replaces; an `undefined`
 * override is skipped. Neither argument is changed.
 */
export function mergeConfigOverrides(base: unknown, overrides: PayloadConfigOverrides | undefined): unknown {
  if (overrides === undefined) return base;
  return mergeValue(base === null || base === undefined ? {} : base, overrides);
}

function mergeValue(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isMapping(over) || !isMapping(base)) return isMapping(over) ? mergeValue({}, over) : over;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    setOwn(out, k, Object.hasOwn(base, k) ? mergeValue(base[k], v) : isMapping(v) ? mergeValue({}, v) : v);
  }
  return out;
}

/** The dotted fields an override sets ("hil.speed", "services.jobs.enabled"), so errors about them can name the command line. */
export function overriddenFields(overrides: PayloadConfigOverrides | undefined): string[] {
  const out: string[] = [];
  const walk = (v: unknown, prefix: string) => {
    if (v === undefined) return;
    if (isMapping(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
    } else out.push(prefix);
  };
  walk(overrides, "");
  return out;
}

/**
 * A loaded configuration written back in the file's layout, every field
 * explicit (services carry their own timeouts and restart policy, so there is
 * no `defaults` section). Paths stay absolute. Parsing it again, from any
 * directory, gives the same configuration.
 */
export function toConfigFile(config: PayloadConfig): PayloadConfigOverrides {
  const services = {} as Record<string, unknown>;
  for (const name of SERVICE_NAMES) {
    const { name: _, ...rest } = config.services[name];
    services[name] = { ...rest, restart: { ...rest.restart }, parameters: { ...rest.parameters }, args: [...rest.args] };
  }
  return structuredClone({
    platform: config.platform,
    paths: config.paths,
    bus: config.bus,
    hil: config.hil,
    watchdog: config.watchdog,
    boot: config.boot,
    safeMode: config.safeMode,
    supervisor: config.supervisor,
    services,
    inference: config.inference,
    gateway: config.gateway,
  }) as PayloadConfigOverrides;
}

/**
 * Moves a `defaults` override onto every service, under any override the
 * service itself is given; used where the base has every service's values
 * explicit (a loaded configuration), so that `defaults` still reaches them.
 */
export function spreadDefaultsOverride(overrides: PayloadConfigOverrides): PayloadConfigOverrides {
  const { defaults, ...rest } = overrides;
  if (defaults === undefined || !isMapping(defaults)) return overrides;
  const services: Record<string, unknown> = {};
  for (const name of SERVICE_NAMES) {
    services[name] = mergeValue(defaults, rest.services?.[name] ?? {});
  }
  return { ...rest, services: services as PayloadConfigOverrides["services"] };
}
