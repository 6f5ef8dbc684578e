// A command's declared argument rules (ServiceDeclaration.CommandDeclaration
// .arguments) in the shape checkArgumentRules from @umbra/core takes, so the
// gateway checks exactly what the TTC and the service check.
import type { ArgumentRuleSpec } from "@umbra/core";

export interface DeclaredRule {
  field: string;
  hasMin: boolean;
  min: number;
  hasMax: boolean;
  max: number;
  allowed: string[];
  nonZero: boolean;
}

export function ruleSpecs(rules: readonly DeclaredRule[]): [string, ArgumentRuleSpec][] {
  return rules.map((r) => [
    r.field,
    {
      ...(r.hasMin ? { min: r.min } : {}),
      ...(r.hasMax ? { max: r.max } : {}),
      ...(r.allowed.length ? { allowed: r.allowed } : {}),
      ...(r.nonZero ? { nonZero: true } : {}),
    },
  ]);
}
