// umbra health: is the payload up? Joins the payload's bus hub (the
// supervisor's Unix socket) and asks the supervisor for its status until
// every service that should run in the current mode is running, or the
// timeout passes. Healthy means exactly that: in safe mode the services safe
// mode stops are not counted against it (the mode is printed; a board that
// was in safe mode before an upgrade comes back in it, and that is not the
// new release's fault). Used by the installer to decide whether an upgrade
// worked, by umbra-prove.service, and by people.
//
// Exit status: 0 healthy; 1 not healthy (or unreachable) when the timeout
// passed, with the reason; 2 bad usage or a bad configuration.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { Bus, BusClient, RealClock, parseEndpoint, silentLogger } from "@umbra/core";
import { umbra, type MessageOf } from "@umbra/proto";
import { ConfigError, DEFAULT_CONFIG_FILE, loadPayloadConfig, type PayloadConfig } from "@umbra/supervisor";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../errors.js";
import type { Io } from "../io.js";
import { WORKSPACE_ROOT } from "../paths.js";
import { resetReasonName } from "../start/observe.js";
import { action, printJson, type CommandContext } from "./common.js";

type SupervisorStatus = MessageOf<typeof umbra.supervisor.v1.SupervisorStatus>;

const S = umbra.supervisor.v1;
const STATE_NAMES: Record<number, string> = {
  [S.ProcessState.PROCESS_STATE_STARTING]: "starting",
  [S.ProcessState.PROCESS_STATE_RUNNING]: "running",
  [S.ProcessState.PROCESS_STATE_BACKOFF]: "in backoff",
  [S.ProcessState.PROCESS_STATE_FAILED]: "FAILED",
  [S.ProcessState.PROCESS_STATE_STOPPED]: "stopped",
  [S.ProcessState.PROCESS_STATE_STOPPING]: "stopping",
};

/** The board's configuration when installed (umbra-install puts it here). */
export const BOARD_CONFIG_FILE = "/etc/umbra/umbra.yaml";

export interface HealthVerdict {
  healthy: boolean;
  mode: "nominal" | "safe";
  /** One line: mode, services, boot. */
  summary: string;
  /** Each service that should run and does not, with its state and last failure. */
  problems: string[];
  /** Restarts of every service this boot (a restart during --hold restarts the hold). */
  restarts: number;
  boot: number;
}

/** Healthy: every service that is not stopped on purpose (disabled, or stopped by safe mode) is running (pure). */
export function judgeHealth(s: SupervisorStatus): HealthVerdict {
  const mode = s.mode === S.PayloadMode.PAYLOAD_MODE_SAFE ? "safe" : "nominal";
  const wanted = s.services.filter((x) => x.state !== S.ProcessState.PROCESS_STATE_STOPPED);
  const up = wanted.filter((x) => x.state === S.ProcessState.PROCESS_STATE_RUNNING);
  const problems = wanted
    .filter((x) => x.state !== S.ProcessState.PROCESS_STATE_RUNNING)
    .map((x) => `${x.name} ${STATE_NAMES[x.state] ?? `state ${x.state}`}${x.lastFailure ? ` (last failure: ${x.lastFailure})` : ""}`);
  if (wanted.length === 0) problems.push("no service is running");
  const modeText = mode === "safe" ? `SAFE MODE${s.safeModeReason ? ` (${s.safeModeReason})` : ""}` : "nominal";
  const summary = `${modeText}: ${up.length}/${wanted.length} services running${up.length ? ` (${up.map((x) => x.name).join(", ")})` : ""}; boot ${s.bootCount}, reset reason ${resetReasonName(s.resetReason)}`;
  return { healthy: problems.length === 0, mode, summary, problems, restarts: s.services.reduce((n, x) => n + x.restarts, 0), boot: s.bootCount };
}

export interface HealthFlags {
  config?: string;
  socket?: string;
  timeout: string;
  hold: string;
  json?: boolean;
}

function seconds(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > 86_400) throw new UsageError(`--${flag} must be a number of seconds, ${min} to 86400, got ${JSON.stringify(v)}`);
  return n;
}

/** Which configuration: --config; else ./config/umbra.yaml, the board's /etc/umbra/umbra.yaml, the workspace's. */
async function loadConfig(flags: HealthFlags, io: Io): Promise<PayloadConfig | undefined> {
  const candidates: [string, string][] = flags.config !== undefined ? [[flags.config, io.cwd]] : [[join(io.cwd, DEFAULT_CONFIG_FILE), io.cwd], [BOARD_CONFIG_FILE, io.cwd], [join(WORKSPACE_ROOT, DEFAULT_CONFIG_FILE), WORKSPACE_ROOT]];
  for (const [file, cwd] of candidates) {
    if (flags.config === undefined && !existsSync(file)) continue;
    try {
      return await loadPayloadConfig(file, { cwd });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
  }
  return undefined;
}

export interface HealthOutcome {
  healthy: boolean;
  socket: string;
  waitedS: number;
  verdict?: HealthVerdict;
  reason: string;
}

/** Polls the supervisor until healthy (held for holdS) or the timeout; never throws for an unreachable payload. */
export async function checkHealth(socket: string, timeoutS: number, holdS: number, now: () => number = Date.now): Promise<HealthOutcome> {
  const started = now();
  const deadline = started + (timeoutS + holdS) * 1000;
  const bus = new Bus({ node: `health-${process.pid}-${Math.floor(Math.random() * 1e6)}`, clock: new RealClock(), logger: silentLogger() });
  const client = BusClient.start(bus, parseEndpoint(`unix:${socket}`), { reconnect: { initialDelayMs: 200, maxDelayMs: 1000, factor: 2 } });
  let reason = `cannot reach the payload's bus at ${socket}`;
  let verdict: HealthVerdict | undefined;
  let holdFrom: { at: number; restarts: number; boot: number } | undefined;
  try {
    for (;;) {
      const left = deadline - now();
      if (client.connected) {
        try {
          const status = await bus.request(S.GetSupervisorStatus, {}, S.SupervisorStatus, { target: "supervisor", timeoutMs: Math.max(200, Math.min(2000, left)) });
          verdict = judgeHealth(status);
          if (verdict.healthy) {
            if (!holdFrom || holdFrom.restarts !== verdict.restarts || holdFrom.boot !== verdict.boot) holdFrom = { at: now(), restarts: verdict.restarts, boot: verdict.boot };
            if (now() - holdFrom.at >= holdS * 1000) return { healthy: true, socket, waitedS: (now() - started) / 1000, verdict, reason: verdict.summary };
            reason = `healthy for ${((now() - holdFrom.at) / 1000).toFixed(0)} s of the ${holdS} s asked`;
          } else {
            holdFrom = undefined;
            reason = verdict.problems.join("; ");
          }
        } catch (err) {
          holdFrom = undefined;
          reason = `the supervisor did not answer on ${socket}: ${err instanceof Error ? err.message : String(err)}`;
        }
      } else {
        holdFrom = undefined;
        reason = existsSync(socket) ? `cannot connect to the payload's bus at ${socket}` : `no bus socket at ${socket}: is the payload running? (systemctl status umbra)`;
      }
      if (now() >= deadline) return { healthy: false, socket, waitedS: (now() - started) / 1000, ...(verdict ? { verdict } : {}), reason };
      await new Promise((r) => setTimeout(r, Math.min(client.connected ? 500 : 100, Math.max(0, deadline - now()))));
    }
  } finally {
    await client.close().catch(() => undefined);
    bus.close();
  }
}

export function registerHealth(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  program
    .command("health")
    .description("is the payload healthy: every service that should run is running (exit 0); else exit 1 with the reason once --timeout has passed")
    .option("--config <file>", `the payload configuration, for its bus socket (default ./config/umbra.yaml, ${BOARD_CONFIG_FILE}, the workspace's)`)
    .option("--socket <path>", "the bus hub's Unix socket (instead of the configuration's bus.socket)")
    .option("--timeout <s>", "how long to wait for the payload to become healthy", "10")
    .option("--hold <s>", "then how long it must stay healthy, with no service restarting", "0")
    .option("--json", "print one JSON document instead of text, for scripts")
    .action(
      action(ctx, async (flags: HealthFlags) => {
        const timeoutS = seconds("timeout", flags.timeout, 0);
        const holdS = seconds("hold", flags.hold, 0);
        const config = flags.socket === undefined ? await loadConfig(flags, io) : undefined;
        if (flags.socket === undefined && !config) throw new UsageError(`no configuration found (./config/umbra.yaml, ${BOARD_CONFIG_FILE}); give --config or --socket`);
        const socket = flags.socket ?? config!.bus.socket;
        const outcome = await checkHealth(socket, timeoutS, holdS);
        const hints: string[] = [];
        if (!outcome.healthy && config && !existsSync(config.paths.keys)) hints.push(`the telecommand key file ${config.paths.keys} (paths.keys) does not exist: the TTC cannot start without it`);
        if (flags.json) {
          printJson(io, { healthy: outcome.healthy, socket, waitedS: outcome.waitedS, mode: outcome.verdict?.mode ?? null, summary: outcome.verdict?.summary ?? null, problems: outcome.verdict?.problems ?? [], reason: outcome.reason, hints });
        } else if (outcome.healthy) {
          io.out(`healthy: ${outcome.reason}`);
        } else {
          io.out(`not healthy after ${timeoutS + holdS} s: ${outcome.reason}`);
          if (outcome.verdict) io.out(`  last status: ${outcome.verdict.summary}`);
          for (const h of hints) io.out(`  hint: ${h}`);
        }
        return outcome.healthy ? EXIT_OK : EXIT_FAILURE;
      }),
    );
}
