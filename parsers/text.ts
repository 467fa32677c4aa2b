// Bytes of a syslog message → text. RFC 5424 §6.4 allows a MSG without BOM in any encoding and RFC
// 3164 senders use the local one, so a sender's Latin-1 / Windows-1252 `café` is common. Decoding
// such bytes as UTF-8 would turn them into U+FFFD in message and raw alike, losing the original; here
// valid UTF-8 is kept and each byte that is not part of a valid UTF-8 sequence is read as
// Windows-1252 (its bytes 0x81 0x8D 0x8F 0x90 0x9D as the C1 code points, as WHATWG decodes them),
// so the text stays readable and every byte remains visible as a character.

import { isUtf8 } from 'node:buffer';

// Windows-1252 bytes 0x80–0x9F (written out: Node's TextDecoder('windows-1252') decodes them as
// Latin-1 C1 controls); 0xA0–0xFF are the Latin-1 code points.
const CP1252_80_9F = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];
const CP1252_HIGH: string[] = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i < 32 ? (CP1252_80_9F[i] as number) : i + 128));

/** Length of the valid UTF-8 sequence starting at `i` (2–4), or 0 (RFC 3629 §4: no overlongs, no surrogates). */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  const c1 = b[i + 1] ?? -1;
  const cont = (x: number) => x >= 0x80 && x <= 0xbf;
  if (c >= 0xc2 && c <= 0xdf) return cont(c1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return c1 >= lo && c1 <= hi && cont(b[i + 2] ?? -1) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return c1 >= lo && c1 <= hi && cont(b[i + 2] ?? -1) && cont(b[i + 3] ?? -1) ? 4 : 0;
  }
  return 0;
}

export function decodeText(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let run = 0;
  let i = 0;
  while (i < buf.length) {
    const c = buf[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = sequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', run, i) + CP1252_HIGH[c - 128];
    i++;
    run = i;
  }
  return out + buf.toString('utf8', run, buf.length);
}
