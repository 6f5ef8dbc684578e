// Building telecommands the way ground software does: PUS-C TCs with the
// security header and MAC. Used by the tests, the benchmark and (later) the
// gateway and CLI; the payload side never needs it.
import { Ack, secureTc, taiNsToCuc, type CucFormat, type KeyStore } from "@umbra/ccsds";
import { codecFor, type GeneratedMessageClass, type InitOf } from "@umbra/proto";
import { encodeFunctionCall, encodeInsertActivities, encodeParameterNames, encodeParameterValues, encodeRequestIds, encodeTimeShift, type ParamValue, type RequestId } from "./app-data.js";

export interface GroundOptions {
  keys: KeyStore;
  spi: number;
  sourceId?: number;
  /** First anti-replay sequence number (default 1). */
  securitySequence?: number;
  timeFormat?: CucFormat;
  /** Sequence count each APID starts at (default 0); a ground system carries on where it stopped. */
  firstSequenceCount?: number;
}

/** A ground station's commanding state: per-APID sequence counts and the security sequence. */
export class TcBuilder {
  private readonly counts = new Map<number, number>();
  securitySequence: number;
  spi: number;
  readonly sourceId: number;

  constructor(private readonly options: GroundOptions) {
    this.securitySequence = options.securitySequence ?? 1;
    this.spi = options.spi;
    this.sourceId = options.sourceId ?? 1;
  }

  /** The next sequence count for an APID (wraps at 16384). */
  nextCount(apid: number): number {
    const n = this.counts.get(apid) ?? (this.options.firstSequenceCount ?? 0) & 0x3fff;
    this.counts.set(apid, (n + 1) & 0x3fff);
    return n;
  }

  tc(apid: number, service: number, subtype: number, appData: Uint8Array = new Uint8Array(0), ack = Ack.ALL, sequenceCount = this.nextCount(apid)): Uint8Array {
    return secureTc(
      { apid, sequenceCount, ack, service, subtype, sourceId: this.sourceId, appData, spi: this.spi, securitySequence: this.securitySequence++ },
      this.options.keys,
    );
  }

  areYouAlive(apid: number): Uint8Array {
    return this.tc(apid, 17, 1);
  }

  /** ST[08,1]: a declared command by name with its argument message. */
  perform<C extends GeneratedMessageClass>(apid: number, name: string, type: C, args: InitOf<C>, ack = Ack.ALL): Uint8Array {
    return this.tc(apid, 8, 1, encodeFunctionCall({ name, args: codecFor(type).encode(args as never) }), ack);
  }

  reportParameters(apid: number, names: string[] = []): Uint8Array {
    return this.tc(apid, 20, 1, encodeParameterNames(names));
  }

  setParameters(apid: number, values: { name: string; value: ParamValue }[]): Uint8Array {
    return this.tc(apid, 20, 3, encodeParameterValues(values));
  }

  /** ST[11,4]: each activity is a complete TC released at its mission time. */
  schedule(ttcApid: number, items: { releaseNs: bigint; packet: Uint8Array }[]): Uint8Array {
    return this.tc(ttcApid, 11, 4, encodeInsertActivities(items.map((i) => ({ release: taiNsToCuc(i.releaseNs, this.options.timeFormat), packet: i.packet })), this.options.timeFormat));
  }

  deleteActivities(ttcApid: number, ids: RequestId[]): Uint8Array {
    return this.tc(ttcApid, 11, 5, encodeRequestIds(ids));
  }

  timeShift(ttcApid: number, deltaMs: bigint): Uint8Array {
    return this.tc(ttcApid, 11, 15, encodeTimeShift(deltaMs));
  }
}
