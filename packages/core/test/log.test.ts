import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { createLogger, parseLogLevel } from "../src/log/logger.js";

describe("logging", () => {
  it("writes one JSON line per record with the name, at the configured level", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const log = createLogger({ name: "thermal", level: "warn", destination });
    log.info("hidden");
    log.warn({ zone: "die" }, "hot");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: "thermal", msg: "hot", zone: "die", level: 40 });
  });

  it("rejects an unknown level with the list of valid ones", () => {
    expect(parseLogLevel(" DEBUG ")).toBe("debug");
    expect(parseLogLevel(undefined)).toBe("info");
    expect(() => parseLogLevel("loud")).toThrow(/log level "loud" is not one of fatal, error, warn, info, debug, trace, silent/);
  });
});
