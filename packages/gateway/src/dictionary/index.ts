export { ProtoTypes, type DescriptorNode, type FieldInfo, type MessageInfo, type EnumInfo } from "./proto-types.js";
export { loadProtoTypes } from "./descriptor.js";
export { argumentSchema, type JsonSchema } from "./json-schema.js";
export { checkArguments, type ArgumentCheck } from "./validate.js";
export { messageToJson, type Json } from "./to-json.js";
export { ruleSpecs, type DeclaredRule } from "./rules.js";
export { serviceJson, severityName, valueTypeName, valueJson, type CommandJson, type Declaration, type ServiceJson } from "./view.js";
export { LiveDictionary } from "./live.js";
