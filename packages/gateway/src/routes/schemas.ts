// JSON Schemas of the REST shapes, for validation of what comes in and for
// the OpenAPI document (@fastify/swagger reads them from the routes).
// Responses are documented here but serialised with JSON.stringify, so a
// schema here can never drop or coerce a field the code sends.

export const errorSchema = {
  type: "object",
  description: "Every error: a short code and a reason that names the field",
  properties: { error: { type: "string" }, message: { type: "string" } },
  required: ["error", "message"],
} as const;

export const stageSchema = {
  type: "object",
  properties: {
    stage: { type: "string", enum: ["acceptance", "start", "progress", "completion"] },
    success: { type: "boolean" },
    code: { type: "string", description: "umbra.ttc.v1.FailureCode name; FAILURE_NONE on success" },
    detail: { type: "string" },
    missionTimeNs: { type: "string", description: "TAI ns, decimal" },
    at: { type: "string", format: "date-time" },
    step: { type: "integer" },
  },
} as const;

export const commandRecordSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    kind: { type: "string", enum: ["execute", "arm"] },
    user: { type: "string" },
    service: { type: "string" },
    command: { type: "string" },
    args: { type: "object", additionalProperties: true },
    apid: { type: "integer" },
    sequenceCount: { type: "integer" },
    sourceId: { type: "integer" },
    spi: { type: "integer" },
    securitySequence: { type: "integer" },
    state: { type: "string", enum: ["sent", "accepted", "started", "completed", "failed", "timeout"] },
    stages: { type: "array", items: stageSchema },
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" },
  },
} as const;

export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, errorSchema]));

export const anyObject = { type: "object", additionalProperties: true } as const;
