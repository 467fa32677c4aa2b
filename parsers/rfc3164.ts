// The part of an RFC3164 (BSD) header after its timestamp: `HOST TAG[pid]: MSG` (RFC 3164 §4.1.2,
// §4.1.3). Also serves the internal handset form, where a MAC stands in the host position, and
// rsyslog's file formats, which share this layout after their own timestamp.

import { u32, type LogRecord } from '../core/record.js';
import { normalizeMac } from './mac.js';


function pidValue(s: string, a: number, b: number): number | null {
  if (b <= a || b - a > 10) return null;
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 32) continue;
    if (c < 48 || c > 57) return null;
    v = v * 10 + (c - 48);
  }
  return u32(v);
}

/**
 * Span `[tagStart, tagEnd)` of the tag the last readTagAt found; tagStart is -1 when it found none.
 * The tag is cut out of the line (and cleaned with cleanTag) only if the handset body does not bring
 * its own, which most handset lines do: module state, so the per-line path allocates nothing here.
 */
export let tagStart = -1;
export let tagEnd = -1;

/**
 * Read `TAG[pid]: ` / `TAG: ` at `at` (the tag's span into tagStart/tagEnd, the pid into rec.pid)
 * and return where MSG starts, or -1 (rec untouched, tagStart -1) if no tag delimiter comes before
 * a space — then the text is the message itself (RFC 3164 allows a missing TAG).
 */
export function readTagAt(s: string, at: number, rec: LogRecord): number {
  tagStart = -1;
  // One bounded scan to the first delimiter: this runs on every line.
  const max = Math.min(s.length, at + 256);
  let i = at;
  let c = 0;
  for (; i < max; i++) {
    c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 91 /* [ */ || c === 58 /* : */) break;
  }
  if (i === max && max < s.length) return -1;
  if (c === 58) {
    // `TAG: msg` or `TAG:` at the end; `a:b` inside a word is text, not a tag.
    const next = s.charCodeAt(i + 1);
    if (i === at || (i + 1 < s.length && next !== 32 && next !== 9)) return -1;
    tagStart = at;
    tagEnd = i;
    rec.pid = null;
    return skipOneSpace(s, i + 1);
  }
  if (c !== 91 || i === max || i === at) return -1; // `[fe80::1]` is an IPv6 host, not a tag
  const close = s.indexOf(']', i + 1);
  if (close < 0 || close - i > 24) return -1;
  rec.pid = pidValue(s, i + 1, close);
  tagStart = at;
  tagEnd = i;
  let j = close + 1;
  if (s.charCodeAt(j) === 58) j++;
  return skipOneSpace(s, j);
}

function isWs(c: number): boolean {
  return c === 32 || c === 9;
}

/** Index of the first space or tab at or after `i`, or -1. */
function wsIndex(s: string, i: number): number {
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) return i;
  }
  return -1;
}

function skipOneSpace(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c === 32 || c === 9 ? i + 1 : i;
}

/** `TAG:`, `TAG[pid]:` or `TAG[pid]` as the first token (not `[v6]`, not a plain host). */
function looksLikeTag(s: string, a: number, b: number): boolean {
  if (b <= a) return false;
  if (s.charCodeAt(b - 1) === 58) return true;
  for (let k = a + 1; k < b; k++) if (s.charCodeAt(k) === 91) return true;
  return b === s.length && s.indexOf('\t', a) >= 0;
}

/**
 * Host (or MAC) and tag after a BSD/ISO header timestamp at `at` (pointing at the space after it),
 * read into rec.host / rec.mac / rec.pid and the tag's span (tagStart/tagEnd). Returns where MSG starts.
 */
export function readBsdRest(s: string, at: number, rec: LogRecord): number {
  tagStart = -1;
  let i = at;
  // Cisco IOS ends the time with a colon: `Dec  2 2026 15:00:00: %LINK-3-UPDOWN: …`.
  if (s.charCodeAt(i) === 58 && isWs(s.charCodeAt(i + 1))) i++;
  // Some senders and relays separate the header fields with tabs.
  while (isWs(s.charCodeAt(i))) i++;
  i = skipZoneAndYear(s, i);
  let sp = wsIndex(s, i);
  // A first token that is already `TAG:` / `TAG[pid]:` means the sender left out HOSTNAME.
  if (looksLikeTag(s, i, sp < 0 ? s.length : sp)) {
    const direct = readTagAt(s, i, rec);
    if (direct >= 0) return direct;
  }
  if (sp < 0) return i;
  const mac = normalizeMac(s, i, sp);
  if (mac !== null) rec.mac = mac;
  else if (s.charCodeAt(i) === 91 && s.charCodeAt(sp - 1) === 93) rec.host = s.slice(i + 1, sp - 1);
  else rec.host = s.slice(i, sp);
  while (isWs(s.charCodeAt(sp))) sp++;
  const t = readTagAt(s, sp, rec);
  return t >= 0 ? t : sp;
}

/**
 * Some senders follow the time with a zone abbreviation and a year, as in RFC 3164's own example
 * `Aug 24 05:34:00 CST 1987 mymachine myproc[10]: …`: skip them rather than take "CST" for the host.
 */
function skipZoneAndYear(s: string, i: number): number {
  let j = i;
  while (j < i + 5 && s.charCodeAt(j) >= 65 && s.charCodeAt(j) <= 90) j++;
  if (j - i < 3 || s.charCodeAt(j) !== 32) return i;
  for (let k = j + 1; k < j + 5; k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return i;
  }
  return s.charCodeAt(j + 5) === 32 ? j + 6 : i;
}
