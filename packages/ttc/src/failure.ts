// A command's failure at some stage: the PUS ST[01] failure code that goes in
// the report, and why (the reason text).
import { umbra } from "@umbra/proto";

export type FailureCode = umbra.ttc.v1.FailureCode;
export const FailureCode = umbra.ttc.v1.FailureCode;

export class Failure extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
  ) {
    super(message);
  }
}
