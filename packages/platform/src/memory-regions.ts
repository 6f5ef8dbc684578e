// Named memory regions a service puts under the fault injector's reach (and,
// later, under the scrubber's protection): model weights, critical tables.
//
// The registry holds views (Uint8Array) of the service's live buffers, not
// copies: a FlipBits request XORs bits into the very memory the service
// computes with. That is the point: the HIL fault injector emulates single
// event upsets in the buffers that matter.
import type { Bus, Subscription, TimerHandle } from "@umbra/core";
import { umbra } from "@umbra/proto";

/** Region names: like node names, plus "/" for grouping ("model/weights"). */
export const REGION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
/** Most bit offsets one FlipBits request may carry. */
export const MAX_FLIP_OFFSETS = 64;
export const DEFAULT_MAX_REGIONS = 256;
/** Largest region, bytes (4 GiB; bit offsets then still fit a double exactly). */
export const DEFAULT_MAX_REGION_BYTES = 2 ** 32;

/** Misuse of the registry by the service that owns it (a programming error, thrown at once). */
export class MemoryRegionError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "MemoryRegionError";
  }
}

export interface MemoryRegion {
  readonly name: string;
  /** The live buffer (a view; never copied). */
  readonly bytes: Uint8Array;
}

export interface MemoryRegionRegistryOptions {
  /** Default 256. */
  maxRegions?: number;
  /** Default 4 GiB. */
  maxRegionBytes?: number;
}

export type RegionChange = { kind: "registered" | "unregistered"; region: MemoryRegion };

export type FlipOutcome = { applied: true } | { applied: false; error: string };

function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) throw new MemoryRegionError(`${what} must be a positive integer, got ${String(value)}`);
  return value;
}

export class MemoryRegionRegistry {
  readonly maxRegions: number;
  readonly maxRegionBytes: number;
  private readonly regions = new Map<string, MemoryRegion>();
  private readonly listeners = new Set<(change: RegionChange) => void>();

  constructor(options: MemoryRegionRegistryOptions = {}) {
    this.maxRegions = positiveInteger(options.maxRegions ?? DEFAULT_MAX_REGIONS, "maxRegions");
    this.maxRegionBytes = positiveInteger(options.maxRegionBytes ?? DEFAULT_MAX_REGION_BYTES, "maxRegionBytes");
    if (this.maxRegionBytes > DEFAULT_MAX_REGION_BYTES) throw new MemoryRegionError(`maxRegionBytes must be at most ${DEFAULT_MAX_REGION_BYTES}`);
  }

  /**
   * Registers a live buffer under a name. Throws MemoryRegionError for a bad
   * name, a duplicate name, an empty or oversized buffer, too many regions,
   * or a buffer that overlaps one already registered (a flip would land in two).
   */
  register(name: string, bytes: Uint8Array): MemoryRegion {
    if (typeof name !== "string" || !REGION_NAME.test(name)) {
      throw new MemoryRegionError(`region name ${JSON.stringify(typeof name === "string" ? name.slice(0, 80) : name)} must match ${REGION_NAME.source}`);
    }
    if (this.regions.has(name)) throw new MemoryRegionError(`region ${JSON.stringify(name)} is already registered`);
    if (!(bytes instanceof Uint8Array)) throw new MemoryRegionError(`region ${JSON.stringify(name)}: bytes must be a Uint8Array`);
    if (bytes.length === 0) throw new MemoryRegionError(`region ${JSON.stringify(name)} is empty`);
    if (bytes.length > this.maxRegionBytes) throw new MemoryRegionError(`region ${JSON.stringify(name)} has ${bytes.length} bytes; at most ${this.maxRegionBytes}`);
    if (this.regions.size >= this.maxRegions) throw new MemoryRegionError(`cannot register ${JSON.stringify(name)}: already ${this.maxRegions} regions`);
    for (const other of this.regions.values()) {
      if (other.bytes.buffer !== bytes.buffer) continue;
      const start = bytes.byteOffset;
      const end = start + bytes.byteLength;
      const otherStart = other.bytes.byteOffset;
      const otherEnd = otherStart + other.bytes.byteLength;
      if (start < otherEnd && otherStart < end) throw new MemoryRegionError(`region ${JSON.stringify(name)} overlaps region ${JSON.stringify(other.name)}`);
    }
    const region: MemoryRegion = Object.freeze({ name, bytes });
    this.regions.set(name, region);
    this.emit({ kind: "registered", region });
    return region;
  }

  /** Removes a region; false if there was none of that name. */
  unregister(name: string): boolean {
    const region = this.regions.get(name);
    if (!region) return false;
    this.regions.delete(name);
    this.emit({ kind: "unregistered", region });
    return true;
  }

  get(name: string): MemoryRegion | undefined {
    return this.regions.get(name);
  }

  /** In order of registration. */
  list(): MemoryRegion[] {
    return [...this.regions.values()];
  }

  get size(): number {
    return this.regions.size;
  }

  /** Called after every register/unregister; returns the function that removes the listener. */
  onChange(listener: (change: RegionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * XORs each bit offset (from the start of the region; bit 0 is the least
   * significant bit of byte 0) into the region. All or nothing: any unknown
   * region, offset out of range, duplicate, or more than MAX_FLIP_OFFSETS
   * offsets, and nothing is changed.
   */
  flipBits(name: string, offsets: readonly (bigint | number)[]): FlipOutcome {
    const region = this.regions.get(name);
    if (!region) {
      const known = this.list().map((r) => r.name);
      return { applied: false, error: `unknown region ${JSON.stringify(name.slice(0, 80))} (have ${known.length ? known.join(", ") : "none"})` };
    }
    if (offsets.length === 0) return { applied: false, error: "no bit offsets given" };
    if (offsets.length > MAX_FLIP_OFFSETS) return { applied: false, error: `${offsets.length} bit offsets; at most ${MAX_FLIP_OFFSETS} per request` };
    // A buffer that was transferred or a resizable one that shrank reads as shorter.
    if (region.bytes.length === 0) return { applied: false, error: `region ${JSON.stringify(name)} is no longer backed by memory (its buffer was detached)` };
    const bits = BigInt(region.bytes.length) * 8n;
    const seen = new Set<bigint>();
    for (const raw of offsets) {
      let offset: bigint;
      if (typeof raw === "bigint") offset = raw;
      else if (typeof raw === "number" && Number.isSafeInteger(raw)) offset = BigInt(raw);
      else return { applied: false, error: `bit offset ${String(raw)} is not an integer` };
      if (offset < 0n) return { applied: false, error: `bit offset ${offset} is negative` };
      if (offset >= bits) return { applied: false, error: `bit offset ${offset} is beyond region ${JSON.stringify(name)} (${bits} bits)` };
      if (seen.has(offset)) return { applied: false, error: `bit offset ${offset} is given twice` };
      seen.add(offset);
    }
    for (const offset of seen) {
      const byte = Number(offset >> 3n);
      region.bytes[byte] = region.bytes[byte]! ^ (1 << Number(offset & 7n));
    }
    return { applied: true };
  }

  private emit(change: RegionChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not undo or fail the registration.
      }
    }
  }
}

export interface FlipEvent {
  region: string;
  bitOffsets: bigint[];
  injectionId: string;
  source: string;
  outcome: FlipOutcome;
}

export interface FaultInjectionOptions {
  /** The owning service's name: MemoryRegionInfo.service, FlipBits.service and the FlipBits target. */
  service: string;
  /**
   * This process's bus node. FlipBits addressed to it (rather than to the
   * service name) are served too, for the service whose `service` field they
   * name. Default bus.node.
   */
  node?: string;
  /** Publish every region's MemoryRegionInfo again at this period (bus clock ms); 0 = never (default). */
  announceIntervalMs?: number;
  /** Called after every FlipBits this service answered, applied or not (for the service's own log or event). */
  onFlip?: (event: FlipEvent) => void;
}

/** What attachFaultInjection returns; a core Subscription, so a Service can keep() it. */
export interface FaultInjection extends Subscription {
  /** Publishes MemoryRegionInfo for every region now. */
  announce(): void;
  close(): void;
}

const FLIP_TOPIC = "umbra.platform.v1.FlipBits";

/**
 * Puts a registry under the HIL fault injector's reach:
 * - publishes MemoryRegionInfo for every region now, on each register, and
 *   (size_bytes 0) on each unregister; again on announce() and, if set,
 *   every announceIntervalMs;
 * - serves FlipBits (target = service, or node) with FlipBitsResult: all or
 *   nothing, see MemoryRegionRegistry.flipBits.
 */
export function attachFaultInjection(bus: Bus, registry: MemoryRegionRegistry, options: FaultInjectionOptions): FaultInjection {
  const { service } = options;
  const node = options.node ?? bus.node;
  for (const [what, value] of [["service", service], ["node", node]] as const) {
    if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(value)) {
      throw new RangeError(`attachFaultInjection: ${what} ${JSON.stringify(value)} must match [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}`);
    }
  }
  const period = options.announceIntervalMs ?? 0;
  if (typeof period !== "number" || !Number.isFinite(period) || period < 0) {
    throw new RangeError(`attachFaultInjection: announceIntervalMs must be a number >= 0, got ${String(period)}`);
  }

  const publish = (region: string, sizeBytes: number): void => {
    try {
      bus.publish(umbra.platform.v1.MemoryRegionInfo, { service, region, sizeBytes: BigInt(sizeBytes) });
    } catch {
      // A closed bus must not fail the service's register() call.
    }
  };
  const announce = (): void => {
    for (const r of registry.list()) publish(r.name, r.bytes.length);
  };

  const handle = (request: { service: string; region: string; bitOffsets: bigint[]; injectionId: string }, source: string) => {
    const outcome = registry.flipBits(request.region, request.bitOffsets);
    try {
      options.onFlip?.({ region: request.region, bitOffsets: request.bitOffsets, injectionId: request.injectionId, source, outcome });
    } catch {
      // The flip happened (or not) regardless; the reply must say which.
    }
    return { injectionId: request.injectionId, applied: outcome.applied, error: outcome.applied ? "" : outcome.error };
  };

  const servers: Subscription[] = [
    bus.serve(
      umbra.platform.v1.FlipBits,
      umbra.platform.v1.FlipBitsResult,
      (request, meta) => {
        if (request.service !== service) {
          // Untargeted: some other service's. Targeted at our name: a malformed request; say so.
          if (meta.target === "") return undefined;
          return { injectionId: request.injectionId, applied: false, error: `this is service ${JSON.stringify(service)}; the request names ${JSON.stringify(request.service.slice(0, 80))}` };
        }
        return handle(request, meta.source);
      },
      { target: service },
    ),
  ];
  if (node !== service) {
    // Only requests addressed to the node: an untargeted one is already taken by the server above.
    servers.push(
      bus.serve(
        umbra.platform.v1.FlipBits,
        umbra.platform.v1.FlipBitsResult,
        (request, meta) => (meta.target === node && request.service === service ? handle(request, meta.source) : undefined),
        { target: node },
      ),
    );
  }

  const stopListening = registry.onChange((change) => publish(change.region.name, change.kind === "registered" ? change.region.bytes.length : 0));
  const timer: TimerHandle | undefined = period > 0 ? bus.clock.setInterval(announce, period) : undefined;
  announce();

  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    timer?.cancel();
    stopListening();
    for (const s of servers) s.unsubscribe();
  };
  return { topic: FLIP_TOPIC, announce, close, unsubscribe: close };
}
