// Pure parsing and range checks for everything a port reads: sysfs text on a
// board, numbers in a HardwareState on a bench. Nothing here does I/O and
// nothing here throws: every function returns a Parsed value, so a reader can
// turn a failure into a PlatformError naming its own port and file.
//
// The ranges are deliberately wide (they reject what is physically absurd,
// not what is merely alarming): limits belong to the services that monitor.

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T = never>(reason: string): Parsed<T> => ({ ok: false, reason });

/** A closed interval of acceptable values, with the unit used in messages. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly unit: string;
  readonly what: string;
}

/** Temperature a thermal zone may sanely report, °C. */
export const CELSIUS_RANGE: Range = { min: -100, max: 250, unit: "°C", what: "temperature" };
/** CPU frequency, kHz (1 kHz .. 100 GHz). */
export const KHZ_RANGE: Range = { min: 1, max: 100_000_000, unit: "kHz", what: "frequency" };
/** Bus voltage, V (a bus voltage cannot be negative). */
export const VOLTAGE_RANGE: Range = { min: 0, max: 1000, unit: "V", what: "bus voltage" };
/** Bus current, A (negative = flowing back into the bus). */
export const CURRENT_RANGE: Range = { min: -1000, max: 1000, unit: "A", what: "bus current" };
/** Input power, W. */
export const POWER_RANGE: Range = { min: 0, max: 100_000, unit: "W", what: "input power" };
/** Battery state of charge, %. */
export const SOC_RANGE: Range = { min: 0, max: 100, unit: "%", what: "battery state of charge" };
/** Watchdog timeout, s. */
export const WATCHDOG_TIMEOUT_RANGE: Range = { min: 1, max: 86_400, unit: "s", what: "watchdog timeout" };
/** Highest CPU number accepted in a CPU list. */
export const MAX_CPU = 4095;
/** Most entries accepted in a frequency or CPU list. */
export const MAX_LIST_ENTRIES = 4096;
export const UINT64_MAX = 2n ** 64n - 1n;

const MAX_SHOWN = 40;

/** A short, printable rendering of untrusted text for error messages. */
export function quote(text: string): string {
  const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  return JSON.stringify(shown);
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1e6) / 1e6);
}

/** Checks a number (from sysfs after scaling, or from the HIL) against a range. Rejects NaN and ±Infinity. */
export function checkRange(value: number, range: Range): Parsed<number> {
  if (typeof value !== "number" || Number.isNaN(value)) return fail(`${range.what} is not a number (${String(value)})`);
  if (!Number.isFinite(value)) return fail(`${range.what} is not finite (${String(value)})`);
  if (value < range.min || value > range.max) {
    return fail(`${range.what} ${formatNumber(value)} ${range.unit} is outside ${range.min}..${range.max} ${range.unit}`);
  }
  return ok(value);
}

/** Strips the trailing newline (and surrounding blanks) a sysfs attribute ends with. */
function content(text: string): Parsed<string> {
  const trimmed = text.trim();
  if (trimmed === "") return fail(text === "" ? "file is empty" : "file is blank");
  return ok(trimmed);
}

const INTEGER = /^[+-]?[0-9]+$/;
const UNSIGNED = /^[0-9]+$/;

/** One decimal integer token, exactly as bigint (no silent rounding of huge values). */
export function parseIntegerToken(token: string): Parsed<bigint> {
  if (token.length > 64) return fail(`not an integer: ${quote(token)} is too long`);
  if (!INTEGER.test(token)) return fail(`not an integer: ${quote(token)}`);
  return ok(BigInt(token));
}

/**
 * A whole-file decimal integer, scaled by `divisor` into the unit of `range`
 * and range-checked there. E.g. millidegrees with divisor 1000 into °C.
 */
export function parseScaledInteger(text: string, divisor: number, range: Range): Parsed<number> {
  const c = content(text);
  if (!c.ok) return c;
  const n = parseIntegerToken(c.value);
  if (!n.ok) return n;
  // Compare as bigint first so a 40-digit number is "out of range", not Infinity.
  const minRaw = BigInt(Math.ceil(range.min * divisor));
  const maxRaw = BigInt(Math.floor(range.max * divisor));
  if (n.value < minRaw || n.value > maxRaw) {
    const safe = n.value >= BigInt(Number.MIN_SAFE_INTEGER) && n.value <= BigInt(Number.MAX_SAFE_INTEGER);
    const shown = safe ? formatNumber(Number(n.value) / divisor) : `${c.value.slice(0, 20)}… (raw)`;
    return fail(`${range.what} ${shown} ${range.unit} is outside ${range.min}..${range.max} ${range.unit}`);
  }
  return checkRange(Number(n.value) / divisor, range);
}

/** thermal_zone*\/temp: millidegrees Celsius → °C. */
export const parseMilliCelsius = (text: string): Parsed<number> => parseScaledInteger(text, 1000, CELSIUS_RANGE);
/** cpufreq *_freq: kHz. */
export const parseKHz = (text: string): Parsed<number> => parseScaledInteger(text, 1, KHZ_RANGE);
/** hwmon inN_input: mV → V. */
export const parseMillivolts = (text: string): Parsed<number> => parseScaledInteger(text, 1000, VOLTAGE_RANGE);
/** hwmon currN_input: mA → A. */
export const parseMilliamps = (text: string): Parsed<number> => parseScaledInteger(text, 1000, CURRENT_RANGE);
/** hwmon powerN_input: µW → W. */
export const parseMicrowatts = (text: string): Parsed<number> => parseScaledInteger(text, 1_000_000, POWER_RANGE);
/** power_supply capacity: %. */
export const parsePercent = (text: string): Parsed<number> => parseScaledInteger(text, 1, SOC_RANGE);
/** watchdog timeout: s. */
export const parseWatchdogTimeout = (text: string): Parsed<number> => parseScaledInteger(text, 1, WATCHDOG_TIMEOUT_RANGE);

/** An EDAC counter (ce_count, ue_count): unsigned, up to 2^64-1, kept exact. */
export function parseCounter(text: string): Parsed<bigint> {
  const c = content(text);
  if (!c.ok) return c;
  if (c.value.length > 64 || !UNSIGNED.test(c.value)) return fail(`not an unsigned integer: ${quote(c.value)}`);
  const n = BigInt(c.value);
  if (n > UINT64_MAX) return fail(`counter ${c.value.length > 24 ? `${c.value.slice(0, 24)}…` : c.value} exceeds 2^64-1`);
  return ok(n);
}

/** A 0/1 flag (watchdog nowayout). */
export function parseFlag(text: string): Parsed<boolean> {
  const c = content(text);
  if (!c.ok) return c;
  if (c.value === "0") return ok(false);
  if (c.value === "1") return ok(true);
  return fail(`not 0 or 1: ${quote(c.value)}`);
}

/** scaling_available_frequencies: kHz separated by blanks, any order → ascending, unique. */
export function parseKHzList(text: string): Parsed<number[]> {
  const c = content(text);
  if (!c.ok) return c;
  const tokens = c.value.split(/\s+/);
  if (tokens.length > MAX_LIST_ENTRIES) return fail(`more than ${MAX_LIST_ENTRIES} frequencies`);
  const values = new Set<number>();
  for (const token of tokens) {
    const v = parseScaledInteger(token, 1, KHZ_RANGE);
    if (!v.ok) return fail(`${quote(token)}: ${v.reason}`);
    values.add(v.value);
  }
  return ok([...values].sort((a, b) => a - b));
}

/**
 * affected_cpus / related_cpus: CPU numbers separated by blanks (what the
 * kernel writes), also accepting the cpulist form "0-3,6" → ascending, unique.
 */
export function parseCpuList(text: string): Parsed<number[]> {
  const c = content(text);
  if (!c.ok) return c;
  const cpus = new Set<number>();
  for (const token of c.value.split(/[\s,]+/)) {
    const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(token);
    if (!m) return fail(`not a CPU number or range: ${quote(token)}`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (first > MAX_CPU || last > MAX_CPU) return fail(`CPU ${quote(token)} is beyond ${MAX_CPU}`);
    if (last < first) return fail(`CPU range ${quote(token)} is backwards`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
    if (cpus.size > MAX_LIST_ENTRIES) return fail(`more than ${MAX_LIST_ENTRIES} CPUs`);
  }
  return ok([...cpus].sort((a, b) => a - b));
}

const PRINTABLE_NAME = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** A name attribute (thermal type, hwmon name, power_supply type): printable ASCII, at most 128 characters. */
export function parseName(text: string): Parsed<string> {
  const c = content(text);
  if (!c.ok) return c;
  if (c.value.length > 128) return fail(`name is longer than 128 characters: ${quote(c.value)}`);
  if (!PRINTABLE_NAME.test(c.value)) return fail(`name has characters that are not printable ASCII: ${quote(c.value)}`);
  return ok(c.value);
}

/** Object names that are safe to put into a path: "thermal_zone3", "policy0", "mc1". */
export function checkIndexedName(name: unknown, prefix: string): Parsed<string> {
  if (typeof name !== "string") return fail(`name must be a string, got ${typeof name}`);
  if (name.length > 64 || !new RegExp(`^${prefix}[0-9]+$`).test(name)) return fail(`${quote(name)} is not a ${prefix}N name`);
  return ok(name);
}

/** Sorts names like policy10 after policy2. */
export function byIndex(a: string, b: string): number {
  const na = Number(/[0-9]+$/.exec(a)?.[0] ?? Number.NaN);
  const nb = Number(/[0-9]+$/.exec(b)?.[0] ?? Number.NaN);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A requested frequency: a whole number of kHz in KHZ_RANGE. */
export function checkKHz(value: unknown): Parsed<number> {
  if (typeof value !== "number" || !Number.isInteger(value)) return fail(`frequency must be a whole number of kHz, got ${String(value)}`);
  return checkRange(value, KHZ_RANGE);
}

/** A requested watchdog timeout: a whole number of seconds in WATCHDOG_TIMEOUT_RANGE. */
export function checkTimeoutS(value: unknown): Parsed<number> {
  if (typeof value !== "number" || !Number.isInteger(value)) return fail(`watchdog timeout must be a whole number of seconds, got ${String(value)}`);
  return checkRange(value, WATCHDOG_TIMEOUT_RANGE);
}

/** A list the HIL says is ascending: every entry a valid kHz, strictly ascending. */
export function checkAscendingKHz(values: readonly number[]): Parsed<number[]> {
  if (values.length > MAX_LIST_ENTRIES) return fail(`more than ${MAX_LIST_ENTRIES} frequencies`);
  for (let i = 0; i < values.length; i++) {
    const v = checkKHz(values[i]);
    if (!v.ok) return fail(`available frequency #${i}: ${v.reason}`);
    if (i > 0 && values[i]! <= values[i - 1]!) return fail(`available frequencies are not strictly ascending at #${i} (${values[i - 1]} then ${values[i]})`);
  }
  return ok([...values]);
}
