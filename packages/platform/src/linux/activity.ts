// Compute activity on a board: deliberately does nothing with the report.
// On real hardware the processor's load is physical (the power monitor sees
// it, the die heats); nobody needs to be told. Only the HIL, which has no
// real processor under its model, listens for these reports. The argument
// check still runs, so a service that reports nonsense fails the same way
// on a board as on a bench.
import type { ActivityPort } from "../ports.js";
import { checkActivityReport } from "../activity.js";

export class LinuxActivity implements ActivityPort {
  report(source: string, busyCores: number): void {
    checkActivityReport(source, busyCores);
  }
}
