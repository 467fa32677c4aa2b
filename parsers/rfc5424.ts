// RFC 5424 §6: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]

import { cleanTag } from './tag.js';
import { parseIsoAt } from './time.js';

export type StructuredData = Record<string, Record<string, string>>;

export interface Rfc5424Header {
  timeMs: number | null;
  host: string | null;
  app: string | null;
  pid: number | null;
  msgid: string | null;
  sd: StructuredData | null;
  msgStart: number;
  error: string | null;
}

function token(s: string, at: number): { value: string | null; end: number } | null {
  let sp = s.indexOf(' ', at);
  if (sp < 0) sp = s.length;
  if (sp === at) return null;
  const v = s.slice(at, sp);
  return { value: v === '-' ? null : v, end: sp };
}

/** Parse SD-ELEMENTs at `at`; values unescape `\"`, `\\` and `\]` (RFC 5424 §6.3.3). */
function parseStructuredData(s: string, at: number): { sd: StructuredData; end: number } | null {
  const sd: StructuredData = {};
  let i = at;
  while (s.charCodeAt(i) === 91 /* [ */) {
    i++;
    let j = i;
    while (j < s.length && s.charCodeAt(j) !== 32 && s.charCodeAt(j) !== 93) j++;
    if (j >= s.length || j === i) return null;
    const id = s.slice(i, j);
    const params: Record<string, string> = sd[id] ?? {};
    sd[id] = params;
    i = j;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 93 /* ] */) {
        i++;
        break;
      }
      if (c !== 32) return null;
      i++;
      const eq = s.indexOf('=', i);
      if (eq < 0 || s.charCodeAt(eq + 1) !== 34) return null;
      const name = s.slice(i, eq);
      i = eq + 2;
      let value = '';
      let closed = false;
      while (i < s.length) {
        const d = s.charCodeAt(i);
        if (d === 92 /* \ */) {
          const e = s.charCodeAt(i + 1);
          if (e === 34 || e === 92 || e === 93) {
            value += String.fromCharCode(e);
            i += 2;
            continue;
          }
          value += '\\'; // §6.3.3: a backslash before anything else is kept
          i++;
          continue;
        }
        if (d === 34) {
          closed = true;
          i++;
          break;
        }
        value += s[i];
        i++;
      }
      if (!closed) return null;
      params[name] = value;
    }
  }
  return { sd, end: i };
}

/** Parse from `at`, which points at VERSION (the `1` after PRI). */
export function parseRfc5424(s: string, at: number, tz: string): Rfc5424Header | null {
  if (s.charCodeAt(at) !== 49 || s.charCodeAt(at + 1) !== 32) return null;
  let i = at + 2;
  const out: Rfc5424Header = { timeMs: null, host: null, app: null, pid: null, msgid: null, sd: null, msgStart: s.length, error: null };
  if (s.charCodeAt(i) === 45 /* - */ && s.charCodeAt(i + 1) === 32) {
    i += 1;
  } else {
    const t = parseIsoAt(s, i, tz, false);
    if (t !== null && t.end === s.length) {
      out.timeMs = t.ms;
      out.error = 'RFC5424 header truncated';
      return out;
    }
    if (t === null || s.charCodeAt(t.end) !== 32) {
      out.error = 'invalid RFC5424 timestamp';
      out.msgStart = i; // keep the rest readable as the message
      return out;
    }
    out.timeMs = t.ms;
    i = t.end;
  }
  const fields: (string | null)[] = [];
  for (let k = 0; k < 4; k++) {
    if (s.charCodeAt(i) !== 32) {
      out.error = 'RFC5424 header truncated';
      out.msgStart = Math.min(i, s.length);
      return assign(out, fields);
    }
    const tk = token(s, i + 1);
    if (tk === null) {
      out.error = 'RFC5424 header truncated';
      out.msgStart = Math.min(i + 1, s.length);
      return assign(out, fields);
    }
    fields.push(tk.value);
    i = tk.end;
  }
  assign(out, fields);
  if (s.charCodeAt(i) !== 32) {
    out.error = 'RFC5424 structured data missing';
    return out;
  }
  i++;
  if (s.charCodeAt(i) === 45 /* - */) {
    i++;
  } else {
    const sd = parseStructuredData(s, i);
    if (sd === null) {
      out.error = 'malformed RFC5424 structured data';
      out.msgStart = i;
      return out;
    }
    out.sd = sd.sd;
    i = sd.end;
  }
  if (s.charCodeAt(i) === 32) i++;
  if (s.charCodeAt(i) === 0xfeff) i++; // BOM (§6.4), decoded from EF BB BF
  out.msgStart = i;
  return out;
}

function assign(out: Rfc5424Header, f: (string | null)[]): Rfc5424Header {
  out.host = f[0] ?? null;
  const app = f[1];
  out.app = app === undefined || app === null ? null : cleanTag(app);
  const procid = f[2];
  out.pid = procid !== undefined && procid !== null && /^\d{1,10}$/.test(procid) && Number(procid) <= 4_294_967_295 ? Number(procid) : null;
  out.msgid = f[3] ?? null;
  return out;
}
