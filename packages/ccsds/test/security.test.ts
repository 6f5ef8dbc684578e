import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  AntiReplay,
  KeyFileError,
  KeyStore,
  type SecureTc,
  authenticateTc,
  crc16,
  decodeTc,
  loadKeyFile,
  parseKeyFile,
  secureTc,
} from "../src/index.js";
import { fromHex, hexOf, secureTcFields } from "./support/arbitraries.js";

const K1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K2 = "ff".repeat(32);
const K3 = "a5".repeat(32);
const keyFileJson = JSON.stringify({
  keys: [
    { spi: 1, algorithm: "hmac-sha256", key: K1, state: "active" },
    { spi: 2, algorithm: "hmac-sha256", key: K2, state: "active" },
    { spi: 3, algorithm: "hmac-sha256", key: K3, state: "revoked" },
    { spi: 4, algorithm: "hmac-sha256", key: K3, state: "standby" },
  ],
});

function store(): KeyStore {
  return parseKeyFile(keyFileJson, "test-keys.json");
}

const base: SecureTc = { apid: 0x64, sequenceCount: 7, ack: 0b1001, service: 17, subtype: 1, sourceId: 1, appData: fromHex("0102"), spi: 1, securitySequence: 100 };

function withCrc(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b);
  const c = crc16(out.subarray(0, out.length - 2));
  out[out.length - 2] = c >> 8;
  out[out.length - 1] = c & 0xff;
  return out;
}

function reason(r: ReturnType<typeof authenticateTc>): string {
  return r.ok ? "ok" : r.error.reason;
}

describe("authenticateTc", () => {
  it("accepts what secureTc built, for every TC, and gives back exactly its fields", () => {
    const keys = store();
    fc.assert(
      fc.property(secureTcFields, fc.constantFrom(1, 2), (f, spi) => {
        const tc = { ...f, spi };
        const r = authenticateTc(secureTc(tc, keys), keys, new AntiReplay());
        expect(r).toEqual({ ok: true, tc });
      }),
    );
  });

  it("lays the packet out as primary header | SPI | sequence | PUS header | data | MAC | CRC", () => {
    const b = secureTc(base, store());
    expect(b.length).toBe(6 + 6 + 5 + 2 + 16 + 2);
    expect(hexOf(b.subarray(0, 6))).toBe("1864C007001E"); // data field 6+5+2+16+2 = 31 -> length 30
    expect(hexOf(b.subarray(6, 12))).toBe("000100000064");
    expect(hexOf(b.subarray(12, 19))).toBe("29110100010102");
    expect(crc16(b)).toBe(0);
    // A plain PUS decoder refuses it (the SPI's first octet is no PUS version) rather than misreading it.
    const plain = decodeTc(b);
    expect(!plain.ok && plain.error.field).toBe("pusVersion");
  });

  it("refuses a wrong MAC, an unknown SPI, a revoked SPI and a standby SPI", () => {
    const keys = store();
    const good = secureTc(base, keys);
    const badMac = new Uint8Array(good);
    badMac[good.length - 3]! ^= 1;
    const r = authenticateTc(withCrc(badMac), keys, new AntiReplay());
    expect(r).toMatchObject({ ok: false, error: { field: "mac", reason: "bad-mac", offset: good.length - 18 } });

    // same packet under a key the store does not have
    const other = new KeyStore([{ spi: 9, algorithm: "hmac-sha256", state: "active", key: new Uint8Array(32).fill(7) }]);
    const unknown = secureTc({ ...base, spi: 9 }, other);
    expect(authenticateTc(unknown, keys, new AntiReplay())).toMatchObject({ ok: false, error: { field: "spi", reason: "unknown-spi", offset: 6 } });

    // signed with SPI 3's key while it was active, then revoked
    const was = new KeyStore([{ spi: 3, algorithm: "hmac-sha256", state: "active", key: fromHex(K3) }]);
    expect(reason(authenticateTc(secureTc({ ...base, spi: 3 }, was), keys, new AntiReplay()))).toBe("revoked-spi");
    const standby = new KeyStore([{ spi: 4, algorithm: "hmac-sha256", state: "active", key: fromHex(K3) }]);
    expect(reason(authenticateTc(secureTc({ ...base, spi: 4 }, standby), keys, new AntiReplay()))).toBe("inactive-spi");
    expect(() => secureTc({ ...base, spi: 3 }, keys)).toThrow(/^spi: .*revoked-spi/);
    expect(() => secureTc({ ...base, spi: 5 }, keys)).toThrow(/^spi: .*unknown-spi/);
  });

  it("refuses a replayed sequence number and one outside the window; accepts unseen ones inside it", () => {
    const keys = store();
    const ar = new AntiReplay({ windowSize: 64 });
    const send = (securitySequence: number, spi = 1) => reason(authenticateTc(secureTc({ ...base, securitySequence, spi }, keys), keys, ar));
    expect(send(100)).toBe("ok");
    expect(send(100)).toBe("replay");
    expect(send(105)).toBe("ok");
    expect(send(101)).toBe("ok"); // late but inside the window, unseen
    expect(send(101)).toBe("replay");
    expect(send(42)).toBe("ok"); // 105 − 42 = 63 < 64: the oldest number the window still holds
    expect(send(41)).toBe("outside-window"); // 105 − 41 = 64
    expect(send(100, 2)).toBe("ok"); // each SPI has its own window
    expect(ar.highest(1)).toBe(105);
    const r = authenticateTc(secureTc({ ...base, securitySequence: 100 }, keys), keys, ar);
    expect(r).toMatchObject({ ok: false, error: { field: "securitySequence", reason: "replay", offset: 8 } });
  });

  it("refuses truncated packets at every length, and packets too short to hold the security fields", () => {
    const keys = store();
    const good = secureTc(base, keys);
    for (let n = 0; n < good.length; n++) {
      const r = authenticateTc(good.subarray(0, n), keys, new AntiReplay());
      expect(reason(r), `length ${n}`).toBe("truncated");
    }
    // a correct-CRC TC with no room for a security header and MAC
    const plain = fromHex("1864C00100062911010001050D");
    expect(reason(authenticateTc(plain, keys, new AntiReplay()))).toBe("truncated");
    expect(reason(authenticateTc("nope" as unknown as Uint8Array, keys, new AntiReplay()))).toBe("malformed");
  });

  it("refuses a packet with any single bit flipped, anywhere, and the window does not move", () => {
    const keys = store();
    const good = secureTc(base, keys);
    for (let bit = 0; bit < good.length * 8; bit++) {
      const b = new Uint8Array(good);
      b[bit >> 3]! ^= 0x80 >> (bit & 7);
      const ar = new AntiReplay();
      expect(reason(authenticateTc(b, keys, ar)), `bit ${bit}`).not.toBe("ok");
      expect(ar.highest(1)).toBeUndefined();
    }
  });

  it("refuses tampering even when the attacker fixes the CRC (property: any TC, any bit before the CRC)", () => {
    const keys = store();
    fc.assert(
      fc.property(secureTcFields, fc.nat(), (f, n) => {
        const good = secureTc({ ...f, spi: 2 }, keys);
        const bits = (good.length - 2) * 8;
        const bit = n % bits;
        if (bit >= 32 && bit < 48) return; // the length field: fixing a CRC there means moving it, covered by the loop above
        const b = new Uint8Array(good);
        b[bit >> 3]! ^= 0x80 >> (bit & 7);
        const ar = new AntiReplay();
        const r = authenticateTc(withCrc(b), keys, ar);
        expect(r.ok).toBe(false);
        expect(ar.highest(2)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on random bytes", () => {
    const keys = store();
    const ar = new AntiReplay();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        expect(authenticateTc(b, keys, ar).ok).toBe(false);
        expect(authenticateTc(b.length > 2 ? withCrc(b) : b, keys, ar).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("returns octets after the packet as rest", () => {
    const keys = store();
    const a = secureTc(base, keys);
    const b = secureTc({ ...base, securitySequence: 101 }, keys);
    const ar = new AntiReplay();
    const r1 = authenticateTc(new Uint8Array([...a, ...b]), keys, ar);
    expect(r1.ok).toBe(true);
    const r2 = r1.ok && r1.rest ? authenticateTc(r1.rest, keys, ar) : undefined;
    expect(r2).toEqual({ ok: true, tc: { ...base, securitySequence: 101 } });
  });
});

describe("AntiReplay", () => {
  it("check() changes nothing; accept() records; a jump past the window forgets the old bits", () => {
    const ar = new AntiReplay({ windowSize: 4 });
    expect(ar.check(1, 10)).toEqual({ ok: true });
    expect(ar.check(1, 10)).toEqual({ ok: true });
    expect(ar.accept(1, 10)).toEqual({ ok: true });
    expect(ar.accept(1, 10)).toMatchObject({ ok: false, reason: "replay" });
    expect(ar.accept(1, 8)).toEqual({ ok: true });
    expect(ar.accept(1, 7)).toEqual({ ok: true });
    expect(ar.accept(1, 6)).toMatchObject({ ok: false, reason: "outside-window" });
    expect(ar.accept(1, 20)).toEqual({ ok: true });
    expect(ar.accept(1, 17)).toEqual({ ok: true });
    expect(ar.accept(1, 16)).toMatchObject({ ok: false, reason: "outside-window" });
    expect(ar.accept(1, 2 ** 32 - 1)).toEqual({ ok: true });
    expect(() => ar.accept(1, 2 ** 32)).toThrow(/^sequence: /);
    expect(() => new AntiReplay({ windowSize: 0 })).toThrow(/^windowSize: /);
  });

  it("restore() treats everything up to the persisted highest as seen", () => {
    const ar = new AntiReplay();
    ar.restore(1, 500);
    expect(ar.accept(1, 500)).toMatchObject({ ok: false, reason: "replay" });
    expect(ar.accept(1, 480)).toMatchObject({ ok: false, reason: "replay" });
    expect(ar.accept(1, 400)).toMatchObject({ ok: false, reason: "outside-window" });
    expect(ar.accept(1, 501)).toEqual({ ok: true });
  });

  it("matches a model (a set of accepted numbers and the highest) on any sequence", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 150 }), (w, seqs) => {
        const ar = new AntiReplay({ windowSize: w });
        const accepted = new Set<number>();
        let top = -1;
        for (const s of seqs) {
          const expected = top >= 0 && top - s >= w ? "outside-window" : accepted.has(s) ? "replay" : "ok";
          const v = ar.accept(1, s);
          expect(v.ok ? "ok" : v.reason).toBe(expected);
          if (expected === "ok") {
            accepted.add(s);
            top = Math.max(top, s);
          }
        }
      }),
    );
  });
});

describe("KeyStore", () => {
  it("lists keys without their material, several active at once", () => {
    const keys = store();
    expect(keys.activeSpis()).toEqual([1, 2]);
    expect(keys.info(3)).toEqual({ spi: 3, algorithm: "hmac-sha256", state: "revoked" });
    expect(JSON.stringify(keys)).not.toContain("0102");
    expect(JSON.stringify(keys.list())).not.toMatch(/key/);
  });

  it("rotate() activates the new SPI and revokes the old, or changes nothing", () => {
    const keys = store();
    keys.rotate(1, 4);
    expect(keys.activeSpis()).toEqual([2, 4]);
    expect(keys.info(1)?.state).toBe("revoked");
    const snapshot = JSON.stringify(keys.list());
    expect(() => keys.rotate(2, 3)).toThrow(/^newSpi: .*revoked/);
    expect(() => keys.rotate(2, 99)).toThrow(/^newSpi: /);
    expect(() => keys.rotate(99, 2)).toThrow(/^oldSpi: /);
    expect(() => keys.rotate(2, 2)).toThrow(/^newSpi: /);
    expect(JSON.stringify(keys.list())).toBe(snapshot);
    // the TC under the revoked key is refused, the new one accepted
    const was = new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: fromHex(K1) }]);
    expect(reason(authenticateTc(secureTc(base, was), keys, new AntiReplay()))).toBe("revoked-spi");
    expect(reason(authenticateTc(secureTc({ ...base, spi: 4 }, keys), keys, new AntiReplay()))).toBe("ok");
  });

  it("refuses bad in-memory entries, naming the field", () => {
    const e = { spi: 1, algorithm: "hmac-sha256" as const, state: "active" as const, key: new Uint8Array(32) };
    expect(() => new KeyStore([{ ...e, key: new Uint8Array(16) }])).toThrow(/^keys\[0\]\.key: /);
    expect(() => new KeyStore([{ ...e, spi: 0 }])).toThrow(/^keys\[0\]\.spi: /);
    expect(() => new KeyStore([e, e])).toThrow(/^keys\[1\]\.spi: .*twice/);
  });
});

describe("key files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "umbra-ccsds-keys-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function keyFile(name: string, text: string, mode = 0o600): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    await chmod(path, mode);
    return path;
  }

  async function refusal(path: string): Promise<KeyFileError> {
    const e = await loadKeyFile(path).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(KeyFileError);
    const k = e as KeyFileError;
    expect(k.path).toBe(path);
    expect(k.message.startsWith(`${path}: ${k.field}: `)).toBe(true);
    expect(k.message).not.toContain(K1);
    return k;
  }

  it("loads a file with mode 0600", async () => {
    const keys = await loadKeyFile(await keyFile("ok.json", keyFileJson, 0o600));
    expect(keys.activeSpis()).toEqual([1, 2]);
    const keys400 = await loadKeyFile(await keyFile("ok400.json", keyFileJson, 0o400));
    expect(keys400.list().length).toBe(4);
  });

  it("refuses a file that group or others can access, naming the path and the mode", async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602, 0o610]) {
      const path = await keyFile(`mode-${mode.toString(8)}.json`, keyFileJson, mode);
      const e = await refusal(path);
      expect(e.field).toBe("mode");
      expect(e.message).toContain(`mode ${mode.toString(8).padStart(4, "0")}`);
    }
  });

  it("refuses a missing file, a directory and a symbolic link", async () => {
    expect((await refusal(join(dir, "absent.json"))).reason).toMatch(/no such file/);
    expect((await refusal(dir)).field).toBe("file");
    const target = await keyFile("target.json", keyFileJson);
    const link = join(dir, "link.json");
    await symlink(target, link);
    expect((await refusal(link)).reason).toMatch(/symbolic link/);
  });

  it("names the field of every content error", async () => {
    const entry = { spi: 1, algorithm: "hmac-sha256", key: K1, state: "active" };
    const cases: Array<[unknown, string, RegExp?]> = [
      ["{not json", "json"],
      [[], "(top level)"],
      [{ keys: {} }, "keys"],
      [{ keys: [] }, "keys"],
      [{ keys: [entry], extra: 1 }, "extra"],
      [{ keys: ["x"] }, "keys[0]"],
      [{ keys: [{ ...entry, spi: 0 }] }, "keys[0].spi"],
      [{ keys: [{ ...entry, spi: 65535 }] }, "keys[0].spi"],
      [{ keys: [{ ...entry, spi: "1" }] }, "keys[0].spi"],
      [{ keys: [entry, { ...entry, key: K2 }] }, "keys[1].spi", /keys\[0\]/],
      [{ keys: [{ ...entry, algorithm: "hmac-sha1" }] }, "keys[0].algorithm"],
      [{ keys: [{ ...entry, state: "on" }] }, "keys[0].state"],
      [{ keys: [{ ...entry, key: "zz".repeat(32) }] }, "keys[0].key", /hex/],
      [{ keys: [{ ...entry, key: K1.slice(1) }] }, "keys[0].key", /hex/],
      [{ keys: [{ ...entry, key: K1.slice(0, 32) }] }, "keys[0].key", /32 octets .* got 16/],
      [{ keys: [{ ...entry, key: 5 }] }, "keys[0].key"],
      [{ keys: [{ ...entry, note: "x" }] }, "keys[0].note"],
    ];
    let i = 0;
    for (const [doc, field, why] of cases) {
      const path = await keyFile(`bad-${i++}.json`, typeof doc === "string" ? doc : JSON.stringify(doc));
      const e = await refusal(path);
      expect(e.field, JSON.stringify(doc)).toBe(field);
      if (why) expect(e.reason).toMatch(why);
    }
  });
});
