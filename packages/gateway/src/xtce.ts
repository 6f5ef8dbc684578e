// XTCE export of the mission dictionary (issue #9), so Yamcs or OpenC3
// COSMOS can import what the services declared: XTCE 1.2 (OMG, namespace
// http://www.omg.org/spec/XTCE/20180204), built only from the
// ServiceDeclarations (DESIGN.md "Service contract": nothing is written twice).
//
// What maps to what:
//
//   root SpaceSystem (options.name, default "Umbra")
//     Header (validationStatus "Working", a note on the conventions below)
//     SpaceSystem per service: name, shortDescription, Header (APID in a
//       note), AliasSet (the service name as declared, the APID)
//       TelemetryMetaData
//         ParameterTypeSet: one type per telemetry parameter:
//           bool -> BooleanParameterType, int -> IntegerParameterType (64-bit
//           signed, as Value.int_value), float -> FloatParameterType
//           (64-bit), string (or an unknown type) -> StringParameterType;
//           unit -> UnitSet; warning / critical Limits -> DefaultAlarm
//           StaticAlarmRanges WarningRange / CriticalRange (the range is the
//           in-limits band [low, high], as the TTC's ST[12] checks it:
//           out of limits is below low or above high); for booleans the
//           limits become AlarmConditions comparing with True / False.
//           The events -> one EnumeratedParameterType (see "Events" below).
//         ParameterSet: one Parameter per telemetry parameter (dataSource
//           "telemetered"), and the "event" parameter.
//       CommandMetaData
//         ArgumentTypeSet: built from each command's argument message by
//           protobuf reflection (see "Arguments" below).
//         MetaCommandSet: a MetaCommand per command: ArgumentList,
//           CommandContainer (the PUS ST[8,1] packet, below), and
//           DefaultSignificance consequenceLevel="critical" when the command
//           is critical (it must be armed first, docs/icd.md section 13).
//
// Arguments. Each top-level field of the argument message is an Argument.
// Field types: (s)int32/(s)fixed32/int32 -> IntegerArgumentType 32 bits,
// signed as the protobuf type is; 64-bit types -> 64 bits; uint*/fixed* ->
// signed="false"; float/double -> FloatArgumentType 32/64; bool ->
// BooleanArgumentType; string -> StringArgumentType; bytes ->
// BinaryArgumentType; enum -> EnumeratedArgumentType (label = value name,
// value = number); message -> AggregateArgumentType (a message already on
// the path, i.e. a recursive one, or one with no fields, -> BinaryArgumentType
// carrying its protobuf encoding); repeated and map fields at the top level
// or inside messages -> ArrayArgumentType (map entries as an aggregate of key
// and value) whose length is a generated count argument "<path>-count"
// (the way Yamcs sizes variable arrays); a repeated field inside an array's
// elements -> BinaryArgumentType (protobuf-encoded). The declared
// ArgumentRules (top-level fields only, as the TTC applies them) become
// ValidRangeSet (min/max; non_zero splits the range around 0) and, for
// string fields with allowed values, restrictionPattern (a regular
// expression matching exactly those values). Argument types carry no data
// encoding: the fields never appear one by one on the wire.
//
// The packet. The argument travels protobuf-encoded (docs/icd.md 12.2): the
// CommandContainer lists the ST[8,1] packet as sent (docs/icd.md 10.1, 10.2):
// primary header (version, type TC, secondary header flag, APID, sequence
// flags, sequence count, data length), security header (SPI, security
// sequence number), PUS-C TC secondary header (PUS version 2, acknowledgement
// flags, service 8, subtype 1, source ID), the function name (length octet
// and ASCII), the argument as the BinaryArgument "protobuf-argument", the MAC
// and the CRC. Fields the ground fills per packet (sequence count, length,
// SPI, security sequence, source ID, MAC, CRC) are FixedValueEntries of
// zeros with a shortDescription saying who fills them: a ground system needs
// a post-processor for the length, counts, CRC-16 and the HMAC (this file
// cannot express a keyed MAC; the keys never leave the ground's key store).
// "protobuf-argument" is a BinaryArgumentType whose ToBinaryTransformAlgorithm
// names the encoding (ExternalAlgorithm implementationName="protobuf",
// algorithmLocation = the message's full name) with the field arguments as its
// inputs; its SizeInBits is -1, "found by the algorithm" (the Yamcs
// convention). Its initialValue is empty: the encoding of a message with no
// fields set.
//
// Events. XTCE has no event element. Each service's events become one
// EnumeratedParameterType "event" (label = event name, value = event id, as
// in the PUS ST[5] reports) with an EnumerationAlarm per severity (low ->
// watch, medium -> warning, high -> critical; info is normal). Yamcs imports
// enumerated parameters with enumeration alarms and shows the labels and the
// alarm levels when the event id is decoded; an AncillaryDataSet would be
// kept as opaque text that drives nothing in Yamcs or COSMOS.
//
// Names. XTCE NameType is any string without '.', '/', ':', '[', ']' or a
// space (and, being a normalizedString, without tab, CR or LF). Every name
// goes through xtceName(): those characters, '~' itself, and characters XML
// cannot carry are written as "~XX" (code points below 0x100), "~uXXXX" or
// "~UXXXXXX" (hex, upper case), and the empty string becomes "~"; everything
// else is kept. The mapping is deterministic and injective. Names the
// exporter composes (types, containers) join mapped parts with "_" and end in
// "_type", "_packet" and so on; if two names would still collide in one
// XTCE scope, the later gets "~2", "~3", ... in declaration order. Where a
// service's name changed in the mapping, the AliasSet keeps the original.
//
// Text. Descriptions are escaped (& < > " and, in attributes, tab, CR, LF as
// character references); characters XML 1.0 cannot hold at all (most C0
// controls, U+FFFE, U+FFFF, lone surrogates) become U+FFFD. A description
// longer than 80 characters goes whole into LongDescription and cut into
// shortDescription.
//
// Not exported: the services' ParameterDeclarations (ST[20]); telemetry
// containers (housekeeping (3,25) layouts are defined at run time by (3,1),
// docs/icd.md 12.6); the TTC's other TCs (ST[3], [5], [11], [12], [17], [19],
// [20]).
//
// Validation: test/xtce.test.ts validates every export against
// schema/xtce-1.2-subset.xsd (see its header for what it is).
import { umbra, type MessageOf } from "@umbra/proto";
import { umbraProtoTypes } from "./dictionary/descriptor.js";
import { ProtoTypes, type DescriptorNode } from "./dictionary/proto-types.js";

export const XTCE_NAMESPACE = "http://www.omg.org/spec/XTCE/20180204";

type Declaration = MessageOf<typeof umbra.core.v1.ServiceDeclaration>;
type CommandDeclaration = MessageOf<typeof umbra.core.v1.CommandDeclaration>;
type TelemetryDeclaration = MessageOf<typeof umbra.core.v1.TelemetryDeclaration>;
type ArgumentRule = MessageOf<typeof umbra.core.v1.ArgumentRule>;

// ---- reflection ----------------------------------------------------------------------

/**
 * The part of a protobufjs reflection Root the exporter uses: a protobufjs
 * `Root` (with its types resolved, or resolvable) satisfies it structurally,
 * so a caller may pass one without this package depending on protobufjs.
 * `lookup` answers a Type (it has `fieldsArray`) or an Enum (it has `values`)
 * for a full name, or null.
 */
export interface ReflectionRoot {
  lookup(path: string): unknown;
}

interface PbField {
  name: string;
  type: string;
  id: number;
  repeated?: boolean;
  map?: boolean;
  keyType?: string;
  resolvedType?: unknown;
  resolve?: () => unknown;
}

interface PbType {
  fullName: string;
  name: string;
  fieldsArray: PbField[];
}

interface PbEnum {
  fullName: string;
  name: string;
  values: Record<string, number>;
}

function isPbType(x: unknown): x is PbType {
  return typeof x === "object" && x !== null && Array.isArray((x as PbType).fieldsArray) && typeof (x as PbType).fullName === "string";
}

function isPbEnum(x: unknown): x is PbEnum {
  return typeof x === "object" && x !== null && !Array.isArray((x as PbEnum).values) && typeof (x as PbEnum).values === "object" && (x as PbEnum).values !== null && typeof (x as PbEnum).fullName === "string";
}

/**
 * A reflection root over the message schemas (`ProtoTypes`, the resolver the
 * dictionary's JSON Schemas use), in the protobufjs shape the exporter reads.
 * Enough for the exporter; no encoding or decoding.
 */
export class DescriptorReflection implements ReflectionRoot {
  private readonly types: ProtoTypes;
  private readonly built = new Map<string, PbType | PbEnum>();

  /** From a protobufjs JSON descriptor (what `pbjs --target json` writes), or from schemas already resolved. */
  constructor(source: DescriptorNode | ProtoTypes) {
    this.types = source instanceof ProtoTypes ? source : new ProtoTypes(source);
  }

  lookup(path: string): PbType | PbEnum | null {
    const full = path.startsWith(".") ? path.slice(1) : path;
    const cached = this.built.get(full);
    if (cached) return cached;
    const short = full.slice(full.lastIndexOf(".") + 1);
    const message = this.types.message(full);
    if (message) {
      const type: PbType = { fullName: `.${full}`, name: short, fieldsArray: [] };
      this.built.set(full, type);
      for (const f of message.fields.values()) {
        const resolvedType = f.kind === "scalar" ? null : this.lookup(f.type);
        type.fieldsArray.push({ name: f.name, type: f.declaredType, id: f.id, repeated: f.repeated, map: f.keyType !== undefined, ...(f.keyType === undefined ? {} : { keyType: f.keyType }), resolvedType });
      }
      return type;
    }
    const e = this.types.enum(full);
    if (!e) return null;
    const found: PbEnum = { fullName: `.${full}`, name: short, values: Object.fromEntries(e.values) };
    this.built.set(full, found);
    return found;
  }
}

let defaultRoot: ReflectionRoot | undefined;

/** The reflection of every message @umbra/proto was generated from. */
export function umbraReflection(): ReflectionRoot {
  defaultRoot ??= new DescriptorReflection(umbraProtoTypes());
  return defaultRoot;
}


interface IntInfo {
  bits: 32 | 64;
  signed: boolean;
  min: bigint;
  max: bigint;
}

const INT_TYPES: Record<string, IntInfo> = {
  int32: { bits: 32, signed: true, min: -(2n ** 31n), max: 2n ** 31n - 1n },
  sint32: { bits: 32, signed: true, min: -(2n ** 31n), max: 2n ** 31n - 1n },
  sfixed32: { bits: 32, signed: true, min: -(2n ** 31n), max: 2n ** 31n - 1n },
  uint32: { bits: 32, signed: false, min: 0n, max: 2n ** 32n - 1n },
  fixed32: { bits: 32, signed: false, min: 0n, max: 2n ** 32n - 1n },
  int64: { bits: 64, signed: true, min: -(2n ** 63n), max: 2n ** 63n - 1n },
  sint64: { bits: 64, signed: true, min: -(2n ** 63n), max: 2n ** 63n - 1n },
  sfixed64: { bits: 64, signed: true, min: -(2n ** 63n), max: 2n ** 63n - 1n },
  uint64: { bits: 64, signed: false, min: 0n, max: 2n ** 64n - 1n },
  fixed64: { bits: 64, signed: false, min: 0n, max: 2n ** 64n - 1n },
};

/** xs:long, the type of XTCE's integer range bounds. */
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

// ---- names and text --------------------------------------------------------------------

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const NAME_FORBIDDEN = new Set([".", "/", ":", "[", "]", " ", "\t", "\n", "\r", "~"]);

function hexEscape(cp: number): string {
  if (cp < 0x100) return `~${cp.toString(16).toUpperCase().padStart(2, "0")}`;
  if (cp < 0x10000) return `~u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return `~U${cp.toString(16).toUpperCase().padStart(6, "0")}`;
}

/**
 * Maps any string to a valid XTCE NameType, deterministically and
 * injectively: '.', '/', ':', '[', ']', space, tab, CR, LF, '~' and
 * characters XML cannot hold become "~XX" / "~uXXXX" / "~UXXXXXX" (hex code
 * point); "" becomes "~". Everything else (letters of any script included)
 * is kept. Lone surrogates are escaped by their code unit.
 */
export function xtceName(raw: string): string {
  if (raw.length === 0) return "~";
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const cp = raw.codePointAt(i)!;
    if (cp > 0xffff) i++;
    const ch = String.fromCodePoint(cp);
    out += NAME_FORBIDDEN.has(ch) || !isXmlChar(cp) ? hexEscape(cp) : ch;
  }
  return out;
}

/** Replaces what XML 1.0 cannot carry (most C0 controls, U+FFFE/U+FFFF, lone surrogates) with U+FFFD. */
function xmlSafe(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    out += isXmlChar(cp) ? String.fromCodePoint(cp) : "\uFFFD";
  }
  return out;
}

function escapeText(text: string): string {
  return xmlSafe(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttr(text: string): string {
  return escapeText(text).replace(/"/g, "&quot;").replace(/\t/g, "&#9;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;");
}

/** Unique names within one XTCE scope: a name already taken gets "~2", "~3", ... */
class NameTable {
  private readonly taken = new Set<string>();

  claim(name: string): string {
    let candidate = name;
    for (let n = 2; this.taken.has(candidate); n++) candidate = `${name}~${n}`;
    this.taken.add(candidate);
    return candidate;
  }
}

const SHORT_DESCRIPTION_MAX = 80;

/** At most `max` code points, with "…" when cut. */
function cut(text: string, max: number): string {
  const cps = Array.from(text);
  return cps.length <= max ? text : `${cps.slice(0, max - 1).join("")}…`;
}

/** xs:double text for a finite number; undefined for NaN and ±Infinity (no bound). */
function xsDouble(n: number): string | undefined {
  return Number.isFinite(n) ? String(n) : undefined;
}

function hexOctets(value: number | bigint, octets: number): string {
  return BigInt(value).toString(16).toUpperCase().padStart(octets * 2, "0");
}

// ---- XML writer ------------------------------------------------------------------------

type Attrs = Record<string, string | number | boolean | undefined>;

class Xml {
  private readonly lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  private depth = 0;

  private tag(name: string, attrs: Attrs): string {
    let s = `<${name}`;
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) s += ` ${k}="${escapeAttr(String(v))}"`;
    return s;
  }

  open(name: string, attrs: Attrs = {}): this {
    this.lines.push(`${"  ".repeat(this.depth)}${this.tag(name, attrs)}>`);
    this.depth++;
    return this;
  }

  close(name: string): this {
    this.depth--;
    this.lines.push(`${"  ".repeat(this.depth)}</${name}>`);
    return this;
  }

  empty(name: string, attrs: Attrs = {}): this {
    this.lines.push(`${"  ".repeat(this.depth)}${this.tag(name, attrs)}/>`);
    return this;
  }

  /** How many lines are written so far (to tell whether a body wrote anything). */
  mark(): number {
    return this.lines.length;
  }

  /** Turns the element just opened, with nothing inside, into a self-closing one. */
  collapse(name: string, attrs: Attrs): this {
    this.lines.pop();
    this.depth--;
    return this.empty(name, attrs);
  }

  text(name: string, text: string, attrs: Attrs = {}): this {
    this.lines.push(`${"  ".repeat(this.depth)}${this.tag(name, attrs)}>${escapeText(text)}</${name}>`);
    return this;
  }

  toString(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

/** name, shortDescription and the description elements (LongDescription, AliasSet) every NameDescriptionType starts with. */
interface Described {
  name: string;
  description?: string;
  aliases?: { nameSpace: string; alias: string }[];
}

function describedAttrs(d: Described): Attrs {
  const text = d.description?.trim() ?? "";
  return { name: d.name, shortDescription: text ? cut(text, SHORT_DESCRIPTION_MAX) : undefined };
}

function describedChildren(x: Xml, d: Described): void {
  const text = d.description?.trim() ?? "";
  if (Array.from(text).length > SHORT_DESCRIPTION_MAX) x.text("LongDescription", text);
  if (d.aliases?.length) {
    x.open("AliasSet");
    for (const a of d.aliases) x.empty("Alias", { nameSpace: a.nameSpace, alias: a.alias });
    x.close("AliasSet");
  }
}

/** Writes an element of a NameDescriptionType: its description children, then `body`; self-closing when nothing went inside. */
function described(x: Xml, element: string, d: Described, attrs: Attrs, body?: () => void): void {
  const all = { ...describedAttrs(d), ...attrs };
  const mark = x.open(element, all).mark();
  describedChildren(x, d);
  body?.();
  if (x.mark() === mark) x.collapse(element, all);
  else x.close(element);
}

// ---- telemetry -------------------------------------------------------------------------

const ValueType = umbra.core.v1.ValueType;
const Severity = umbra.core.v1.Severity;

interface Limits {
  low?: number;
  high?: number;
}

function limitsOf(l: MessageOf<typeof umbra.core.v1.Limits> | null | undefined): Limits | undefined {
  if (!l) return undefined;
  const out: Limits = {};
  if (l.hasLow && Number.isFinite(l.low)) out.low = l.low;
  if (l.hasHigh && Number.isFinite(l.high)) out.high = l.high;
  return out.low === undefined && out.high === undefined ? undefined : out;
}

function rangeElement(x: Xml, element: string, l: Limits): void {
  x.empty(element, { minInclusive: l.low === undefined ? undefined : xsDouble(l.low), maxInclusive: l.high === undefined ? undefined : xsDouble(l.high) });
}

/** The boolean values (as XTCE's "True"/"False") that are out of these limits: v < low or v > high, with v in {0, 1}. */
function boolOutOfLimits(l: Limits): string[] {
  const out: string[] = [];
  for (const [v, label] of [
    [0, "False"],
    [1, "True"],
  ] as const) {
    if ((l.low !== undefined && v < l.low) || (l.high !== undefined && v > l.high)) out.push(label);
  }
  return out;
}

function writeParameterType(x: Xml, t: TelemetryDeclaration, typeName: string, paramName: string): void {
  const d: Described = { name: typeName, description: `type of ${t.name}` };
  const warning = limitsOf(t.warning);
  const critical = limitsOf(t.critical);
  const unitSet = (): void => {
    if (t.unit) {
      x.open("UnitSet");
      x.text("Unit", t.unit);
      x.close("UnitSet");
    }
  };
  const numericAlarm = (): void => {
    if (!warning && !critical) return;
    x.open("DefaultAlarm");
    x.open("StaticAlarmRanges");
    if (warning) rangeElement(x, "WarningRange", warning);
    if (critical) rangeElement(x, "CriticalRange", critical);
    x.close("StaticAlarmRanges");
    x.close("DefaultAlarm");
  };
  switch (t.type) {
    case ValueType.VALUE_TYPE_INT:
      described(x, "IntegerParameterType", d, { sizeInBits: 64, signed: "true" }, () => {
        unitSet();
        numericAlarm();
      });
      return;
    case ValueType.VALUE_TYPE_FLOAT:
      described(x, "FloatParameterType", d, { sizeInBits: 64 }, () => {
        unitSet();
        numericAlarm();
      });
      return;
    case ValueType.VALUE_TYPE_BOOL: {
      const levels = [
        ["WarningAlarm", warning ? boolOutOfLimits(warning) : []],
        ["CriticalAlarm", critical ? boolOutOfLimits(critical) : []],
      ] as const;
      // One comparison per level; a level out of limits for both values (always in alarm) cannot be one comparison and is left out.
      const usable = levels.filter(([, values]) => values.length === 1);
      described(x, "BooleanParameterType", d, {}, () => {
        unitSet();
        if (usable.length) {
          x.open("DefaultAlarm");
          x.open("AlarmConditions");
          for (const [element, values] of usable) {
            x.open(element);
            x.empty("Comparison", { parameterRef: paramName, comparisonOperator: "==", value: values[0] });
            x.close(element);
          }
          x.close("AlarmConditions");
          x.close("DefaultAlarm");
        }
      });
      return;
    }
    default:
      described(x, "StringParameterType", d, {}, () => unitSet());
  }
}

const EVENT_ALARM_LEVEL: Partial<Record<number, string>> = {
  [Severity.SEVERITY_LOW]: "watch",
  [Severity.SEVERITY_MEDIUM]: "warning",
  [Severity.SEVERITY_HIGH]: "critical",
};

const SEVERITY_NAME: Record<number, string> = {
  [Severity.SEVERITY_INFO]: "info",
  [Severity.SEVERITY_LOW]: "low",
  [Severity.SEVERITY_MEDIUM]: "medium",
  [Severity.SEVERITY_HIGH]: "high",
};

// ---- commands --------------------------------------------------------------------------

interface MergedRule {
  min?: number;
  max?: number;
  nonZero: boolean;
  allowed?: string[];
}

function mergeRules(rules: readonly ArgumentRule[]): Map<string, MergedRule> {
  const out = new Map<string, MergedRule>();
  for (const r of rules) {
    const m = out.get(r.field) ?? { nonZero: false };
    if (r.hasMin && !Number.isNaN(r.min)) m.min = m.min === undefined ? r.min : Math.max(m.min, r.min);
    if (r.hasMax && !Number.isNaN(r.max)) m.max = m.max === undefined ? r.max : Math.min(m.max, r.max);
    if (r.nonZero) m.nonZero = true;
    if (r.allowed.length) m.allowed = m.allowed ? m.allowed.filter((a) => r.allowed.includes(a)) : [...r.allowed];
    out.set(r.field, m);
  }
  return out;
}

function clampBig(v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Integer valid ranges (xs:long bounds) for a rule on a field of this protobuf type. */
function integerRanges(info: IntInfo, rule: MergedRule | undefined): { min?: bigint; max?: bigint }[] {
  if (!rule || (rule.min === undefined && rule.max === undefined && !rule.nonZero)) return [];
  const typeMin = clampBig(info.min, LONG_MIN, LONG_MAX);
  const typeMax = clampBig(info.max, LONG_MIN, LONG_MAX);
  const lo = rule.min === undefined || rule.min === -Infinity ? typeMin : rule.min === Infinity ? typeMax : clampBig(BigInt(Math.ceil(rule.min)), typeMin, typeMax);
  const hi = rule.max === undefined || rule.max === Infinity ? typeMax : rule.max === -Infinity ? typeMin : clampBig(BigInt(Math.floor(rule.max)), typeMin, typeMax);
  if (!rule.nonZero) return [{ min: lo, max: hi }];
  const out: { min?: bigint; max?: bigint }[] = [];
  if (lo < 0n) out.push({ min: lo, max: hi < 0n ? hi : -1n });
  if (hi > 0n) out.push({ min: lo > 0n ? lo : 1n, max: hi });
  if (out.length === 0) out.push({ min: 1n, max: 0n }); // nothing is valid: an empty range says so
  return out;
}

interface FloatRange {
  minInclusive?: string;
  minExclusive?: string;
  maxInclusive?: string;
  maxExclusive?: string;
}

function floatRanges(rule: MergedRule | undefined): FloatRange[] {
  if (!rule) return [];
  const lo = rule.min !== undefined && Number.isFinite(rule.min) ? rule.min : undefined;
  const hi = rule.max !== undefined && Number.isFinite(rule.max) ? rule.max : undefined;
  if (!rule.nonZero) return lo === undefined && hi === undefined ? [] : [{ minInclusive: lo === undefined ? undefined : xsDouble(lo), maxInclusive: hi === undefined ? undefined : xsDouble(hi) }];
  const out: FloatRange[] = [];
  if (lo === undefined || lo < 0) out.push({ minInclusive: lo === undefined ? undefined : xsDouble(lo), ...(hi !== undefined && hi < 0 ? { maxInclusive: xsDouble(hi) } : { maxExclusive: "0" }) });
  if (hi === undefined || hi > 0) out.push({ ...(lo !== undefined && lo > 0 ? { minInclusive: xsDouble(lo) } : { minExclusive: "0" }), maxInclusive: hi === undefined ? undefined : xsDouble(hi) });
  if (out.length === 0) out.push({ minExclusive: "0", maxExclusive: "0" });
  return out;
}

/** A regular expression matching exactly the allowed strings (XTCE restrictionPattern). */
function allowedPattern(allowed: readonly string[]): string {
  const esc = (s: string) => s.replace(/[\\^$.*+?()[\]{}|-]/g, (c) => `\\${c}`);
  return allowed.length ? `(${allowed.map(esc).join("|")})` : "(?!)";
}

/** One argument type to write, in the order they are created (referenced types first). */
type ArgumentTypeDef =
  | { kind: "integer"; name: string; description: string; info: IntInfo; ranges: { min?: bigint; max?: bigint }[] }
  | { kind: "float"; name: string; description: string; bits: 32 | 64; ranges: FloatRange[] }
  | { kind: "boolean"; name: string; description: string }
  | { kind: "string"; name: string; description: string; pattern?: string }
  | { kind: "binary"; name: string; description: string }
  | { kind: "enum"; name: string; description: string; values: { label: string; value: number }[] }
  | { kind: "aggregate"; name: string; description: string; members: { name: string; typeRef: string; description: string }[] }
  | { kind: "array"; name: string; description: string; elementType: string; countArgument: string }
  | { kind: "protobuf"; name: string; description: string; typeName: string; inputs: string[]; algorithm: string };

interface ArgumentDef {
  name: string;
  typeRef: string;
  description: string;
  initialValue?: string;
}

interface CommandPlan {
  arguments: ArgumentDef[];
  /** The field arguments, inputs to the protobuf encoding. */
  fieldArguments: string[];
  note?: string;
}

const PROTOBUF_ARGUMENT = "protobuf-argument";
const MAX_AGGREGATE_DEPTH = 16;

/** Builds the argument types and arguments of one command from its argument message, by reflection. */
class CommandArguments {
  constructor(
    private readonly root: ReflectionRoot,
    private readonly types: ArgumentTypeDef[],
    private readonly typeNames: NameTable,
  ) {}

  plan(cmd: CommandDeclaration, cmdName: string): CommandPlan {
    const argNames = new NameTable();
    const reserved = argNames.claim(PROTOBUF_ARGUMENT);
    const plan: CommandPlan = { arguments: [], fieldArguments: [] };
    const message = this.lookupType(cmd.argumentType);
    const rules = mergeRules(cmd.arguments);
    if (!message) {
      plan.note = `argument type ${cmd.argumentType || "(none)"} is not known to this dictionary; it is carried as opaque protobuf`;
    } else {
      const counts: ArgumentDef[] = [];
      for (const field of message.fieldsArray) {
        const argName = argNames.claim(xtceName(field.name));
        const path = [field.name];
        const typeRef = this.fieldType(cmdName, path, field, message, rules.get(field.name), { inArray: false, stack: [message.fullName], depth: 0, counts, argNames });
        plan.arguments.push({ name: argName, typeRef, description: `${field.name}: ${describeField(field)} (field ${field.id} of ${trimDot(message.fullName)})` });
        plan.fieldArguments.push(argName);
      }
      plan.arguments.push(...counts);
    }
    const typeName = this.claimType(`${cmdName}_protobuf_type`);
    this.types.push({
      kind: "protobuf",
      name: typeName,
      description: `${trimDot(message?.fullName ?? cmd.argumentType)}, protobuf (proto3) encoded, as ST[8,1] carries it`,
      typeName: trimDot(message?.fullName ?? cmd.argumentType),
      inputs: plan.fieldArguments,
      algorithm: xtceName(`${cmdName}_protobuf_encode`),
    });
    plan.arguments.push({ name: reserved, typeRef: typeName, description: "the argument message, protobuf-encoded (docs/icd.md 12.2)", initialValue: "" });
    return plan;
  }

  private claimType(name: string): string {
    return this.typeNames.claim(name);
  }

  private lookupType(name: string): PbType | undefined {
    if (!name) return undefined;
    try {
      const found = this.root.lookup(name);
      return isPbType(found) ? found : undefined;
    } catch {
      return undefined;
    }
  }

  private resolved(field: PbField): PbType | PbEnum | undefined {
    try {
      if ((field.resolvedType === undefined || field.resolvedType === null) && typeof field.resolve === "function") field.resolve();
    } catch {
      return undefined;
    }
    const r = field.resolvedType;
    return isPbType(r) || isPbEnum(r) ? r : undefined;
  }

  /** The argument type for a field (declared in `types`), by name. */
  private fieldType(
    cmdName: string,
    path: string[],
    field: PbField,
    owner: PbType,
    rule: MergedRule | undefined,
    ctx: { inArray: boolean; stack: string[]; depth: number; counts: ArgumentDef[]; argNames: NameTable },
  ): string {
    const base = `${cmdName}_${path.map(xtceName).join("_")}`;
    if (field.repeated || field.map) {
      const description = `${path.join(".")}: ${describeField(field)}`;
      if (ctx.inArray) {
        const name = this.claimType(`${base}_type`);
        this.types.push({ kind: "binary", name, description: `${description}; inside an array element, carried protobuf-encoded` });
        return name;
      }
      const countArgument = ctx.argNames.claim(`${path.map(xtceName).join("-")}-count`);
      const countType = this.claimType(`${base}_count_type`);
      this.types.push({ kind: "integer", name: countType, description: `number of elements of ${path.join(".")}`, info: INT_TYPES["uint32"]!, ranges: [] });
      ctx.counts.push({ name: countArgument, typeRef: countType, description: `number of elements of ${path.join(".")}`, initialValue: "0" });
      const element = { ...field, repeated: false, map: false };
      let elementType: string;
      if (field.map) {
        const keyField: PbField = { name: "key", type: field.keyType ?? "string", id: 1 };
        const keyType = this.scalarOrNamed(`${base}_key_type`, `${path.join(".")} key`, keyField, undefined, ctx);
        const valueType = this.fieldType(cmdName, [...path, "value"], { ...element, name: "value" }, owner, undefined, { ...ctx, inArray: true });
        elementType = this.claimType(`${base}_entry_type`);
        this.types.push({
          kind: "aggregate",
          name: elementType,
          description: `an entry of the map ${path.join(".")}`,
          members: [
            { name: "key", typeRef: keyType, description: `key (${field.keyType ?? "string"})` },
            { name: "value", typeRef: valueType, description: `value (${field.type})` },
          ],
        });
      } else {
        elementType = this.fieldType(cmdName, [...path, "element"], element, owner, undefined, { ...ctx, inArray: true });
      }
      const name = this.claimType(`${base}_type`);
      this.types.push({ kind: "array", name, description, elementType, countArgument });
      return name;
    }
    return this.scalarOrNamed(`${base}_type`, `${path.join(".")}: ${describeField(field)}`, field, rule, ctx, cmdName, path);
  }

  private scalarOrNamed(
    desired: string,
    description: string,
    field: PbField,
    rule: MergedRule | undefined,
    ctx: { inArray: boolean; stack: string[]; depth: number; counts: ArgumentDef[]; argNames: NameTable },
    cmdName?: string,
    path?: string[],
  ): string {
    const int = INT_TYPES[field.type];
    if (int) {
      const name = this.claimType(desired);
      this.types.push({ kind: "integer", name, description, info: int, ranges: integerRanges(int, rule) });
      return name;
    }
    if (field.type === "double" || field.type === "float") {
      const name = this.claimType(desired);
      this.types.push({ kind: "float", name, description, bits: field.type === "double" ? 64 : 32, ranges: floatRanges(rule) });
      return name;
    }
    if (field.type === "bool") {
      const name = this.claimType(desired);
      this.types.push({ kind: "boolean", name, description });
      return name;
    }
    if (field.type === "string") {
      const name = this.claimType(desired);
      this.types.push({ kind: "string", name, description, ...(rule?.allowed ? { pattern: allowedPattern(rule.allowed) } : {}) });
      return name;
    }
    const resolved = field.type === "bytes" ? undefined : this.resolved(field);
    if (resolved && isPbEnum(resolved)) {
      const seen = new Set<number>();
      const values: { label: string; value: number }[] = [];
      for (const [label, value] of Object.entries(resolved.values)) {
        if (!Number.isInteger(value) || seen.has(value)) continue; // an alias keeps its first label
        seen.add(value);
        values.push({ label, value });
      }
      const name = this.claimType(desired);
      if (values.length === 0) this.types.push({ kind: "integer", name, description, info: INT_TYPES["int32"]!, ranges: [] });
      else this.types.push({ kind: "enum", name, description, values });
      return name;
    }
    if (resolved && isPbType(resolved) && cmdName !== undefined && path !== undefined) {
      const recursive = ctx.stack.includes(resolved.fullName) || ctx.depth >= MAX_AGGREGATE_DEPTH;
      if (!recursive && resolved.fieldsArray.length > 0) {
        const inner = { ...ctx, stack: [...ctx.stack, resolved.fullName], depth: ctx.depth + 1 };
        const members = resolved.fieldsArray.map((f) => ({
          name: xtceName(f.name),
          typeRef: this.fieldType(cmdName, [...path, f.name], f, resolved, undefined, inner),
          description: `${f.name}: ${describeField(f)}`,
        }));
        const name = this.claimType(desired);
        this.types.push({ kind: "aggregate", name, description, members });
        return name;
      }
      const name = this.claimType(desired);
      this.types.push({ kind: "binary", name, description: `${description}; ${recursive ? "recursive message" : "message with no fields"}, carried protobuf-encoded` });
      return name;
    }
    // bytes, or a type this reflection cannot resolve.
    const name = this.claimType(desired);
    this.types.push({ kind: "binary", name, description: field.type === "bytes" ? description : `${description}; type not resolved, carried protobuf-encoded` });
    return name;
  }
}

function trimDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

function describeField(f: PbField): string {
  if (f.map) return `map<${f.keyType ?? "?"}, ${trimDot(f.type)}>`;
  return `${f.repeated ? "repeated " : ""}${trimDot(f.type)}`;
}

function writeArgumentType(x: Xml, t: ArgumentTypeDef): void {
  const d: Described = { name: t.name, description: t.description };
  switch (t.kind) {
    case "integer":
      described(x, "IntegerArgumentType", d, { sizeInBits: t.info.bits, signed: t.info.signed ? "true" : "false" }, t.ranges.length ? () => {
        x.open("ValidRangeSet");
        for (const r of t.ranges) x.empty("ValidRange", { minInclusive: r.min?.toString(), maxInclusive: r.max?.toString() });
        x.close("ValidRangeSet");
      } : undefined);
      return;
    case "float":
      described(x, "FloatArgumentType", d, { sizeInBits: t.bits }, t.ranges.length ? () => {
        x.open("ValidRangeSet");
        for (const r of t.ranges) x.empty("ValidRange", { ...r });
        x.close("ValidRangeSet");
      } : undefined);
      return;
    case "boolean":
      described(x, "BooleanArgumentType", d, {});
      return;
    case "string":
      described(x, "StringArgumentType", d, { restrictionPattern: t.pattern });
      return;
    case "binary":
      described(x, "BinaryArgumentType", d, {});
      return;
    case "enum":
      described(x, "EnumeratedArgumentType", d, {}, () => {
        x.open("EnumerationList");
        for (const v of t.values) x.empty("Enumeration", { value: v.value, label: v.label });
        x.close("EnumerationList");
      });
      return;
    case "aggregate":
      described(x, "AggregateArgumentType", d, {}, () => {
        x.open("MemberList");
        for (const m of t.members) x.empty("Member", { ...describedAttrs({ name: m.name, description: m.description }), typeRef: m.typeRef });
        x.close("MemberList");
      });
      return;
    case "array":
      described(x, "ArrayArgumentType", d, { arrayTypeRef: t.elementType }, () => {
        x.open("DimensionList").open("Dimension");
        x.open("StartingIndex").text("FixedValue", "0").close("StartingIndex");
        x.open("EndingIndex").open("DynamicValue");
        x.empty("ArgumentInstanceRef", { argumentRef: t.countArgument });
        x.empty("LinearAdjustment", { intercept: -1 });
        x.close("DynamicValue").close("EndingIndex");
        x.close("Dimension").close("DimensionList");
      });
      return;
    case "protobuf":
      described(x, "BinaryArgumentType", d, {}, () => {
        x.open("BinaryDataEncoding");
        x.open("SizeInBits").text("FixedValue", "-1").close("SizeInBits");
        described(x, "ToBinaryTransformAlgorithm", { name: t.algorithm, description: `proto3 encoding of ${t.typeName}` }, {}, () => {
          x.text("AlgorithmText", `Encode ${t.typeName} (proto3) from the arguments${t.inputs.length ? ` ${t.inputs.join(", ")}` : " (none: the empty message)"}.`, { language: "text" });
          x.open("ExternalAlgorithmSet");
          x.empty("ExternalAlgorithm", { implementationName: "protobuf", algorithmLocation: t.typeName });
          x.close("ExternalAlgorithmSet");
          if (t.inputs.length) {
            x.open("InputSet");
            for (const input of t.inputs) x.empty("InputArgumentInstanceRef", { argumentRef: input });
            x.close("InputSet");
          }
        });
        x.close("BinaryDataEncoding");
      });
  }
}

/** The ST[8,1] packet as it goes up (docs/icd.md 10.1, 10.2, 12.2): [name, sizeInBits, value, who sets it]. */
function packetEntries(apid: number, functionName: string): ({ fixed: [string, number, string, string?] } | { argument: string })[] {
  const name = Buffer.from(functionName, "utf8").subarray(0, 255);
  const groundSets = "set by the ground system when the packet is built";
  return [
    { fixed: ["packetVersion", 3, "00", "CCSDS packet version number 000"] },
    { fixed: ["packetType", 1, "01", "1: telecommand"] },
    { fixed: ["secondaryHeaderFlag", 1, "01", "1: a PUS secondary header follows"] },
    { fixed: ["apid", 11, hexOctets(apid, 2), `APID ${apid}`] },
    { fixed: ["sequenceFlags", 2, "03", "11: stand-alone packet"] },
    { fixed: ["sequenceCount", 14, "0000", `the ground's count for this APID, 0..16383, wrapping; ${groundSets}`] },
    { fixed: ["packetDataLength", 16, "0000", `octets in the data field minus 1; ${groundSets}`] },
    { fixed: ["spi", 16, "0000", "security parameter index (which key), 1..65534; set by the signing step"] },
    { fixed: ["securitySequenceNumber", 32, "00000000", "anti-replay counter of the SPI; set by the signing step"] },
    { fixed: ["pusVersion", 4, "02", "TC packet PUS version number 2 (PUS-C)"] },
    { fixed: ["acknowledgementFlags", 4, "0F", "success reports asked for: acceptance, start, progress, completion (failures are always reported)"] },
    { fixed: ["serviceType", 8, "08", "ST[8] function management"] },
    { fixed: ["messageSubtype", 8, "01", "(8,1) perform function"] },
    { fixed: ["sourceId", 16, "0001", `the sender, used by the duplicate rule; ${groundSets}`] },
    { fixed: ["functionNameLength", 8, hexOctets(name.length, 1), "length of the function name"] },
    ...(name.length ? [{ fixed: ["functionName", name.length * 8, name.toString("hex").toUpperCase(), "the command's declared name, ASCII"] as [string, number, string, string] }] : []),
    { argument: PROTOBUF_ARGUMENT },
    { fixed: ["mac", 128, "00".repeat(16), "first 16 octets of HMAC-SHA-256 (key of the SPI) over everything before it; set by the signing step"] },
    { fixed: ["packetErrorControl", 16, "0000", "CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF) over everything before it; set when the packet is built"] },
  ];
}

// ---- export ----------------------------------------------------------------------------

export interface XtceOptions {
  /** Name of the root SpaceSystem (default "Umbra"); mapped by xtceName. */
  name?: string;
  /** Reflection root for the commands' argument messages (default: the generated one from @umbra/proto, umbraReflection()). A protobufjs Root fits. */
  root?: ReflectionRoot;
}

/**
 * The XTCE 1.2 document of these declarations. Deterministic: the same
 * declarations in the same order give the same text. A later declaration of
 * a service name replaces an earlier one (re-declaration), at the earlier's
 * place. Never throws on the content of a declaration.
 */
export function exportXtce(declarations: Declaration[], options: XtceOptions = {}): string {
  const root = options.root ?? umbraReflection();
  const byName = new Map<string, Declaration>();
  for (const d of declarations) byName.set(d.name, d);

  const x = new Xml();
  const rootName = xtceName(options.name ?? "Umbra");
  x.open("SpaceSystem", { xmlns: XTCE_NAMESPACE, name: rootName, shortDescription: "Umbra mission dictionary, exported from the services' declarations" });
  x.open("Header", { validationStatus: "Working" });
  x.open("NoteSet");
  x.text("Note", "Generated by @umbra/gateway exportXtce from the ServiceDeclarations; do not edit, export again.");
  x.text("Note", "Commands are PUS-C ST[8,1] telecommands with a security header and MAC (docs/icd.md 10.2, 12.2). The command argument travels protobuf (proto3) encoded in the argument protobuf-argument; the other arguments are its fields.");
  x.text("Note", "Events are the enumerated parameter event of each service (label = event name, value = PUS ST[5] event id).");
  x.text("Note", "Names: '.', '/', ':', '[', ']', whitespace and '~' are written ~XX (hex code point); the AliasSet keeps a service's name as declared.");
  x.close("NoteSet");
  x.close("Header");

  const systems = new NameTable();
  for (const d of byName.values()) writeService(x, d, systems.claim(xtceName(d.name)), root);

  x.close("SpaceSystem");
  return x.toString();
}

function writeService(x: Xml, d: Declaration, name: string, root: ReflectionRoot): void {
  const apidOk = Number.isInteger(d.apid) && d.apid >= 0 && d.apid <= 2046;
  x.open("SpaceSystem", describedAttrs({ name, description: d.description || `service ${d.name}` }));
  describedChildren(x, {
    name,
    description: d.description,
    aliases: [
      { nameSpace: "umbra-service", alias: d.name },
      { nameSpace: "ccsds-apid", alias: String(d.apid) },
    ],
  });
  x.open("Header", { validationStatus: "Working" });
  x.open("NoteSet");
  x.text("Note", `Umbra service ${d.name}, APID ${d.apid} (0x${d.apid.toString(16).toUpperCase().padStart(3, "0")}).`);
  x.close("NoteSet");
  x.close("Header");

  // ---- telemetry ----
  const paramNames = new NameTable();
  const paramTypeNames = new NameTable();
  const telemetry = d.telemetry.map((t) => {
    const paramName = paramNames.claim(xtceName(t.name));
    return { t, paramName, typeName: paramTypeNames.claim(`${paramName}_type`) };
  });
  const seenIds = new Set<number>();
  const labels = new NameTable();
  const events = d.events
    .filter((e) => !seenIds.has(e.id) && (seenIds.add(e.id), true))
    .map((e) => ({ e, label: labels.claim(xmlSafe(e.name)) }));
  const eventParam = events.length ? paramNames.claim("event") : undefined;
  const eventType = events.length ? paramTypeNames.claim("event_type") : undefined;

  if (telemetry.length || events.length) {
    x.open("TelemetryMetaData");
    x.open("ParameterTypeSet");
    for (const { t, paramName, typeName } of telemetry) writeParameterType(x, t, typeName, paramName);
    if (eventType) {
      const alarmed = events.filter(({ e }) => EVENT_ALARM_LEVEL[e.severity] !== undefined);
      described(x, "EnumeratedParameterType", { name: eventType, description: `events of ${d.name}: PUS ST[5] event id` }, {}, () => {
        x.open("EnumerationList");
        for (const { e, label } of events) {
          const sev = SEVERITY_NAME[e.severity] ?? "unspecified";
          x.empty("Enumeration", { value: e.id, label, shortDescription: cut(`${sev}: ${e.description}`.trim(), SHORT_DESCRIPTION_MAX) });
        }
        x.close("EnumerationList");
        if (alarmed.length) {
          x.open("DefaultAlarm");
          x.open("EnumerationAlarmList");
          for (const { e, label } of alarmed) x.empty("EnumerationAlarm", { alarmLevel: EVENT_ALARM_LEVEL[e.severity], enumerationLabel: label });
          x.close("EnumerationAlarmList");
          x.close("DefaultAlarm");
        }
      });
    }
    x.close("ParameterTypeSet");
    x.open("ParameterSet");
    for (const { t, paramName, typeName } of telemetry) {
      described(x, "Parameter", { name: paramName, description: t.description }, { parameterTypeRef: typeName }, () => x.empty("ParameterProperties", { dataSource: "telemetered" }));
    }
    if (eventParam && eventType) {
      described(x, "Parameter", { name: eventParam, description: `the last event ${d.name} reported (PUS ST[5] event id)` }, { parameterTypeRef: eventType }, () =>
        x.empty("ParameterProperties", { dataSource: "telemetered" }),
      );
    }
    x.close("ParameterSet");
    x.close("TelemetryMetaData");
  }

  // ---- commands ----
  if (d.commands.length) {
    const commandNames = new NameTable();
    const types: ArgumentTypeDef[] = [];
    const typeNames = new NameTable();
    const builder = new CommandArguments(root, types, typeNames);
    const commands = d.commands.map((c) => {
      const cmdName = commandNames.claim(xtceName(c.name));
      return { c, cmdName, plan: builder.plan(c, cmdName) };
    });
    x.open("CommandMetaData");
    x.open("ArgumentTypeSet");
    for (const t of types) writeArgumentType(x, t);
    x.close("ArgumentTypeSet");
    x.open("MetaCommandSet");
    for (const { c, cmdName, plan } of commands) {
      const description = [c.description, plan.note].filter(Boolean).join(". ");
      described(x, "MetaCommand", { name: cmdName, description, ...(cmdName === c.name ? {} : { aliases: [{ nameSpace: "umbra-command", alias: c.name }] }) }, {}, () => {
        x.open("ArgumentList");
        for (const a of plan.arguments) described(x, "Argument", { name: a.name, description: a.description }, { argumentTypeRef: a.typeRef, initialValue: a.initialValue });
        x.close("ArgumentList");
        if (apidOk) {
          described(x, "CommandContainer", { name: `${cmdName}_packet`, description: `PUS ST[8,1] ${c.name} to APID ${d.apid}` }, {}, () => {
            x.open("EntryList");
            for (const e of packetEntries(d.apid, c.name)) {
              if ("argument" in e) x.empty("ArgumentRefEntry", { argumentRef: e.argument, shortDescription: `the argument, ${trimDot(c.argumentType) || "no type"}, protobuf-encoded; runs to the MAC` });
              else x.empty("FixedValueEntry", { shortDescription: e.fixed[3], name: e.fixed[0], binaryValue: e.fixed[2], sizeInBits: e.fixed[1] });
            }
            x.close("EntryList");
          });
        }
        if (c.critical) {
          x.empty("DefaultSignificance", { reasonForWarning: "critical: arm it first with the TTC's arm command (APID 0x010); one execution per arm, within the arm window", consequenceLevel: "critical" });
        }
      });
    }
    x.close("MetaCommandSet");
    x.close("CommandMetaData");
  }
  x.close("SpaceSystem");
}
