// The telecommand key file `umbra start` uses: a development one is made when
// it is missing, with one key for the demo and the workload and another for
// the gateway, so each signer keeps its own anti-replay counter.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { KeyStore } from "@umbra/ccsds";
import { DEFAULT_GATEWAY_SPI, DEMO_SPI } from "./options.js";

/** Writes a development key file (mode 600) if there is none; returns whether it did. */
export function ensureDevelopmentKeys(path: string, gatewaySpi = DEFAULT_GATEWAY_SPI): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  const spis = [...new Set([DEMO_SPI, gatewaySpi])];
  const keys = spis.map((spi) => ({ spi, algorithm: "hmac-sha256", key: randomBytes(32).toString("hex"), state: "active" }));
  writeFileSync(path, JSON.stringify({ keys }, null, 2), { mode: 0o600, flag: "wx" });
  return true;
}

/** Why the gateway cannot sign with `spi` from this key file, or undefined if it can. */
export function gatewayKeyProblem(keys: KeyStore, spi: number, file: string): string | undefined {
  const info = keys.info(spi);
  const fixes = `add an active key with SPI ${spi} to ${file} (or delete a development key file to have a new one made with SPI ${DEMO_SPI} and ${DEFAULT_GATEWAY_SPI}), pass --gateway-spi with another active SPI, or --no-gateway`;
  if (!info) return `the gateway signs telecommands with SPI ${spi}, and ${file} has no key with SPI ${spi}: ${fixes}`;
  if (info.state !== "active") return `the gateway signs telecommands with SPI ${spi}, and that key in ${file} is ${info.state}: ${fixes}`;
  return undefined;
}
