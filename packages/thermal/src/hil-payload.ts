// The HIL bench payload's thermal model and tuned gains: used by
// `umbra-thermal --platform hil` and by `pnpm bench thermal`, so the stack
// runs with the figures the benchmark measured.
import type { ThermalConfig } from "./config.js";

/**
 * The HIL's emulated payload (hil/src/scenario/schema.ts `hardware:` defaults:
 * policy0 at 600/1000/1400/1800 MHz) as the
 * governor models it: the kernel-style energy model of each actor.
 * A scenario that changes the cpufreq steps needs a config file with a table
 * for them; the service refuses a table that misses a step, naming it.
 */
export const HIL_CONFIG: ThermalConfig = {
  cpu: {
    tables: {
      policy0: [
        { khz: 600_000, watts: 6 },
        { khz: 1_000_000, watts: 11 },
        { khz: 1_400_000, watts: 19 },
        { khz: 1_800_000, watts: 32 },
      ],
    },
  },
  accelerator: {
    levels: [
      { level: 0, watts: 0 },
      { level: 1, watts: 4 },
      { level: 2, watts: 7 },
      { level: 3, watts: 10 },
    ],
  },
  jobs: { minSlots: 1, maxSlots: 4, slotW: 1.5 },
};

/** Site defaults for the HIL payload: the gains the bench tuned (packages/thermal/README.md, Tuning). */
export const HIL_PARAMETERS: Record<string, number> = {
  sustainablePowerW: 30,
  kPo: 3,
  kPu: 6,
  kI: 0.02,
  integralMaxW: 25,
  conservativeBudgetW: 15,
};

