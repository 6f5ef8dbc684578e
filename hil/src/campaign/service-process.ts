// Starts the inference service as its own OS process for a campaign, joined
// to a hub this process serves on a private Unix socket: the HIL drives the
// real service, not a copy linked into the harness (hil never imports a
// service package). Returns once the model answers DescribeModel as loaded.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BusServer, type Bus, type Logger } from "@umbra/core";
import { umbra } from "@umbra/proto";

export interface InferenceProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startInferenceProcess(bus: Bus, options: { main: string; model: string; logger: Logger; readyTimeoutMs?: number }): Promise<InferenceProcess> {
  if (!existsSync(options.main)) throw new Error(`inference service not found at ${options.main} (run pnpm build, or pass --bus to use a running stack)`);
  const dir = mkdtempSync(join(tmpdir(), "umbra-campaign-"));
  const socket = join(dir, "bus.sock");
  const server = await BusServer.listen(bus, { kind: "unix", path: socket });
  const child = spawn(process.execPath, [options.main, `unix:${socket}`, "--data", join(dir, "data"), "--models", options.model], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, UMBRA_LOG_LEVEL: process.env["UMBRA_LOG_LEVEL"] ?? "warn" },
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the inference service exited with code ${child.exitCode}: ${stderr.trim()}`);
      try {
        const info = await bus.request(umbra.inference.v1.DescribeModel, { model: options.model }, umbra.inference.v1.ModelInfo, { target: "inference", timeoutMs: 1000 });
        if (info.loaded) return { child, stop };
      } catch {
        // Not up yet, or the model is still loading.
      }
      if (Date.now() > deadline) throw new Error(`the inference service did not load ${options.model} in time: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
