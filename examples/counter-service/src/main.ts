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
  // Start once the hub knows us, so our declaration and first heartbeat are routed.
  // If the hub is not up yet, start anyway: the client keeps reconnecting.
  await client
    .waitConnected(5000)
    .then(() => client.link.whenSynced(5000))
    .catch((err: unknown) => logger.warn({ err }, "bus hub not reachable yet; starting anyway"));
  const service = new CounterService({ bus, clock, logger });
  await service.start();
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await service.stop();
    await client.close(); // lets the final heartbeat reach the hub
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
