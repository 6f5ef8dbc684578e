// fast-check arbitraries for values of any message type, driven by the schema:
// mostly valid field values, with hostile ones (wrong types, out of range,
// unknown fields) mixed in. Used by the validator's and the codec's property tests.
import fc from "fast-check";
import protobuf from "protobufjs/light.js";
import descriptor from "../../generated/descriptor.js";
import { integerRange } from "../../src/scalars.js";

export const schemaRoot = protobuf.Root.fromJSON(descriptor);
schemaRoot.resolveAll();

const HOSTILE: unknown[] = [
  null,
  undefined,
  -1,
  1.5,
  2 ** 32,
  2 ** 60,
  -(2 ** 31) - 1,
  "12",
  "",
  5n,
  -1n,
  2n ** 63n,
  2n ** 64n,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  [],
  {},
  new Uint8Array([1, 2]),
];

/** A valid value of one element type (scalar, enum or message). */
function validElement(type: string, resolved: protobuf.ReflectionObject | null, depth: number, hostile: boolean): fc.Arbitrary<unknown> {
  const range = integerRange(type);
  if (range) {
    const big = fc.bigInt({ min: range[0], max: range[1] });
    if (type.endsWith("64")) return fc.oneof(big, big.filter((b) => b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)).map(Number));
    return big.map(Number);
  }
  switch (type) {
    case "double":
    case "float":
      return fc.double();
    case "bool":
      return fc.boolean();
    case "string":
      return fc.string({ maxLength: 12 });
    case "bytes":
      return fc.uint8Array({ maxLength: 12 });
  }
  if (resolved instanceof protobuf.Enum) return fc.constantFrom(...Object.values(resolved.values));
  if (resolved instanceof protobuf.Type) return depth >= 3 ? fc.constant({}) : messageValue(resolved, depth + 1, hostile);
  throw new Error(`no arbitrary for field type ${type}`);
}

function fieldValue(field: protobuf.Field, depth: number, hostile: boolean): fc.Arbitrary<unknown> {
  const element = validElement(field.type, field.resolvedType, depth, hostile);
  const maybeBad = (a: fc.Arbitrary<unknown>) => (hostile ? fc.oneof({ weight: 6, arbitrary: a }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) }) : a);
  if (field instanceof protobuf.MapField) {
    const key =
      field.keyType === "string" ? fc.string({ maxLength: 6 }) : field.keyType === "bool" ? fc.constantFrom("true", "false") : fc.integer({ min: -5, max: 99 }).map(String);
    return maybeBad(fc.dictionary(hostile ? fc.oneof(key, fc.constant("x1")) : key, maybeBad(element), { maxKeys: 3 }));
  }
  if (field.repeated) return maybeBad(fc.array(maybeBad(element), { maxLength: 3 }));
  return maybeBad(element);
}

/**
 * A value for a message type: any subset of its fields (at most one member
 * of each oneof unless hostile), sometimes an unknown field or a oneof's name.
 */
export function messageValue(type: protobuf.Type, depth = 0, hostile = true): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, field] of Object.entries(type.fields)) {
    if (!hostile && field.partOf) continue; // oneof members: added below, one at a time
    parts[name] = fieldValue(field, depth, hostile);
  }
  let value: fc.Arbitrary<Record<string, unknown>> = fc.record(parts, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
  if (!hostile) {
    for (const oneof of type.oneofsArray) {
      const members = oneof.oneof;
      value = value.chain((v) =>
        fc.option(fc.constantFrom(...members), { nil: undefined }).chain((member) =>
          member === undefined ? fc.constant(v) : fieldValue(type.fields[member]!, depth, false).map((x) => ({ ...v, [member]: x })),
        ),
      );
    }
    return value;
  }
  const extras = fc.option(
    fc.oneof(
      fc.constantFrom("nope", "idd", "Id"),
      ...(type.oneofsArray.length ? [fc.constantFrom(...type.oneofsArray.map((o) => o.name))] : []),
    ),
    { nil: undefined, freq: 4 },
  );
  return fc.tuple(value, extras, fc.constantFrom(...HOSTILE, ...type.oneofsArray.flatMap((o) => o.oneof))).map(([v, extra, extraValue]) =>
    extra === undefined ? v : { ...v, [extra]: extraValue },
  );
}

/** Every message type's full name. */
export const allTypeNames: string[] = [];
(function collect(ns: protobuf.NamespaceBase) {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) allTypeNames.push(nested.fullName.replace(/^\./, ""));
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) collect(nested as protobuf.NamespaceBase);
  }
})(schemaRoot);
