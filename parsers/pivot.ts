// The handset's pipe-delimited body (vendor guide, "Syslog Message Structure"):
//   internal form:  TIMESTAMP|TAG|SEV|MISSED| DESCRIPTION
//   network form:   MAC| TIMESTAMP| TAG |SEV|MISSED| DESCRIPTION
// Spaces around `|` vary; the description may itself contain `|`, so only the first fields split.

import { parseBodyTime, type BodyTime } from './body-time.js';
import { normalizeMac } from './mac.js';
import { severityByLetter } from './pri.js';

export interface PivotBody {
  mac: string | null;
  time: BodyTime | null;
  tag: string | null;
  severity: number | null;
  missed: number | null;
  message: string;
  error: string | null;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

function trimStart(s: string, a: number, b: number): number {
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  return a;
}

function trimEnd(s: string, a: number, b: number): number {
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return b;
}

/**
 * SEV field: the level 0–7, or the encoded value 16*8 + level (128–135). The guide's table prints
 * 128–133 for Fatal…Verbose, contradicting its own formula and its examples (`|134|` on Info
 * lines); the formula wins. A single level letter (F/E/W/I/D/V) is accepted too.
 */
export function decodeSevField(s: string, a: number, b: number): number {
  const len = b - a;
  if (len === 1) {
    const c = s.charCodeAt(a);
    if (c >= 48 && c <= 55) return c - 48;
    return severityByLetter(c);
  }
  if (len === 3) {
    const v = (s.charCodeAt(a) - 48) * 100 + (s.charCodeAt(a + 1) - 48) * 10 + (s.charCodeAt(a + 2) - 48);
    if (v >= 128 && v <= 135 && s.charCodeAt(a) === 49) return v - 128;
    return -1;
  }
  if (len === 2 && s.charCodeAt(a) === 48) return decodeSevField(s, a + 1, b);
  return -1;
}

function parseMissed(s: string, a: number, b: number): number {
  if (a === b || b - a > 15) return -1;
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/**
 * Parse a pipe body starting at `start` of `s`. Returns null when the text is not a handset body at
 * all (so the caller keeps it as a plain message); a recognised but damaged body comes back with
 * `error` set and whatever fields could be read.
 */
export function parsePivotBody(s: string, start: number, tz: string, refMs: number): PivotBody | null {
  let p = s.indexOf('|', start);
  if (p < 0) return null;
  let a = trimStart(s, start, p);
  let b = trimEnd(s, a, p);
  const mac = normalizeMac(s, a, b);
  let fieldStart = start;
  if (mac !== null) {
    fieldStart = p + 1;
    p = s.indexOf('|', fieldStart);
  }
  // TIMESTAMP
  const out: PivotBody = { mac, time: null, tag: null, severity: null, missed: null, message: '', error: null };
  if (p < 0) {
    if (mac === null) return null;
    out.message = s.slice(fieldStart).trim();
    out.error = 'pipe body truncated after MAC';
    return out;
  }
  a = trimStart(s, fieldStart, p);
  b = trimEnd(s, a, p);
  const time = parseBodyTime(s, a, b, tz, refMs);
  // Without a MAC, only a valid timestamp tells a handset body from arbitrary text with a pipe.
  if (time === null && mac === null) return null;
  out.time = time;
  const errors: string[] = [];
  if (time === null) errors.push(`unrecognised body timestamp "${s.slice(a, Math.min(b, a + 20))}"`);
  // TAG
  const tagStart = p + 1;
  p = s.indexOf('|', tagStart);
  if (p < 0) {
    out.message = s.slice(tagStart).trim();
    errors.push('pipe body truncated after timestamp');
    out.error = errors.join('; ');
    return out;
  }
  a = trimStart(s, tagStart, p);
  b = trimEnd(s, a, p);
  if (b > a) out.tag = s.slice(a, b);
  // SEV
  const sevStart = p + 1;
  p = s.indexOf('|', sevStart);
  if (p < 0) {
    out.message = s.slice(sevStart).trim();
    errors.push('pipe body truncated after tag');
    out.error = errors.join('; ');
    return out;
  }
  a = trimStart(s, sevStart, p);
  b = trimEnd(s, a, p);
  const sev = decodeSevField(s, a, b);
  if (sev >= 0) out.severity = sev;
  else errors.push(`unrecognised severity field "${s.slice(a, Math.min(b, a + 10))}"`);
  // MISSED
  const missedStart = p + 1;
  p = s.indexOf('|', missedStart);
  if (p < 0) {
    // Some firmware omits the description separator on empty descriptions: `…|7|00`.
    a = trimStart(s, missedStart, s.length);
  b = trimEnd(s, a, s.length);
    const m = parseMissed(s, a, b);
    if (m >= 0) out.missed = m;
    else {
      out.message = s.slice(missedStart).trim();
      errors.push('pipe body truncated after severity');
    }
    if (errors.length > 0) out.error = errors.join('; ');
    return out;
  }
  a = trimStart(s, missedStart, p);
  b = trimEnd(s, a, p);
  const missed = parseMissed(s, a, b);
  if (missed >= 0) out.missed = missed;
  else errors.push(`unrecognised missed-events field "${s.slice(a, Math.min(b, a + 10))}"`);
  // DESCRIPTION: everything after the fifth separator, pipes included.
  a = trimStart(s, p + 1, s.length);
  b = trimEnd(s, a, s.length);
  out.message = s.slice(a, b);
  if (errors.length > 0) out.error = errors.join('; ');
  return out;
}
