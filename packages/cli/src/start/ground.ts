// Ground commanding for the demo and the workload: what ground software would
// send, authenticated with the key file's demo SPI, and each command's outcome
// as the TTC verifies it.
import { loadKeyFile } from "@umbra/ccsds";
import type { Bus } from "@umbra/core";
import { umbra, type GeneratedMessageClass, type InitOf, type MessageOf } from "@umbra/proto";
import { TcBuilder } from "@umbra/ttc";

export type Verification = MessageOf<typeof umbra.ttc.v1.Verification>;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A failed verification as "FAILURE_CODE: detail". */
export const failure = (v: Verification) => `${umbra.ttc.v1.FailureCode[v.code]}: ${v.detail}`;

interface Waiter {
  service: string;
  command: string;
  resolve(v: Verification): void;
}

export class Ground {
  readonly #waiting = new Set<Waiter>();
  #builder: TcBuilder | undefined;

  constructor(
    private readonly hub: Bus,
    private readonly keysFile: string,
    private readonly spi: number,
    private readonly isStopping: () => boolean,
  ) {
    // The TTC's verification of a command: its completion, or the first failure.
    hub.subscribe(umbra.ttc.v1.Verification, (v) => {
      for (const w of this.#waiting) {
        if (w.service === v.service && w.command === v.command && (!v.success || v.stage === umbra.ttc.v1.VerificationStage.VERIFICATION_STAGE_COMPLETION)) w.resolve(v);
      }
    });
  }

  /** Polls `probe` every 200 ms until it returns something; rejects after `ms` or when the stack stops. */
  async until<T>(probe: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      if (this.isStopping()) throw new Error("stopping");
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
      await sleep(200);
    }
  }

  /** The next completion or failure of service.command. */
  outcome(service: string, command: string, timeoutMs = 20_000): Promise<Verification> {
    let timer: NodeJS.Timeout | undefined;
    let waiter: Waiter | undefined;
    const p = new Promise<Verification>((resolve, reject) => {
      waiter = { service, command, resolve };
      this.#waiting.add(waiter);
      timer = setTimeout(() => reject(new Error(`no verification of ${service}.${command} within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    return p.finally(() => {
      clearTimeout(timer);
      if (waiter) this.#waiting.delete(waiter);
    });
  }

  /** A ground system carries its counters on; this one stands in with the clock. */
  async builder(): Promise<TcBuilder> {
    this.#builder ??= new TcBuilder({
      keys: await loadKeyFile(this.keysFile),
      spi: this.spi,
      securitySequence: Math.floor(Date.now() / 1000) % 4_000_000_000,
      firstSequenceCount: Math.floor(Date.now() / 1000),
    });
    return this.#builder;
  }

  uplink(packet: Uint8Array): void {
    this.hub.publish(umbra.ttc.v1.TcUplink, { packet, link: "demo" });
  }

  /** One ST[8] telecommand through the TTC; resolves with its completion or first failure. */
  async telecommand<C extends GeneratedMessageClass>(apid: number, service: string, name: string, type: C, args: InitOf<C>): Promise<Verification> {
    const builder = await this.builder();
    const done = this.outcome(service, name);
    this.uplink(builder.perform(apid, name, type, args));
    return done;
  }

  describeModel(model: string, timeoutMs = 1000): Promise<MessageOf<typeof umbra.inference.v1.ModelInfo>> {
    return this.hub.request(umbra.inference.v1.DescribeModel, { model }, umbra.inference.v1.ModelInfo, { target: "inference", timeoutMs });
  }
}
