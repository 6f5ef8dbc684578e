// A counter that adds on command, reports its value as telemetry, and raises
// an event when it passes a limit set by parameter. Small on purpose: it is
// the worked example of docs/writing-a-service.md.
import { CommandRejected, Service, command, defineService, type CommandHandlers, type ServiceContext } from "@umbra/core";
import { umbra } from "@umbra/proto";

export const counterSpec = defineService({
  name: "counter",
  apid: 0x7f0,
  description: "Example service: a counter with a limit",
  commands: {
    add: command(umbra.examples.v1.CounterAdd, {
      description: "Add an amount (-1000..1000, not 0) to the counter",
      // Declared, so the TTC refuses an out-of-range amount before it reaches us.
      arguments: { amount: { min: -1000, max: 1000, nonZero: true } },
    }),
    reset: command(umbra.examples.v1.CounterReset, {
      description: "Set the counter back to zero",
      critical: true,
    }),
  },
  telemetry: {
    count: { type: "int", description: "Current counter value", warning: { high: 900 }, critical: { high: 1000 } },
    overLimit: { type: "bool", description: "Counter is above the limit parameter" },
  },
  events: {
    limitExceeded: { id: 1, severity: "medium", description: "The counter went above its limit" },
    reset: { id: 2, severity: "info", description: "The counter was reset" },
  },
  parameters: {
    limit: { type: "int", default: 100, min: 1, max: 1_000_000, description: "Value above which limitExceeded is raised" },
    reportPeriodMs: { type: "int", default: 1000, min: 100, max: 60_000, unit: "ms", description: "Telemetry period" },
    frozen: { type: "bool", default: false, description: "When true, add is refused" },
  },
});

export class CounterService extends Service<typeof counterSpec> {
  private count = 0;
  private reportTimer: { cancel(): void } | undefined;

  constructor(context: ServiceContext) {
    super(counterSpec, context);
  }

  protected override onStart(): void {
    this.scheduleReports();
  }

  protected override onParametersChanged(changed: string[]): void {
    if (changed.includes("reportPeriodMs")) this.scheduleReports();
  }

  protected commands(): CommandHandlers<typeof counterSpec> {
    return {
      add: ({ amount }) => {
        if (this.parameters.get("frozen")) throw new CommandRejected("precondition", "counter is frozen");
        const wasOver = this.count > this.parameters.get("limit");
        this.count += Number(amount);
        const isOver = this.count > this.parameters.get("limit");
        if (isOver && !wasOver) this.event("limitExceeded", `counter ${this.count} is above limit ${this.parameters.get("limit")}`, { count: String(this.count) });
        this.report();
        return `count is ${this.count}`;
      },
      reset: () => {
        this.count = 0;
        this.event("reset", "counter reset to 0");
        this.report();
      },
    };
  }

  get value(): number {
    return this.count;
  }

  private scheduleReports(): void {
    this.reportTimer?.cancel();
    this.reportTimer = this.every(this.parameters.get("reportPeriodMs"), () => this.report());
  }

  private report(): void {
    this.telemetry({ count: this.count, overLimit: this.count > this.parameters.get("limit") });
  }
}
