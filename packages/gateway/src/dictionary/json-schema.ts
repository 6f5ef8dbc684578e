// JSON Schema of a command's argument message, as the REST API takes it:
// built from the message's protobuf fields, with the declaration's argument
// rules added as minimum / maximum / enum / not-zero. The console's command
// forms and the CLI's help come from this.
import type { ArgumentRuleSpec } from "@umbra/core";
import { SIXTY_FOUR_BIT, UNSIGNED, type FieldInfo, type ProtoTypes } from "./proto-types.js";

export type JsonSchema = { [k: string]: unknown };

const INT_RANGES: Record<string, [number | string, number | string]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  int64: ["-9223372036854775808", "9223372036854775807"],
  sint64: ["-9223372036854775808", "9223372036854775807"],
  sfixed64: ["-9223372036854775808", "9223372036854775807"],
  uint64: ["0", "18446744073709551615"],
  fixed64: ["0", "18446744073709551615"],
};

const MAX_DEPTH = 16;

function scalarSchema(type: string, rule: ArgumentRuleSpec | undefined): JsonSchema {
  const range = INT_RANGES[type];
  if (range) {
    if (SIXTY_FOUR_BIT.has(type)) {
      const integer: JsonSchema = {
        type: "integer",
        minimum: UNSIGNED.has(type) ? 0 : Number.MIN_SAFE_INTEGER,
        maximum: Number.MAX_SAFE_INTEGER,
      };
      if (rule?.min !== undefined) integer["minimum"] = Math.max(integer["minimum"] as number, Math.ceil(rule.min));
      if (rule?.max !== undefined) integer["maximum"] = Math.min(integer["maximum"] as number, Math.floor(rule.max));
      const schema: JsonSchema = {
        format: type,
        description: `${type}: a safe integer, or any ${type} as a decimal string (${range[0]}..${range[1]})`,
        anyOf: [integer, { type: "string", pattern: UNSIGNED.has(type) ? "^[0-9]{1,20}$" : "^-?[0-9]{1,19}$" }],
      };
      if (rule?.min !== undefined) schema["x-minimum"] = rule.min;
      if (rule?.max !== undefined) schema["x-maximum"] = rule.max;
      if (rule?.nonZero) schema["x-nonZero"] = true;
      return schema;
    }
    const schema: JsonSchema = { type: "integer", format: type, minimum: range[0], maximum: range[1] };
    applyNumeric(schema, rule);
    return schema;
  }
  switch (type) {
    case "double":
    case "float": {
      const schema: JsonSchema = { type: "number", format: type };
      applyNumeric(schema, rule);
      return schema;
    }
    case "bool":
      return { type: "boolean" };
    case "string": {
      const schema: JsonSchema = { type: "string" };
      if (rule?.allowed?.length) schema["enum"] = [...rule.allowed];
      return schema;
    }
    case "bytes":
      return { type: "string", contentEncoding: "base64", description: "bytes, base64 encoded" };
  }
  return {};
}

function applyNumeric(schema: JsonSchema, rule: ArgumentRuleSpec | undefined): void {
  if (!rule) return;
  if (rule.min !== undefined) schema["minimum"] = schema["minimum"] === undefined ? rule.min : Math.max(schema["minimum"] as number, rule.min);
  if (rule.max !== undefined) schema["maximum"] = schema["maximum"] === undefined ? rule.max : Math.min(schema["maximum"] as number, rule.max);
  if (rule.nonZero) {
    schema["not"] = { const: 0 };
    schema["x-nonZero"] = true;
  }
}

function fieldSchema(types: ProtoTypes, f: FieldInfo, rule: ArgumentRuleSpec | undefined, path: string[]): JsonSchema {
  let item: JsonSchema;
  if (f.kind === "scalar") item = scalarSchema(f.type, rule);
  else if (f.kind === "enum") {
    const e = types.enum(f.type);
    const names = e ? [...e.values.keys()] : [];
    const numbers = e ? [...new Set(e.values.values())] : [];
    item = { title: f.type, description: `${f.type}: a value name or its number`, anyOf: [{ type: "string", enum: names }, { type: "integer", enum: numbers }] };
  } else item = messageSchema(types, f.type, [], path);
  if (f.keyType) return { type: "object", description: `map<${f.keyType}, ${f.type}>`, additionalProperties: item };
  if (f.repeated) return { type: "array", items: item };
  return item;
}

function messageSchema(types: ProtoTypes, fullName: string, rules: readonly (readonly [string, ArgumentRuleSpec])[], path: string[]): JsonSchema {
  const info = types.message(fullName);
  if (!info) return { type: "object", title: fullName, description: `unknown message type ${fullName}` };
  if (path.includes(fullName) || path.length >= MAX_DEPTH) return { type: "object", title: fullName, description: `${fullName} (recursive; see above)` };
  const ruleOf = new Map(rules.map(([field, r]) => [field, r]));
  const properties: Record<string, JsonSchema> = {};
  for (const f of info.fields.values()) properties[f.name] = fieldSchema(types, f, ruleOf.get(f.name), [...path, fullName]);
  const schema: JsonSchema = { type: "object", title: fullName, properties, additionalProperties: false };
  if (info.oneofs.size) {
    schema["x-oneofs"] = Object.fromEntries(info.oneofs);
    schema["description"] = [...info.oneofs].map(([name, members]) => `at most one of ${members.join(", ")} (${name})`).join("; ");
  }
  return schema;
}

/** The JSON Schema of a command's argument message, with its declared rules. */
export function argumentSchema(types: ProtoTypes, argumentType: string, rules: readonly (readonly [string, ArgumentRuleSpec])[]): JsonSchema {
  return messageSchema(types, argumentType, rules, []);
}
