// Decoded messages as plain objects, built faster than protobufjs's
// `toObject(message, { defaults: true })`.
//
// With `defaults` the generated toObject makes a Long and a BigInt for every
// unset 64-bit field and a Buffer for every unset bytes field, on every decode;
// that was a third of the bus's decode time. Instead the generated toObject
// runs without `defaults`, and each type's defaults are laid in from a template
// made once: the result has the same keys, in the same order, with the same
// values (plain.test.ts checks this against toObject on every message type).
import Long from "long";
import protobuf from "protobufjs/light.js";
import { reflectedType } from "./schema.js";

type PlainObject = Record<string, unknown>;
type Filler = (decoded: PlainObject) => PlainObject;

/** Shared by every unset bytes field: a zero-length Buffer has nothing to change. */
const EMPTY_BYTES = Buffer.alloc(0);

/** A field whose values are messages, whose own defaults must be filled in too. */
interface NestedField {
  name: string;
  shape: "single" | "repeated" | "map";
  fill: () => Filler;
}

/** The value an unset field decodes to (shared with compiled.ts, whose decoders start from the same defaults). */
export function defaultOf(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Type) return null;
  if (field.resolvedType instanceof protobuf.Enum) return field.typeDefault;
  if (field.long) {
    const d = field.typeDefault as { low: number; high: number; unsigned: boolean } | number;
    return typeof d === "number" ? BigInt(d) : BigInt(Long.fromBits(d.low, d.high, d.unsigned).toString());
  }
  if (field.bytes) {
    const d = field.typeDefault as Uint8Array;
    return d.length === 0 ? EMPTY_BYTES : Buffer.from(d);
  }
  return field.typeDefault;
}

const fillers = new Map<protobuf.Type, Filler>();

function fillerOf(type: protobuf.Type): Filler {
  let filler = fillers.get(type);
  if (filler) return filler;
  // Keys in protobufjs's order: repeated fields, then maps, then the other
  // fields outside oneofs, each group by field id. Arrays and maps are always
  // replaced by the decoded ones (decoded with `arrays` and `objects`).
  const fields = type.fieldsArray.slice().sort((a, b) => a.id - b.id);
  const template: PlainObject = {};
  for (const f of fields) if (!f.partOf && f.repeated) template[f.name] = [];
  for (const f of fields) if (!f.partOf && f.map) template[f.name] = {};
  for (const f of fields) if (!f.partOf && !f.repeated && !f.map) template[f.name] = defaultOf(f);
  const nested: NestedField[] = [];
  for (const f of fields) {
    const resolved = f.resolvedType;
    if (!(resolved instanceof protobuf.Type)) continue;
    // Looked up on first use (a type may nest itself), then kept: this runs on every decode.
    let nestedFiller: Filler | undefined;
    nested.push({ name: f.name, shape: f.map ? "map" : f.repeated ? "repeated" : "single", fill: () => (nestedFiller ??= fillerOf(resolved)) });
  }
  filler = (decoded) => {
    const out = Object.assign({ ...template }, decoded);
    for (const n of nested) {
      const v = out[n.name];
      if (v === undefined || v === null) continue;
      if (n.shape === "single") out[n.name] = n.fill()(v as PlainObject);
      else if (n.shape === "repeated") out[n.name] = (v as PlainObject[]).map(n.fill());
      else {
        const fill = n.fill();
        const map: PlainObject = {};
        for (const k of Object.keys(v as PlainObject)) map[k] = fill((v as Record<string, PlainObject>)[k]!);
        out[n.name] = map;
      }
    }
    return out;
  };
  fillers.set(type, filler);
  return filler;
}

/** The defaults filler of a message type by full name (null if it has none in the schema). */
export function plainFillerFor(typeName: string): Filler | null {
  const type = reflectedType(typeName);
  return type ? fillerOf(type) : null;
}
