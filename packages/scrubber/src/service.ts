// The scrubber service: the operators' view of memory protection on the
// payload. It aggregates the ScrubStatus every process's scrub agent
// publishes, reads the Linux EDAC counters through the platform port and
// reports them alongside, raises events when something changes, and tells
// the agents the shared configuration (ScrubConfig) and when to scrub at once
// (ScrubRequest). It runs a scrub agent of its own for tables it is given.
import { command, defineService, CommandRejected, type CommandHandlers, type MessageMeta, type ServiceContext } from "@umbra/core";
import { Service } from "@umbra/core";
import type { EdacCounts, EdacPort } from "@umbra/platform";
import { REGION_NAME } from "@umbra/platform";
import { umbra, type MessageOf } from "@umbra/proto";
import { DEFAULT_SCRUB_CONFIG, SCRUB_CONFIG_LIMITS, Scrubber, type ProtectedRegion, type ScrubberOptions, type ScrubConfigValues } from "@umbra/memory";

const { GoldenState } = umbra.scrubber.v1;
type ScrubStatus = MessageOf<typeof umbra.scrubber.v1.ScrubStatus>;

// 0x030 was the first choice, but the thermal governor holds it (docs/icd.md section 9).
export const SCRUBBER_APID = 0x050;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const scrubberSpec = defineService({
  name: "scrubber",
  apid: SCRUBBER_APID,
  description: "Memory scrubbing: SECDED + checksums over protected regions of every process, golden-copy repair, EDAC counters",
  commands: {
    scrubNow: command(umbra.scrubber.v1.ScrubNow, {
      description: "Scrub now, in full: every region, or those of one service (service), or one region (service and region)",
      check: ({ service, region }) => {
        if (service !== "" && !SERVICE_NAME.test(service)) return `service ${JSON.stringify(service.slice(0, 80))} is not a service name`;
        if (region !== "" && !REGION_NAME.test(region)) return `region ${JSON.stringify(region.slice(0, 80))} is not a region name`;
        if (region !== "" && service === "") return "a region needs its service";
        return undefined;
      },
    }),
  },
  telemetry: {
    regions: { type: "int", description: "Protected regions known (all processes)" },
    protectedBytes: { type: "int", unit: "B", description: "Bytes under protection (all regions)" },
    correctedBits: { type: "int", description: "Bits corrected (data and side tables) since this service started" },
    uncorrectableBlocks: { type: "int", description: "Blocks uncorrectable now, all regions", critical: { high: 0.5 } },
    uncorrectableDetected: { type: "int", description: "Uncorrectable blocks found since this service started" },
    repairedBlocks: { type: "int", description: "Blocks repaired from golden copies since this service started" },
    unusableRegions: { type: "int", description: "Regions with an uncorrectable block (their data must not be used)", critical: { high: 0.5 } },
    lastFullPassAgeS: { type: "float", unit: "s", description: "Age of the oldest last full pass over any region (since first seen if none yet)" },
    upsetRatePerBitDay: { type: "float", unit: "1/bit/day", description: "Highest upset rate the agents plan for (configured floor or observed)" },
    observedRatePerBitDay: { type: "float", unit: "1/bit/day", description: "Highest observed upset rate (corrections per bit per day)" },
    edacCorrectable: { type: "int", description: "Linux EDAC corrected errors, all memory controllers" },
    edacUncorrectable: { type: "int", description: "Linux EDAC uncorrected errors, all memory controllers", critical: { high: 0.5 } },
    edacOk: { type: "bool", description: "The last EDAC read succeeded" },
  },
  events: {
    singleCorrected: { id: 1, severity: "info", description: "Scrubbing corrected single-bit upsets in a region" },
    uncorrectable: { id: 2, severity: "high", description: "A block SECDED cannot correct (and no golden copy repaired it): the region's data is unusable" },
    repaired: { id: 3, severity: "medium", description: "Blocks were rewritten from a region's golden copy" },
    edacUncorrectable: { id: 4, severity: "high", description: "The EDAC uncorrected-error count of a memory controller went up" },
    goldenRejected: { id: 5, severity: "medium", description: "A golden copy was rejected (wrong hash or size, unreadable, not a copy): its region cannot be repaired" },
    edacCorrectable: { id: 6, severity: "low", description: "The EDAC corrected-error count of a memory controller went up" },
    edacReadFailed: { id: 7, severity: "low", description: "The EDAC counters could not be read" },
    regionUsable: { id: 8, severity: "info", description: "A region that had uncorrectable blocks is usable again" },
  },
  parameters: {
    cpuBudget: {
      type: "float",
      default: DEFAULT_SCRUB_CONFIG.cpuBudget,
      min: SCRUB_CONFIG_LIMITS.cpuBudget.min,
      max: SCRUB_CONFIG_LIMITS.cpuBudget.max,
      unit: "core",
      description: "CPU each process may spend scrubbing, fraction of one core",
    },
    assumedUpsetRatePerBitDay: {
      type: "float",
      default: DEFAULT_SCRUB_CONFIG.assumedUpsetRatePerBitDay,
      min: SCRUB_CONFIG_LIMITS.assumedUpsetRatePerBitDay.min,
      max: SCRUB_CONFIG_LIMITS.assumedUpsetRatePerBitDay.max,
      unit: "1/bit/day",
      description: "Upset rate scrubbing is planned for at least (raise it for the SAA or a solar particle event)",
    },
    targetUncorrectablePerYear: {
      type: "float",
      default: DEFAULT_SCRUB_CONFIG.targetUncorrectablePerYear,
      min: SCRUB_CONFIG_LIMITS.targetUncorrectablePerYear.min,
      max: SCRUB_CONFIG_LIMITS.targetUncorrectablePerYear.max,
      description: "Expected uncorrectable codewords per year and region that the scrub period aims below",
    },
    maxPassPeriodS: {
      type: "float",
      default: DEFAULT_SCRUB_CONFIG.maxPassPeriodS,
      min: SCRUB_CONFIG_LIMITS.maxPassPeriodS.min,
      max: SCRUB_CONFIG_LIMITS.maxPassPeriodS.max,
      unit: "s",
      description: "Every region is scrubbed in full at least this often",
    },
    tickMs: {
      type: "int",
      default: DEFAULT_SCRUB_CONFIG.tickMs,
      min: SCRUB_CONFIG_LIMITS.tickMs.min,
      max: SCRUB_CONFIG_LIMITS.tickMs.max,
      unit: "ms",
      description: "Scrub slice period of every agent",
    },
    reportPeriodMs: { type: "int", default: 10_000, min: 1000, max: 600_000, unit: "ms", description: "Telemetry period" },
    edacPeriodMs: { type: "int", default: 10_000, min: 1000, max: 600_000, unit: "ms", description: "EDAC read period" },
    configPeriodMs: { type: "int", default: 60_000, min: 1000, max: 3_600_000, unit: "ms", description: "ScrubConfig is published again this often (for agents that start later)" },
  },
});

export interface ScrubberServiceOptions {
  /** Linux EDAC counters (Platform.edac); without it, EDAC telemetry is not reported. */
  edac?: EdacPort;
  /** The service's own critical tables, protected by its own agent. */
  regions?: ProtectedRegion[];
  /** Passed to the service's own agent (service, bus, clock and logger are the service's). */
  agent?: Omit<ScrubberOptions, "bus" | "clock" | "service" | "logger">;
}

interface Known {
  status: ScrubStatus;
  firstSeenNs: bigint;
}

const zeroCounters = { correctedBits: 0n, correctedCheckBits: 0n, uncorrectableDetected: 0n, repairedBlocks: 0n };

function safeInt(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

export class ScrubberService extends Service<typeof scrubberSpec> {
  private readonly options: ScrubberServiceOptions;
  private agentInstance: Scrubber | undefined;
  private readonly known = new Map<string, Known>();
  private corrected = 0n;
  private uncorrectableTotal = 0n;
  private repaired = 0n;
  private edacPrevious = new Map<string, EdacCounts>();
  private edacTotals: { correctable: bigint; uncorrectable: bigint } | undefined;
  private edacOk = false;
  private edacReading = false;
  private edacFailedOnce = false;
  private requestCounter = 0;
  private periodic: { cancel(): void }[] = [];

  constructor(context: ServiceContext, options: ScrubberServiceOptions = {}) {
    super(scrubberSpec, context);
    this.options = options;
  }

  /** The service's own scrub agent (defined while running). */
  get agent(): Scrubber | undefined {
    return this.agentInstance;
  }

  /** The latest ScrubStatus of every region known, by "service/region". */
  statuses(): Map<string, ScrubStatus> {
    return new Map([...this.known].map(([k, v]) => [k, v.status]));
  }

  protected override onStart(): void {
    this.keep(this.bus.subscribe(umbra.scrubber.v1.ScrubStatus, (m, meta) => this.onStatus(m, meta)));
    this.agentInstance = new Scrubber({
      ...this.options.agent,
      bus: this.bus,
      clock: this.clock,
      service: this.name,
      logger: this.log,
      config: this.currentConfig(),
      // The service configures its own agent directly.
      followBusConfig: false,
    });
    for (const region of this.options.regions ?? []) this.agentInstance.protect(region);
    this.agentInstance.start();
    this.publishConfig();
    this.schedule();
  }

  protected override onStop(): void {
    for (const t of this.periodic) t.cancel();
    this.periodic = [];
    this.agentInstance?.close();
    this.agentInstance = undefined;
  }

  protected override onParametersChanged(changed: string[]): void {
    const configKeys = ["cpuBudget", "assumedUpsetRatePerBitDay", "targetUncorrectablePerYear", "maxPassPeriodS", "tickMs"];
    if (changed.some((c) => configKeys.includes(c))) {
      this.agentInstance?.configure(this.currentConfig());
      this.publishConfig();
    }
    if (changed.some((c) => ["reportPeriodMs", "edacPeriodMs", "configPeriodMs"].includes(c))) this.schedule();
  }

  protected commands(): CommandHandlers<typeof scrubberSpec> {
    return {
      scrubNow: ({ service, region }) => {
        if (service !== "" && region !== "" && !this.known.has(`${service}/${region}`)) {
          throw new CommandRejected("precondition", `no region ${JSON.stringify(region)} of service ${JSON.stringify(service)} is known`);
        }
        if (service !== "" && region === "" && ![...this.known.values()].some((k) => k.status.service === service)) {
          throw new CommandRejected("precondition", `no protected region of service ${JSON.stringify(service)} is known`);
        }
        const requestId = `scrub-${++this.requestCounter}`;
        this.bus.publish(umbra.scrubber.v1.ScrubRequest, { service, region, requestId }, { priority: umbra.bus.v1.Priority.PRIORITY_COMMAND });
        const what = region !== "" ? `${service}/${region}` : service !== "" ? `every region of ${service}` : "every region";
        return `scrub of ${what} requested (${requestId})`;
      },
    };
  }

  private currentConfig(): ScrubConfigValues {
    const p = this.parameters;
    return {
      cpuBudget: p.get("cpuBudget"),
      assumedUpsetRatePerBitDay: p.get("assumedUpsetRatePerBitDay"),
      targetUncorrectablePerYear: p.get("targetUncorrectablePerYear"),
      maxPassPeriodS: p.get("maxPassPeriodS"),
      tickMs: p.get("tickMs"),
    };
  }

  private publishConfig(): void {
    this.bus.publish(umbra.scrubber.v1.ScrubConfig, this.currentConfig(), { priority: umbra.bus.v1.Priority.PRIORITY_COMMAND });
  }

  private schedule(): void {
    for (const t of this.periodic) t.cancel();
    this.periodic = [
      this.every(this.parameters.get("reportPeriodMs"), () => this.report()),
      this.every(this.parameters.get("configPeriodMs"), () => this.publishConfig()),
    ];
    if (this.options.edac) {
      this.periodic.push(this.every(this.parameters.get("edacPeriodMs"), () => void this.readEdac()));
      void this.readEdac();
    }
  }

  private onStatus(m: ScrubStatus, _meta: MessageMeta): void {
    if (!SERVICE_NAME.test(m.service) || !REGION_NAME.test(m.region)) return; // not a status anyone could have sent on purpose
    const key = `${m.service}/${m.region}`;
    const known = this.known.get(key);
    if (m.sizeBytes === 0n) {
      this.known.delete(key);
      return;
    }
    let previous = known?.status ?? { ...zeroCounters, uncorrectableBlocks: 0, golden: GoldenState.GOLDEN_STATE_UNSPECIFIED, goldenDetail: "", usable: true };
    if (
      known &&
      (m.correctedBits < known.status.correctedBits ||
        m.correctedCheckBits < known.status.correctedCheckBits ||
        m.uncorrectableDetected < known.status.uncorrectableDetected ||
        m.repairedBlocks < known.status.repairedBlocks)
    ) {
      previous = { ...previous, ...zeroCounters }; // the owner restarted: its counters start again from zero
    }
    this.known.set(key, { status: m, firstSeenNs: known?.firstSeenNs ?? this.clock.nowTaiNs() });

    const where = { service: m.service, region: m.region };
    const corrected = m.correctedBits - previous.correctedBits + (m.correctedCheckBits - previous.correctedCheckBits);
    const uncorrectable = m.uncorrectableDetected - previous.uncorrectableDetected;
    const repaired = m.repairedBlocks - previous.repairedBlocks;
    this.corrected += corrected;
    this.uncorrectableTotal += uncorrectable;
    this.repaired += repaired;
    if (corrected > 0n) {
      this.event("singleCorrected", `${corrected} bit(s) corrected in ${key}`, { ...where, bits: String(corrected), total: String(m.correctedBits + m.correctedCheckBits) });
    }
    if (uncorrectable > 0n) {
      this.event("uncorrectable", `${uncorrectable} uncorrectable block(s) in ${key}; ${m.uncorrectableBlocks} now bad; ${m.usable ? "usable" : "data unusable until repaired or rewritten"}`, {
        ...where,
        blocks: String(uncorrectable),
        badNow: String(m.uncorrectableBlocks),
        golden: GoldenState[m.golden] ?? String(m.golden),
      });
    }
    if (repaired > 0n) this.event("repaired", `${repaired} block(s) of ${key} repaired from the golden copy`, { ...where, blocks: String(repaired) });
    if (m.golden === GoldenState.GOLDEN_STATE_REJECTED && (previous.golden !== m.golden || previous.goldenDetail !== m.goldenDetail)) {
      this.event("goldenRejected", `golden copy of ${key} rejected: ${m.goldenDetail}`.slice(0, 1000), { ...where, detail: m.goldenDetail.slice(0, 500) });
    }
    if (known && !known.status.usable && m.usable) this.event("regionUsable", `${key} is usable again`, where);
    if (corrected > 0n || uncorrectable > 0n || repaired > 0n) this.report();
  }

  private async readEdac(): Promise<void> {
    const port = this.options.edac;
    if (!port || this.edacReading) return;
    this.edacReading = true;
    let counts: EdacCounts[];
    try {
      counts = await port.read();
    } catch (err) {
      this.edacReading = false;
      if (this.agentInstance === undefined) return;
      if (this.edacOk || !this.edacFailedOnce) {
        this.edacFailedOnce = true;
        this.event("edacReadFailed", `EDAC counters could not be read: ${err instanceof Error ? err.message : String(err)}`.slice(0, 1000));
      }
      this.edacOk = false;
      return;
    }
    this.edacReading = false;
    if (this.agentInstance === undefined) return; // stopped while reading
    let correctable = 0n;
    let uncorrectable = 0n;
    for (const c of counts) {
      correctable += c.correctable;
      uncorrectable += c.uncorrectable;
      const before = this.edacPrevious.get(c.controller);
      // The first read is the baseline: counts from before we started are not news.
      if (before) {
        if (c.uncorrectable > before.uncorrectable) {
          this.event("edacUncorrectable", `EDAC ${c.controller}: ${c.uncorrectable - before.uncorrectable} new uncorrected error(s) (total ${c.uncorrectable})`, {
            controller: c.controller,
            increase: String(c.uncorrectable - before.uncorrectable),
            total: String(c.uncorrectable),
          });
        }
        if (c.correctable > before.correctable) {
          this.event("edacCorrectable", `EDAC ${c.controller}: ${c.correctable - before.correctable} new corrected error(s) (total ${c.correctable})`, {
            controller: c.controller,
            increase: String(c.correctable - before.correctable),
            total: String(c.correctable),
          });
        }
      }
    }
    this.edacPrevious = new Map(counts.map((c) => [c.controller, c]));
    this.edacTotals = { correctable, uncorrectable };
    this.edacOk = true;
  }

  private report(): void {
    const now = this.clock.nowTaiNs();
    let bytes = 0n;
    let bad = 0;
    let unusable = 0;
    let oldest = 0;
    let planned = 0;
    let observed = 0;
    for (const { status, firstSeenNs } of this.known.values()) {
      bytes += status.sizeBytes;
      bad += status.uncorrectableBlocks;
      if (!status.usable) unusable++;
      const since = status.lastFullPassNs > 0n ? status.lastFullPassNs : firstSeenNs;
      oldest = Math.max(oldest, Number(now - since) / 1e9);
      planned = Math.max(planned, status.upsetRatePerBitDay);
      observed = Math.max(observed, status.observedRatePerBitDay);
    }
    this.telemetry({
      regions: this.known.size,
      protectedBytes: safeInt(bytes),
      correctedBits: safeInt(this.corrected),
      uncorrectableBlocks: bad,
      uncorrectableDetected: safeInt(this.uncorrectableTotal),
      repairedBlocks: safeInt(this.repaired),
      unusableRegions: unusable,
      lastFullPassAgeS: oldest,
      upsetRatePerBitDay: planned,
      observedRatePerBitDay: observed,
      ...(this.options.edac
        ? {
            edacOk: this.edacOk,
            ...(this.edacTotals ? { edacCorrectable: safeInt(this.edacTotals.correctable), edacUncorrectable: safeInt(this.edacTotals.uncorrectable) } : {}),
          }
        : {}),
    });
  }
}
