#!/usr/bin/env node
// Runs the counter service in its own process, joined to a bus server.
// Usage: umbra-counter-service <endpoint>   e.g. unix:/tmp/umbra/bus.sock
import { Bus, BusClient, RealClock, createLogger, parseEndpoint } from "@umbra/core";
import { CounterService } from "./service.js";

async function main(): Promise<void> {
  const target = process.argv[2] ?? process.env["UMBRA_BUS"];
  if (!target) {
    console.error("usage: umbra-counter-service <unix:/path | tcp:host:port>");
    process.exit(2);
  }
  const endpoint = parseEndpoint(target);
  const logger = createLogger({ name: "counter" });
  const clock = new RealClock();
  const bus = new Bus({ node: `counter-${process.pid}`, clock, logger });
  const client = BusClient.start(bus, endpoint);
  const service = new CounterService({ bus, clock, logger });
  await service.start();
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await service.stop();
    client.close();
    bus.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
