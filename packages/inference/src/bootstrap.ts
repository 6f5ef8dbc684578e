// First boot: the shipped models are registered (hash, shapes, canary) and
// activated once. On later boots the registry already has them and the
// service reloads what is active; nothing here runs twice.
import type { InferenceService } from "./service.js";
import type { ModelRegistry } from "./registry.js";
import { shippedModels, type ShippedModel } from "./shipped-models.js";

export interface BootstrapResult {
  registered: string[];
  activated: string[];
  failed: { model: string; error: string }[];
}

/**
 * Registers every shipped model not yet in the registry and activates those
 * named in `activate` that have no active version. A model that fails is
 * reported, not fatal: the others still load.
 */
export async function installShippedModels(
  service: InferenceService,
  registry: ModelRegistry,
  modelsDir: string,
  activate: readonly string[],
  /** The catalogue; default the shipped one (tests pass their own). */
  catalogueOf: (modelsDir: string) => ShippedModel[] = shippedModels,
): Promise<BootstrapResult> {
  const result: BootstrapResult = { registered: [], activated: [], failed: [] };
  let catalogue: ShippedModel[];
  try {
    catalogue = catalogueOf(modelsDir);
  } catch (err) {
    result.failed.push({ model: "(catalogue)", error: err instanceof Error ? err.message : String(err) });
    return result;
  }
  for (const unknown of activate.filter((id) => !catalogue.some((m) => m.id === id))) {
    result.failed.push({ model: unknown, error: `not a shipped model (have ${catalogue.map((m) => m.id).join(", ")})` });
  }
  for (const m of catalogue) {
    try {
      if (!registry.get(m.id, m.version)) {
        await service.register({ id: m.id, version: m.version, path: m.path, voter: m.voter, labels: m.labels, inputDims: m.inputDims, ...(m.accuracy === undefined ? {} : { accuracy: m.accuracy }) });
        result.registered.push(m.id);
      }
      if (activate.includes(m.id) && !registry.active(m.id)) {
        await service.activate(m.id, m.version);
        result.activated.push(m.id);
      }
    } catch (err) {
      result.failed.push({ model: m.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return result;
}
