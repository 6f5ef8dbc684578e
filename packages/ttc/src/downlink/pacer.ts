import { InvalidFieldError } from "../store/errors.js";
import * as v from "../store/validate.js";
import type { DownlinkPacket, Lease } from "./queue.js";

/** What the pacer needs of the queue (DownlinkQueue has it). */
export interface PacerQueue {
  takeNext(maxBytes: number): Lease | null;
  confirm(leaseId: number, sentNs: bigint): number;
  release(leaseId: number): number;
  headBytes(): number | null;
}

/** What the pacer needs of the contact plan (ContactPlan has it). */
export interface PacerPlan {
  budget(fromNs: bigint, toNs: bigint): number;
}

/**
 * The link layer: sends the packets, in order, and resolves true once the
 * link confirmed them, false when the link was lost before confirmation.
 */
export type SendPackets = (packets: readonly DownlinkPacket[]) => Promise<boolean>;

export interface DownlinkPacerOptions {
  readonly queue: PacerQueue;
  readonly plan: PacerPlan;
  readonly send: SendPackets;
  /** Hardware limit of the transmitter, bytes per second: caps what the plan allows (default: no cap). */
  readonly linkBytesPerSecond?: number;
}

/**
 * - `no-contact`: the plan allows nothing in this tick (the bucket is emptied).
 * - `idle`: in contact, nothing queued.
 * - `accumulating`: the first queued packet is bigger than the tokens (it is
 *   bigger than one tick's worth, and the bucket is filling up to its size).
 * - `sent`: a lease went out and was confirmed.
 * - `link-failed`: send resolved false or threw; the lease was released.
 * - `busy`: the previous tick's send has not finished; this tick did nothing.
 */
export type TickOutcome = "no-contact" | "idle" | "accumulating" | "sent" | "link-failed" | "busy";

export interface TickResult {
  readonly outcome: TickOutcome;
  /** Bytes this tick added: the plan's budget for [nowNs, nowNs + dtNs), capped by the link rate. */
  readonly tickBytes: number;
  /** Tokens in the bucket when the lease was taken. */
  readonly allowanceBytes: number;
  readonly leaseId: number | null;
  readonly sentPackets: number;
  readonly sentBytes: number;
  /** What send threw, for `link-failed` by exception. */
  readonly error?: unknown;
}

/**
 * The token bucket, as a pure function: the tokens after refilling with one
 * tick's worth (`tickBytes`). The bucket holds at most one tick's worth, so
 * there is never a burst beyond it, except when the first queued packet
 * (`headBytes`) is itself bigger than a tick's worth: then the bucket may
 * fill up to that packet's size over several ticks, or it could never go.
 * A tick with no contact (`tickBytes` 0) empties the bucket: nothing saved
 * outside a window is spent in the next one.
 */
export function refillTokens(tokens: number, tickBytes: number, headBytes: number | null): number {
  if (tickBytes <= 0) return 0;
  const capacity = Math.max(tickBytes, headBytes ?? 0);
  return Math.min(Math.max(tokens, 0) + tickBytes, capacity);
}

/**
 * Paces the downlink: each tick, works out how many bytes may go out (from
 * the contact plan and the link rate, through {@link refillTokens}), leases
 * that much from the queue in order of service, hands the lease to `send`,
 * then confirms it (true) or releases it (false, or send threw). Nothing is
 * removed from the queue before `send` says it went out.
 *
 * The caller drives it: `await pacer.tick(nowNs, dtNs)` from its timer, with
 * dtNs the tick period. One send at a time: a tick that comes while the
 * previous send is pending returns `busy` and does nothing. Holds no I/O of
 * its own; its only state is the token count.
 */
export class DownlinkPacer {
  readonly #queue: PacerQueue;
  readonly #plan: PacerPlan;
  readonly #send: SendPackets;
  readonly #linkRate: bigint | null;
  #tokens = 0;
  #busy = false;

  constructor(options: DownlinkPacerOptions) {
    const o = v.record("options", options);
    if (typeof o["send"] !== "function") throw new InvalidFieldError("send", "must be a function");
    if (typeof o["queue"] !== "object" || o["queue"] === null) throw new InvalidFieldError("queue", "must be a queue");
    if (typeof o["plan"] !== "object" || o["plan"] === null) throw new InvalidFieldError("plan", "must be a contact plan");
    this.#queue = options.queue;
    this.#plan = options.plan;
    this.#send = options.send;
    this.#linkRate =
      o["linkBytesPerSecond"] === undefined
        ? null
        : BigInt(v.intInRange("linkBytesPerSecond", o["linkBytesPerSecond"], 1, Number.MAX_SAFE_INTEGER));
  }

  /** Tokens in the bucket now (bytes). */
  get tokens(): number {
    return this.#tokens;
  }

  /** Whether a send is pending. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Empties the bucket (e.g. after a long pause in ticking). */
  reset(): void {
    this.#tokens = 0;
  }

  /** One tick at `nowNs`, covering [nowNs, nowNs + dtNs). Confirms with `sentNs = nowNs`. */
  async tick(nowNs: bigint, dtNs: bigint): Promise<TickResult> {
    const now = v.timeNs("nowNs", nowNs);
    const dt = v.timeNs("dtNs", dtNs);
    if (dt === 0n) throw new InvalidFieldError("dtNs", "must be positive");
    const none = { leaseId: null, sentPackets: 0, sentBytes: 0 };
    if (this.#busy) return { outcome: "busy", tickBytes: 0, allowanceBytes: this.#tokens, ...none };
    this.#busy = true;
    try {
      let tickBytes = this.#plan.budget(now, now + dt);
      if (this.#linkRate !== null) tickBytes = Math.min(tickBytes, Number((this.#linkRate * dt) / 1_000_000_000n));
      const head = this.#queue.headBytes();
      this.#tokens = refillTokens(this.#tokens, tickBytes, head);
      const allowanceBytes = this.#tokens;
      if (tickBytes <= 0) return { outcome: "no-contact", tickBytes: 0, allowanceBytes, ...none };
      if (head === null) return { outcome: "idle", tickBytes, allowanceBytes, ...none };
      const lease = this.#queue.takeNext(this.#tokens);
      if (lease === null) return { outcome: "accumulating", tickBytes, allowanceBytes, ...none };
      let ok: boolean;
      try {
        ok = (await this.#send(lease.packets)) === true;
      } catch (error) {
        this.#queue.release(lease.leaseId);
        this.#tokens = 0;
        return { outcome: "link-failed", tickBytes, allowanceBytes, ...none, leaseId: lease.leaseId, error };
      }
      if (!ok) {
        this.#queue.release(lease.leaseId);
        this.#tokens = 0;
        return { outcome: "link-failed", tickBytes, allowanceBytes, ...none, leaseId: lease.leaseId };
      }
      this.#queue.confirm(lease.leaseId, now);
      this.#tokens -= lease.bytes;
      return {
        outcome: "sent",
        tickBytes,
        allowanceBytes,
        leaseId: lease.leaseId,
        sentPackets: lease.packets.length,
        sentBytes: lease.bytes,
      };
    } finally {
      this.#busy = false;
    }
  }
}
