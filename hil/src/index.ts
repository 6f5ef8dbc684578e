export * from "./scenario/schema.js";
export * from "./scenario/load.js";
export * from "./report/report.js";
export { lineChart, decimate } from "./report/svg.js";
export { Environment, orbitSpecOf, type EnvironmentStep } from "./engine/environment.js";
export { EmulatedHardware } from "./engine/hardware.js";
export { HilRun, HIL_NODE, type HilRunOptions } from "./engine/run.js";
export * from "./orbit/index.js";
export * from "./models/index.js";
