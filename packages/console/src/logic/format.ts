// How values read on screen: numbers to a sensible precision, with their
// unit, booleans as words, long text cut.

/** Strips zeros after a decimal point: "1.50" -> "1.5", "2.00" -> "2"; integers stay as they are. */
function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** 1800000 -> "1 800 000" (a thin space between thousands: no decimal-mark ambiguity). */
function group(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
}

/** A number to about three significant digits after the point ("0.0123", "12.3", "1234"), without exponents for everyday sizes. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return Math.abs(v) >= 10_000 && Math.abs(v) < 1e21 ? group(v) : String(v);
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-6) return v.toExponential(3);
  if (a >= 10) return trimZeros(v.toFixed(1));
  if (a >= 1) return trimZeros(v.toFixed(2));
  return trimZeros(v.toFixed(Math.min(12, 2 - Math.floor(Math.log10(a)))));
}

export const MAX_SHOWN_TEXT = 200;

/** A telemetry value as text, with its unit when it has one. */
export function formatValue(value: unknown, unit = ""): string {
  let text: string;
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") text = formatNumber(value);
  else if (typeof value === "boolean") text = value ? "true" : "false";
  else if (typeof value === "string") text = value.length > MAX_SHOWN_TEXT ? `${value.slice(0, MAX_SHOWN_TEXT)}…` : value;
  else text = JSON.stringify(value)?.slice(0, MAX_SHOWN_TEXT) ?? "-";
  if (!unit || typeof value === "boolean" || typeof value === "string") return text;
  return unit === "%" ? `${text} %` : `${text} ${unit}`;
}

/** Bytes as "512 B", "1.5 KiB", "3.2 MiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "-";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${trimZeros(v.toFixed(1))} ${units[i]}`;
}

/** A parameter's key in the stream and in the picker: "thermal.dieC". */
export function parameterKey(service: string, name: string): string {
  return `${service}.${name}`;
}

/** "thermal.dieC" -> ["thermal", "dieC"]; undefined for anything else. */
export function splitParameterKey(key: string): [string, string] | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.:-]{0,63})\.([A-Za-z][A-Za-z0-9_]{0,63})$/.exec(key);
  return m ? [m[1]!, m[2]!] : undefined;
}
