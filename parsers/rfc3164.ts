// The part of an RFC3164 (BSD) header after its timestamp: `HOST TAG[pid]: MSG` (RFC 3164 §4.1.2,
// §4.1.3). Also serves the internal handset form, where a MAC stands in the host position, and
// rsyslog's file formats, which share this layout after their own timestamp.

import { normalizeMac } from './mac.js';
import { cleanTag } from './tag.js';

export interface BsdRest {
  host: string | null;
  /** MAC found in the host position (the handset's internal form). */
  mac: string | null;
  tag: string | null;
  pid: number | null;
  /** Start of MSG. */
  msgStart: number;
}

function pidValue(s: string, a: number, b: number): number | null {
  if (b <= a || b - a > 10) return null;
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 32) continue;
    if (c < 48 || c > 57) return null;
    v = v * 10 + (c - 48);
  }
  return v;
}

/**
 * Parse `TAG[pid]: ` / `TAG: ` at `at`. Returns null if no tag delimiter comes before a space —
 * then the text is the message itself (RFC 3164 allows a missing TAG).
 */
export function parseTagAt(s: string, at: number): { tag: string | null; pid: number | null; msgStart: number } | null {
  // One bounded scan to the first delimiter: this runs on every line.
  const max = Math.min(s.length, at + 256);
  let i = at;
  let c = 0;
  for (; i < max; i++) {
    c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 91 /* [ */ || c === 58 /* : */) break;
  }
  if (i === max && max < s.length) return null;
  if (c === 58) {
    let sp = i + 1;
    while (sp < s.length && s.charCodeAt(sp) !== 32 && s.charCodeAt(sp) !== 9) sp++;
    return tagBeforeColon(s, at, i, sp);
  }
  if (c !== 91 || i === max || i === at) return null; // `[fe80::1]` is an IPv6 host, not a tag
  const br = i;
  const close = s.indexOf(']', br + 1);
  if (close < 0 || close - br > 24) return null;
  const pid = pidValue(s, br + 1, close);
  let j = close + 1;
  if (s.charCodeAt(j) === 58) j++;
  return { tag: br === at ? null : cleanTag(s.slice(at, br)), pid, msgStart: skipOneSpace(s, j) };
}

function tagBeforeColon(s: string, at: number, colon: number, sp: number) {
  // `TAG: msg` or `TAG:` at the end; `a:b` inside a word is text, not a tag.
  if (colon === at || (colon + 1 !== sp && colon + 1 !== s.length)) return null;
  return { tag: cleanTag(s.slice(at, colon)), pid: null, msgStart: skipOneSpace(s, colon + 1) };
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

/** Host (or MAC) and tag after a BSD/ISO header timestamp at `at` (pointing at the space after it). */
export function parseBsdRest(s: string, at: number): BsdRest {
  let i = at;
  while (s.charCodeAt(i) === 32) i++;
  i = skipZoneAndYear(s, i);
  const out: BsdRest = { host: null, mac: null, tag: null, pid: null, msgStart: i };
  let sp = s.indexOf(' ', i);
  // A first token that is already `TAG:` / `TAG[pid]:` means the sender left out HOSTNAME.
  if (looksLikeTag(s, i, sp < 0 ? s.length : sp)) {
    const direct = parseTagAt(s, i);
    if (direct !== null) {
      out.tag = direct.tag;
      out.pid = direct.pid;
      out.msgStart = direct.msgStart;
      return out;
    }
  }
  if (sp < 0) {
    out.msgStart = i;
    return out;
  }
  const mac = normalizeMac(s, i, sp);
  if (mac !== null) out.mac = mac;
  else if (s.charCodeAt(i) === 91 && s.charCodeAt(sp - 1) === 93) out.host = s.slice(i + 1, sp - 1);
  else out.host = s.slice(i, sp);
  while (s.charCodeAt(sp) === 32) sp++;
  const t = parseTagAt(s, sp);
  if (t !== null) {
    out.tag = t.tag;
    out.pid = t.pid;
    out.msgStart = t.msgStart;
  } else out.msgStart = sp;
  return out;
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
