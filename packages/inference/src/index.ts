export { buildTinyCnn, TINY_CNN_INPUT, TINY_CNN_OUTPUT, type TinyCnnOptions } from "./onnx/build-cnn.js";
export { locateWeights, weightBitOffset, weightCount, withBitsFlipped, ModelFormatError, type WeightRange } from "./onnx/weights.js";
export { ModelRegistry, RegistryError, readModelFile, accuracyProblem, MODEL_ID, MAX_MODEL_BYTES, type ModelEntry, type NewModel, type CanaryRecord } from "./registry.js";
export { ortReplicaFactory, ModelLoadError, type NamedTensors, type Replica, type ReplicaFactory, type SessionOptions, type TensorShape } from "./replica.js";
export { canaryInput, decodeInputs, encodeTensors, tensorsFromWire, TensorError, MAX_TENSOR_ELEMENTS } from "./tensors.js";
export {
  TmrExecutor,
  InferenceError,
  PROTECTION_MODES,
  VOTER_KINDS,
  type ProtectionMode,
  type VoterKind,
  type MasterCopy,
  type ExecutorListener,
  type ExecutorOptions,
  type ProtectedResult,
  type ExecutorCounters,
} from "./tmr-executor.js";
export { close, tensorsAgree, voteArgmax, voteBitwise, voteMedian, DEFAULT_TOLERANCE, VoteError, type Tolerance, type TensorVote, type ClassifierVote, type VoteStatus } from "./voters.js";
export { InferenceService, inferenceSpec, type InferenceServiceOptions } from "./service.js";
export { loadMasterCopy, type ProtectedMaster } from "./master-copy.js";
export { shippedModels, type ShippedModel } from "./shipped-models.js";
export { installShippedModels, type BootstrapResult } from "./bootstrap.js";
