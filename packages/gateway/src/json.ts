// The JSON text of every answer. A replacer is called for every value (it
// made a command record's JSON.stringify about 1.7 times slower); the routes
// already carry 64-bit integers as decimal strings, so the bigint replacer
// is only a net for a stray one, used when plain JSON.stringify refuses it.

const bigintSafe = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);

export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (err instanceof TypeError && /bigint/i.test(err.message)) return JSON.stringify(value, bigintSafe);
    throw err;
  }
}
