/**
 * Physical models of the HIL environment: seeded RNG, electrical power, thermal, radiation.
 * Pure and deterministic: no I/O, no clock, randomness only from `Rng`.
 */
export * from "./rng.js";
export * from "./power.js";
export * from "./thermal.js";
export * from "./radiation.js";
export * from "./validate.js";
