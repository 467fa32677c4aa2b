// The handset's pipe-delimited body (vendor guide, "Syslog Message Structure"):
//   internal form:  TIMESTAMP|TAG|SEV|MISSED| DESCRIPTION
//   network form:   MAC| TIMESTAMP| TAG |SEV|MISSED| DESCRIPTION
// Spaces around `|` vary; the description may itself contain `|`, so only the first fields split.

import { emptyRecord, severityName, UINT32_MAX, type LogRecord, type YearRule } from '../core/record.js';
import { bodyTimeKind, readBodyTime } from './body-time.js';
import { normalizeMac } from './mac.js';
import { severityByLetter } from './pri.js';
import { toIso } from './time.js';


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
  return v <= UINT32_MAX ? v : -1; // what the missed_events column holds
}

/**
 * Read a pipe body starting at `start` of `s` into `rec` (format, MAC, body time, tag, severity,
 * missed events, message, parse_error). Returns false, leaving `rec` untouched, when the text is
 * not a handset body at all (the caller keeps it as a plain message); a recognised but damaged body
 * is read as far as it goes and says why in parse_error. Writing into the record, rather than
 * returning an object of fields, keeps this per-line path free of temporary objects.
 */
export function readPivotBody(s: string, start: number, tz: string, refMs: number, rec: LogRecord, rule: YearRule = 'nearest'): boolean {
  let p = s.indexOf('|', start);
  if (p < 0) return false;
  let a = trimStart(s, start, p);
  let b = trimEnd(s, a, p);
  const mac = normalizeMac(s, a, b);
  let fieldStart = start;
  if (mac !== null) {
    fieldStart = p + 1;
    p = s.indexOf('|', fieldStart);
  }
  if (p < 0) {
    if (mac === null) return false;
    begin(rec, mac);
    a = trimStart(s, fieldStart, s.length);
    b = trimEnd(s, a, s.length);
    const onlyTime = b > a ? readBodyTime(s, a, b, tz, refMs, rule) : NaN;
    if (!Number.isNaN(onlyTime)) {
      // `MAC| TIMESTAMP` and nothing more: the time is still the handset's.
      if (bodyTimeKind === 'uptime') rec.uptime_ms = onlyTime;
      else rec.device_time = toIso(onlyTime);
      return finish(rec, '', 'pipe body truncated after timestamp');
    }
    rec.message = s.slice(fieldStart).trim();
    rec.parse_error = 'pipe body truncated after MAC';
    return true;
  }
  // TIMESTAMP
  a = trimStart(s, fieldStart, p);
  b = trimEnd(s, a, p);
  const timeMs = readBodyTime(s, a, b, tz, refMs, rule);
  // Without a MAC, only a valid timestamp tells a handset body from arbitrary text with a pipe.
  if (Number.isNaN(timeMs) && mac === null) return false;
  begin(rec, mac);
  let errors: string | null = null;
  if (Number.isNaN(timeMs)) errors = `unrecognised body timestamp "${s.slice(a, Math.min(b, a + 20))}"`;
  else if (bodyTimeKind === 'uptime') rec.uptime_ms = timeMs;
  else rec.device_time = toIso(timeMs);
  // TAG
  const tagStart = p + 1;
  p = s.indexOf('|', tagStart);
  if (p < 0) return finish(rec, s.slice(tagStart).trim(), join(errors, 'pipe body truncated after timestamp'));
  a = trimStart(s, tagStart, p);
  b = trimEnd(s, a, p);
  if (b > a) rec.tag = s.slice(a, b); // the body's tag is the handset's own
  // SEV
  const sevStart = p + 1;
  p = s.indexOf('|', sevStart);
  if (p < 0) return finish(rec, s.slice(sevStart).trim(), join(errors, 'pipe body truncated after tag'));
  a = trimStart(s, sevStart, p);
  b = trimEnd(s, a, p);
  const sev = decodeSevField(s, a, b);
  if (sev >= 0) {
    rec.severity = sev;
    rec.severity_name = severityName(sev);
  } else errors = join(errors, `unrecognised severity field "${s.slice(a, Math.min(b, a + 10))}"`);
  // MISSED
  const missedStart = p + 1;
  p = s.indexOf('|', missedStart);
  if (p < 0) {
    // Some firmware omits the description separator on empty descriptions: `…|7|00`.
    a = trimStart(s, missedStart, s.length);
    b = trimEnd(s, a, s.length);
    const m = parseMissed(s, a, b);
    if (m >= 0) {
      rec.missed_events = m;
      return finish(rec, '', errors);
    }
    return finish(rec, s.slice(missedStart).trim(), join(errors, 'pipe body truncated after severity'));
  }
  a = trimStart(s, missedStart, p);
  b = trimEnd(s, a, p);
  const missed = parseMissed(s, a, b);
  if (missed >= 0) rec.missed_events = missed;
  else errors = join(errors, `unrecognised missed-events field "${s.slice(a, Math.min(b, a + 10))}"`);
  // DESCRIPTION: everything after the fifth separator, pipes included.
  a = trimStart(s, p + 1, s.length);
  b = trimEnd(s, a, s.length);
  return finish(rec, s.slice(a, b), errors);
}

function begin(rec: LogRecord, mac: string | null): void {
  rec.format = 'pivot';
  if (mac !== null) rec.mac = mac;
}

function finish(rec: LogRecord, message: string, errors: string | null): true {
  rec.message = message;
  if (errors !== null) rec.parse_error = errors;
  return true;
}

function join(a: string | null, b: string): string {
  return a === null ? b : `${a}; ${b}`;
}

/** Whether `s[start…]` is a handset pipe body (reads it into a scratch record). */
export function isPivotBody(s: string, start: number, tz: string, refMs: number, rule: YearRule = 'nearest'): boolean {
  return readPivotBody(s, start, tz, refMs, emptyRecord(''), rule);
}
