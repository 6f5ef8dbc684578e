import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { ADMIN_TOKEN_FILE, DEFAULT_GATEWAY, resolveGatewayUrl, resolveToken } from "../src/client/config.js";
import { UsageError } from "../src/errors.js";

describe("resolveGatewayUrl", () => {
  it("takes --gateway, then UMBRA_GATEWAY, then the default", () => {
    expect(resolveGatewayUrl(undefined, {})).toBe(DEFAULT_GATEWAY);
    expect(resolveGatewayUrl(undefined, { UMBRA_GATEWAY: "http://ground:9000/" })).toBe("http://ground:9000");
    expect(resolveGatewayUrl("https://gw.example/umbra/", { UMBRA_GATEWAY: "http://ground:9000" })).toBe("https://gw.example/umbra");
    expect(resolveGatewayUrl("127.0.0.1:8081", {})).toBe("http://127.0.0.1:8081");
  });

  it("refuses what is not an http(s) URL, naming where it came from", () => {
    expect(() => resolveGatewayUrl("ftp://x", {})).toThrow(/^--gateway: "ftp:\/\/x" must be an http:\/\/ or https:\/\/ URL/);
    expect(() => resolveGatewayUrl(undefined, { UMBRA_GATEWAY: "http://[bad" })).toThrow(/^UMBRA_GATEWAY: "http:\/\/\[bad" is not a URL/);
    expect(() => resolveGatewayUrl("http://x/?a=1", {})).toThrow(/must not have a query/);
  });
});

describe("the default admin token file", () => {
  it("is the file umbra start has the gateway write with the default configuration", () => {
    // Regression: the CLI looked for admin.token while the launcher wrote admin-token.
    expect(ADMIN_TOKEN_FILE).toBe(join(".umbra", "data", "gateway", "admin-token"));
  });
});

describe("resolveToken", () => {
  const files: Record<string, string> = { "/a/admin.token": "umbra_fromfile\n" };
  const read = (p: string) => {
    const t = files[p];
    if (t === undefined) throw new Error("ENOENT");
    return t;
  };

  it("takes --token, then UMBRA_TOKEN, then the first readable admin token file", () => {
    expect(resolveToken("t1", { UMBRA_TOKEN: "t2" }, ["/a/admin.token"], read)).toEqual({ token: "t1", source: "--token" });
    expect(resolveToken(undefined, { UMBRA_TOKEN: " t2 " }, ["/a/admin.token"], read)).toEqual({ token: "t2", source: "UMBRA_TOKEN" });
    expect(resolveToken(undefined, {}, ["/missing", "/a/admin.token"], read)).toEqual({ token: "umbra_fromfile", source: "/a/admin.token" });
  });

  it("says how to get a token when there is none", () => {
    let err: unknown;
    try {
      resolveToken(undefined, { UMBRA_TOKEN: "" }, ["/missing"], read);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^no gateway token: pass --token <token> or set UMBRA_TOKEN\. `umbra start` writes the admin's token to \.umbra\/data\/gateway\/admin-token/);
    expect((err as Error).message).toContain("umbra users token <your name>");
  });
});
