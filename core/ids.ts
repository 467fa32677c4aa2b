// Row ids: RFC 9562 version-8 UUIDs laid out as a 10-byte prefix and a 6-byte counter. The prefix
// is random per process (live ingest) or derived from a file's fingerprint (imports, so that a
// re-import yields the same ids); the counter is the row's ordinal. Formatting one costs a string
// concatenation, not random bytes and a serialisation per row (crypto.randomUUID took ~0.5 µs per
// message in the ingest profile).

import { randomBytes } from 'node:crypto';

const COUNTER_LIMIT = 2 ** 48;

/** The `xxxxxxxx-xxxx-8xxx-yxxx-` prefix of 10 bytes, with the version and variant bits set. */
export function uuidPrefix(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 10));
  if (b.length !== 10) throw new RangeError('a UUID prefix needs 10 bytes');
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-`;
}

/** The id of ordinal `n` (0 ≤ n < 2^48) under `prefix`. */
export function uuidAt(prefix: string, n: number): string {
  return prefix + n.toString(16).padStart(12, '0');
}

/**
 * Unique ids for this process: 74 random bits shared by its ids, then a counter; a new random
 * prefix is drawn when the counter runs out.
 */
export function sequentialIds(random: (n: number) => Buffer = randomBytes, limit = COUNTER_LIMIT): () => string {
  let prefix = uuidPrefix(random(10));
  let n = 0;
  return () => {
    if (n >= limit) {
      prefix = uuidPrefix(random(10));
      n = 0;
    }
    return uuidAt(prefix, n++);
  };
}
