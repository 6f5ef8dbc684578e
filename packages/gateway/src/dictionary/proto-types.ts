// The message schemas of the bus, as data: a small resolver over the JSON
// descriptor that @umbra/proto generates with pbjs (the same reflection
// `validateMessage` uses). Pure: given the descriptor, it answers what fields
// a message has, of what type, repeated or map, and what an enum's values are.
// The JSON Schemas of the dictionary, the argument validator and the
// bus-to-JSON conversion are all built on it, so none of them restates a
// message's fields.

/** The shape of a protobufjs JSON descriptor (only what is read here). */
export interface DescriptorNode {
  nested?: Record<string, DescriptorNode>;
  fields?: Record<string, { type: string; id: number; rule?: string; keyType?: string }>;
  oneofs?: Record<string, { oneof: string[] }>;
  values?: Record<string, number>;
}

export const SCALAR_TYPES = new Set([
  "double",
  "float",
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);
export const SIXTY_FOUR_BIT = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
export const UNSIGNED = new Set(["uint32", "fixed32", "uint64", "fixed64"]);

export type FieldKind = "scalar" | "enum" | "message";

export interface FieldInfo {
  name: string;
  /** Field number. */
  id: number;
  /** Scalar type name, or the full name of the enum or message. */
  type: string;
  /** The type as the .proto wrote it (a relative name stays relative). */
  declaredType: string;
  kind: FieldKind;
  repeated: boolean;
  /** For a map field: the key's scalar type. */
  keyType?: string;
  /** The oneof this field belongs to, if any. */
  oneof?: string;
}

export interface MessageInfo {
  fullName: string;
  fields: Map<string, FieldInfo>;
  oneofs: Map<string, string[]>;
}

export interface EnumInfo {
  fullName: string;
  /** Name -> number, in declaration order. */
  values: Map<string, number>;
}

export class ProtoTypes {
  private readonly messages = new Map<string, MessageInfo>();
  private readonly enums = new Map<string, EnumInfo>();

  constructor(root: DescriptorNode) {
    const raw = new Map<string, DescriptorNode>();
    const walk = (node: DescriptorNode, prefix: string, depth: number) => {
      if (depth > 32) return;
      for (const [name, child] of Object.entries(node.nested ?? {})) {
        const full = prefix ? `${prefix}.${name}` : name;
        if (child.fields || child.values) raw.set(full, child);
        walk(child, full, depth + 1);
      }
    };
    walk(root, "", 0);
    for (const [full, node] of raw) {
      if (node.values) this.enums.set(full, { fullName: full, values: new Map(Object.entries(node.values)) });
    }
    for (const [full, node] of raw) {
      if (!node.fields) continue;
      const oneofOf = new Map<string, string>();
      const oneofs = new Map<string, string[]>();
      for (const [name, o] of Object.entries(node.oneofs ?? {})) {
        oneofs.set(name, [...o.oneof]);
        for (const member of o.oneof) oneofOf.set(member, name);
      }
      const fields = new Map<string, FieldInfo>();
      for (const [name, f] of Object.entries(node.fields)) {
        let type = f.type;
        let kind: FieldKind = "scalar";
        if (!SCALAR_TYPES.has(type)) {
          const resolved = this.resolve(full, type, raw);
          type = resolved ?? type;
          kind = resolved && this.enums.has(resolved) ? "enum" : "message";
        }
        const info: FieldInfo = { name, id: f.id, type, declaredType: f.type, kind, repeated: f.rule === "repeated" };
        if (f.keyType) info.keyType = f.keyType;
        const oneof = oneofOf.get(name);
        if (oneof) info.oneof = oneof;
        fields.set(name, info);
      }
      this.messages.set(full, { fullName: full, fields, oneofs });
    }
  }

  /** protobuf name resolution: from the innermost scope outward. */
  private resolve(scope: string, ref: string, raw: Map<string, DescriptorNode>): string | undefined {
    if (ref.startsWith(".")) return raw.has(ref.slice(1)) ? ref.slice(1) : undefined;
    const parts = scope.split(".");
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), ref].join(".");
      if (raw.has(candidate)) return candidate;
    }
    return undefined;
  }

  message(fullName: string): MessageInfo | undefined {
    return this.messages.get(fullName);
  }

  enum(fullName: string): EnumInfo | undefined {
    return this.enums.get(fullName);
  }
}
