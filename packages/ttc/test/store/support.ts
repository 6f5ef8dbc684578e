import { tempDir as sharedTempDir } from "../support/temp.js";
import type { ReceivedCommand } from "../../src/store/command-history.js";
import type { ScheduleItemInput } from "../../src/store/schedule-store.js";

/** A fresh directory under os.tmpdir(), removed after the file's tests. */
export function tempDir(prefix = "umbra-ttc-store-"): () => string {
  return sharedTempDir(prefix);
}

export const T0 = 2_200_000_000_000_000_000n; // a mission time around 2.2e18 ns TAI
export const SECOND = 1_000_000_000n;

export function cmd(over: Partial<ReceivedCommand> = {}): ReceivedCommand {
  return {
    receivedNs: T0,
    link: "rf",
    apid: 100,
    sequenceCount: 0,
    sourceId: 7,
    service: 17,
    subtype: 1,
    spi: 1,
    packet: Uint8Array.from([0x18, 0x64, 0xc0, 0x00, 0x00, 0x04, 0x2f, 0x11, 0x01, 0x00, 0x07]),
    ...over,
  };
}

export function activity(over: Partial<ScheduleItemInput> = {}): ScheduleItemInput {
  return {
    releaseNs: T0 + 60n * SECOND,
    apid: 200,
    sequenceCount: 1,
    sourceId: 7,
    packet: Uint8Array.from([0x18, 0xc8, 0xc0, 0x01, 0x00, 0x01, 0xaa]),
    ...over,
  };
}
