import fc from "fast-check";
import type { CdsFormat, CucFormat, SpacePacket, Tc, Tm, TmOptions } from "../../src/index.js";

export const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength });

export const spacePacket: fc.Arbitrary<SpacePacket> = fc
  .record({
    type: fc.constantFrom(0 as const, 1 as const),
    secondaryHeader: fc.boolean(),
    apid: fc.integer({ min: 0, max: 2047 }),
    sequenceFlags: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
    sequenceCount: fc.integer({ min: 0, max: 16383 }),
    data: bytes(300, 1),
  })
  .map((p) => (p.apid === 2047 ? { ...p, secondaryHeader: false } : p));

export const cucFormat: fc.Arbitrary<CucFormat> = fc.record({
  coarseOctets: fc.integer({ min: 1, max: 4 }),
  fineOctets: fc.integer({ min: 0, max: 3 }),
  pField: fc.boolean(),
});

export const cdsFormat: fc.Arbitrary<CdsFormat> = fc.record({ submillisecond: fc.boolean(), pField: fc.boolean() });

const tcHeader = {
  apid: fc.integer({ min: 0, max: 2046 }),
  sequenceCount: fc.integer({ min: 0, max: 16383 }),
  ack: fc.integer({ min: 0, max: 15 }),
  service: fc.integer({ min: 0, max: 255 }),
  subtype: fc.integer({ min: 0, max: 255 }),
  sourceId: fc.integer({ min: 0, max: 65535 }),
  appData: bytes(200),
};

export const tc: fc.Arbitrary<Tc> = fc.record(tcHeader);

export const secureTcFields = fc.record({
  ...tcHeader,
  securitySequence: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

/** A TM together with the options it is encoded under (the time must fit the format). */
export const tmWithOptions: fc.Arbitrary<{ tm: Tm; options: TmOptions }> = cucFormat.chain((timeFormat) =>
  fc
    .record({
      apid: fc.integer({ min: 0, max: 2046 }),
      sequenceCount: fc.integer({ min: 0, max: 16383 }),
      timeRefStatus: fc.integer({ min: 0, max: 15 }),
      service: fc.integer({ min: 0, max: 255 }),
      subtype: fc.integer({ min: 0, max: 255 }),
      messageTypeCounter: fc.integer({ min: 0, max: 65535 }),
      destinationId: fc.integer({ min: 0, max: 65535 }),
      time: fc.record({
        coarse: fc.integer({ min: 0, max: 2 ** (8 * timeFormat.coarseOctets) - 1 }),
        fine: fc.integer({ min: 0, max: 2 ** (8 * timeFormat.fineOctets) - 1 }),
      }),
      appData: bytes(200),
    })
    .map((tm) => ({ tm, options: { timeFormat } })),
);

/** Valid encodings with random damage: byte overwrites, truncation, extension. Reaches deep decoder paths that plain random bytes seldom do. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.option(fc.nat(), { nil: undefined }),
      bytes(8),
    )
    .map(([b, writes, cut, extra]) => {
      const out = new Uint8Array([...b, ...extra]);
      for (const [at, v] of writes) if (out.length > 0) out[at % out.length] = v;
      return cut === undefined ? out : out.subarray(0, cut % (out.length + 1));
    });
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString("hex").toUpperCase();
}

export function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
}
