// The values a field takes when the file leaves it out. config/umbra.yaml
// writes these same values out with comments; a test keeps the two equal.
import type { PayloadConfigFile, ServiceName } from "./types.js";

/** Where the launcher looks for the configuration, relative to the working directory. */
export const DEFAULT_CONFIG_FILE = "config/umbra.yaml";

/** The file layout's defaults; paths still relative to the working directory. `bus.socket` defaults to `<paths.run>/bus.sock`. */
export const CONFIG_DEFAULTS = {
  platform: "hil",
  paths: { data: ".umbra/data", run: ".umbra/run", keys: ".umbra/keys.json", reports: ".umbra/reports" },
  hil: { scenario: "hil/scenarios/stack-demo.yaml", speed: 60 },
  watchdog: { enabled: true, timeoutS: 120, kickIntervalS: 10 },
  boot: { stableAfterS: 300, loopThreshold: 3 },
  safeMode: { keep: ["ttc", "thermal", "gateway"], minBatterySocPct: 15, onThermalEmergency: true },
  supervisor: { statusIntervalS: 10 },
  defaults: {
    heartbeatTimeoutS: 5,
    startTimeoutS: 30,
    stopTimeoutS: 10,
    restart: { initialBackoffS: 1, factor: 2, maxBackoffS: 30, maxFailures: 5, windowS: 300 },
  },
  inference: { models: ["tiny-cls", "tiny-seg", "ocr-cls"] },
  gateway: { host: "127.0.0.1", port: 8080, spi: 2, sourceId: 33 },
} as const satisfies Omit<PayloadConfigFile, "paths" | "bus" | "services" | "gateway" | "safeMode" | "inference"> & {
  paths: Omit<PayloadConfigFile["paths"], "models">;
  safeMode: { keep: readonly ServiceName[]; minBatterySocPct: number; onThermalEmergency: boolean };
  inference: { models: readonly string[] };
  gateway: Omit<PayloadConfigFile["gateway"], "rawTcpPort" | "rawUdpPort">;
};

/** Services that are off unless the file turns them on. */
export const DISABLED_BY_DEFAULT: readonly ServiceName[] = ["counter"];

/** The bus socket's file name inside paths.run when bus.socket is not given. */
export const BUS_SOCKET_NAME = "bus.sock";
