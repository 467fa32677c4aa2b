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
  const max = Math.min(s.length, at + 128);
  for (let i = at; i < max; i++) {
    const c = s.charCodeAt(i);
    if (c === 58 /* : */) {
      if (i === at) return null;
      const next = s.charCodeAt(i + 1);
      if (i + 1 < s.length && next !== 32 && next !== 9) return null; // `a:b` is text, not a tag
      return { tag: cleanTag(s.slice(at, i)), pid: null, msgStart: skipOneSpace(s, i + 1) };
    }
    if (c === 91 /* [ */) {
      const close = s.indexOf(']', i + 1);
      if (close < 0 || close - i > 24) return null;
      const pid = pidValue(s, i + 1, close);
      let j = close + 1;
      if (s.charCodeAt(j) === 58) j++;
      return { tag: i === at ? null : cleanTag(s.slice(at, i)), pid, msgStart: skipOneSpace(s, j) };
    }
    if (c === 32 || c === 9) return null;
  }
  return null;
}

function skipOneSpace(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c === 32 || c === 9 ? i + 1 : i;
}

/** Host (or MAC) and tag after a BSD/ISO header timestamp at `at` (pointing at the space after it). */
export function parseBsdRest(s: string, at: number): BsdRest {
  let i = at;
  while (s.charCodeAt(i) === 32) i++;
  const out: BsdRest = { host: null, mac: null, tag: null, pid: null, msgStart: i };
  // A first token that is already `TAG:` / `TAG[pid]:` means the sender left out HOSTNAME.
  const direct = parseTagAt(s, i);
  if (direct !== null) {
    out.tag = direct.tag;
    out.pid = direct.pid;
    out.msgStart = direct.msgStart;
    return out;
  }
  let sp = s.indexOf(' ', i);
  if (sp < 0) {
    out.msgStart = i;
    return out;
  }
  const mac = normalizeMac(s, i, sp);
  if (mac !== null) out.mac = mac;
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
