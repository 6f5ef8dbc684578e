// A whole configuration written back out as YAML: what the launcher hands the
// supervisor after applying its flags, so both read exactly the same values.
import { stringify } from "yaml";
import { toConfigFile, type PayloadConfig } from "./config/index.js";

export function payloadConfigYaml(config: PayloadConfig, header = ""): string {
  const comment = header ? header.split("\n").map((l) => `# ${l}`).join("\n") + "\n" : "";
  return comment + stringify(toConfigFile(config));
}
