// Loads the JSON descriptor that @umbra/proto generates next to its code
// (generated/descriptor.js). @umbra/proto exports only its typed codecs, not
// the descriptor, so it is found beside the package's entry point.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { ProtoTypes, type DescriptorNode } from "./proto-types.js";

let loaded: Promise<ProtoTypes> | undefined;

export function loadProtoTypes(): Promise<ProtoTypes> {
  loaded ??= (async () => {
    const entry = createRequire(import.meta.url).resolve("@umbra/proto");
    const path = join(dirname(entry), "..", "generated", "descriptor.js");
    const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
    const root = module.default;
    if (root === null || typeof root !== "object" || !("nested" in root)) throw new Error(`${path} is not a protobuf JSON descriptor`);
    return new ProtoTypes(root as DescriptorNode);
  })();
  return loaded;
}
