// Structured logs for engineers: pino, one JSON line per record. Operators get
// events through TTC, not logs.
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from "pino";

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export interface LoggerConfig {
  /** Component name, e.g. the service or node name. */
  name: string;
  /** Level from config; falls back to UMBRA_LOG_LEVEL, then "info". */
  level?: string;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

export function parseLogLevel(value: string | undefined, fallback: LevelWithSilent = "info"): LevelWithSilent {
  if (value === undefined || value === "") return fallback;
  const level = value.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new RangeError(`log level ${JSON.stringify(value)} is not one of ${LOG_LEVELS.join(", ")}`);
  }
  return level as LevelWithSilent;
}

export function createLogger(config: LoggerConfig): Logger {
  const level = parseLogLevel(config.level ?? process.env["UMBRA_LOG_LEVEL"]);
  const options = { name: config.name, level, base: { pid: process.pid } };
  return config.destination ? pino(options, config.destination) : pino(options);
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
