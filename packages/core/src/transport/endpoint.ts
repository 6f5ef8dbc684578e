// Where a bus node listens or connects: a Unix domain socket path or a TCP
// host and port. Parsed from strings like "unix:/run/umbra/bus.sock" or
// "tcp:127.0.0.1:7400" so configs and command lines can name them.
export type Endpoint = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

export function parseEndpoint(text: string): Endpoint {
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    if (!path) throw new RangeError(`endpoint ${JSON.stringify(text)}: unix socket path is empty`);
    // Linux limits sun_path to 108 bytes including the terminator.
    if (Buffer.byteLength(path) > 107) throw new RangeError(`endpoint ${JSON.stringify(text)}: unix socket path longer than 107 bytes`);
    return { kind: "unix", path };
  }
  if (text.startsWith("tcp:")) {
    const rest = text.slice("tcp:".length);
    const colon = rest.lastIndexOf(":");
    const host = colon > 0 ? rest.slice(0, colon).replace(/^\[(.*)\]$/, "$1") : "";
    const port = Number(rest.slice(colon + 1));
    if (!host) throw new RangeError(`endpoint ${JSON.stringify(text)}: expected tcp:<host>:<port>`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`endpoint ${JSON.stringify(text)}: port must be an integer 0..65535`);
    }
    return { kind: "tcp", host, port };
  }
  throw new RangeError(`endpoint ${JSON.stringify(text)}: expected unix:<path> or tcp:<host>:<port>`);
}

export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.kind === "unix" ? `unix:${endpoint.path}` : `tcp:${endpoint.host}:${endpoint.port}`;
}
