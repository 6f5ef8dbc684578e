export { ServiceHarness, type HarnessOptions, type Received } from "./harness.js";
export { SimClock } from "../time/sim-clock.js";
