// The parser entry: bytes or a string in, one record out, whatever the input. Detects the framing
// of the line (PRI + RFC5424 / RFC3164, a syslog server's file prefix, rsyslog's ISO file lines,
// logcat, a bare handset body) and then reads the handset's pipe body out of the message.

import { emptyRecord, prependParseError, severityName, type LogRecord, type ParseContext, type YearRule } from '../core/record.js';
import { decodeInto } from './decoders/index.js';
import { logcatToRecord, parseLogcat } from './logcat.js';
import { normalizeMac } from './mac.js';
import { isPivotBody, readPivotBody } from './pivot.js';
import { parseFacilityLevel, parsePri, type Pri } from './pri.js';
import { readBsdRest, readTagAt, tagEnd, tagStart } from './rfc3164.js';
import { cleanTag } from './tag.js';
import { decodeText } from './text.js';
import { parseRfc5424, type StructuredData } from './rfc5424.js';
import { bsdTimeEnd, digitsAt, monthIndex, parseBsdTimeAt, parseIsoAt, readBsdTime, toIso } from './time.js';

export type { ParseContext } from '../core/record.js';

/** A record of the rfc5424 kind may carry these two extra fields. */
export interface ParsedRecord extends LogRecord {
  msgid?: string;
  structured_data?: StructuredData;
}

/** Strip what frames a line on the wire or in a file: trailing CR, LF, NUL; a leading BOM or NUL. */
export function stripLineEnd(s: string): string {
  let end = s.length;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c === 10 || c === 13 || c === 0) end--;
    else break;
  }
  let start = 0;
  while (start < end) {
    const c = s.charCodeAt(start);
    if (c === 0 || c === 0xfeff) start++;
    else break;
  }
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

export function parseLine(input: string | Uint8Array, ctx: ParseContext): ParsedRecord {
  const text = typeof input === 'string' ? input : decodeText(input);
  const s = stripLineEnd(text);
  try {
    return parseText(s, ctx);
  } catch (e: unknown) {
    // A parser bug must not lose the line: keep it raw and say why.
    const rec = emptyRecord(s);
    rec.parse_error = `internal parser error: ${e instanceof Error ? e.message : String(e)}`;
    return rec;
  }
}

function parseText(s: string, ctx: ParseContext): ParsedRecord {
  if (s.length === 0) {
    const rec = emptyRecord('');
    rec.parse_error = 'empty message';
    return rec;
  }
  const pri = parsePri(s);
  if (pri !== null) return parseAfterPri(s, pri, ctx);
  const c0 = s.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    // `YYYY-MM-DD hh:mm:ss Facility.Level HOST …` (Kiwi-style server file) or ISO rsyslog file lines,
    // or logcat `MM-DD hh:mm:ss.mmm …`, or a bare handset body `TIMESTAMP|TAG|…`.
    const kiwi = parseServerFileLine(s, ctx);
    if (kiwi !== null) return kiwi;
    if (digitsAt(s, 0, 4) >= 0 && s.charCodeAt(4) === 45) {
      const iso = parseIsoAt(s, 0, ctx.tz, false);
      if (iso !== null && s.charCodeAt(iso.end) === 32) return headerRecord(s, 'rfc3164', null, iso.ms, iso.end, ctx);
    }
  } else {
    const bsd = parseBsdTimeAt(s, 0, ctx.tz, ctx.receivedAtMs, ctx.yearRule);
    if (bsd !== null) return headerRecord(s, 'rfc3164', null, bsd.ms, bsd.end, ctx);
  }
  const lc = parseLogcat(s, ctx.tz, ctx.receivedAtMs, ctx.yearRule);
  if (lc !== null) return withDecoders(logcatToRecord(lc));
  const bare = emptyRecord('');
  if (readPivotBody(s, 0, ctx.tz, ctx.receivedAtMs, bare, ctx.yearRule)) return withDecoders(bare);
  const rec = emptyRecord(s);
  rec.parse_error = 'no syslog header, logcat prefix or handset body recognised';
  return rec;
}

function parseAfterPri(s: string, pri: Pri, ctx: ParseContext): ParsedRecord {
  const at = pri.end;
  if (s.charCodeAt(at) === 49 && s.charCodeAt(at + 1) === 32) {
    const h = parseRfc5424(s, at, ctx.tz);
    if (h !== null) {
      const rec: ParsedRecord = emptyRecord('');
      rec.format = 'rfc5424';
      setSeverity(rec, pri.facility, pri.severity);
      rec.syslog_time = h.timeMs === null ? null : toIso(h.timeMs);
      rec.host = h.host;
      rec.tag = h.app;
      rec.pid = h.pid;
      if (h.msgid !== null) rec.msgid = h.msgid;
      if (h.sd !== null) rec.structured_data = h.sd;
      // The header's own time anchors the body's year-less time; without one, the context's does.
      if (h.timeMs === null) applyPivot(rec, s, h.msgStart, ctx, ctx.receivedAtMs, ctx.yearRule);
      else applyPivot(rec, s, h.msgStart, ctx, h.timeMs);
      // A relay forwarding the handset's internal form puts its MAC in HOSTNAME, as RFC 3164 does.
      if (rec.mac === null && h.host !== null) rec.mac = normalizeMac(h.host);
      if (h.error !== null) prependParseError(rec, h.error);
      return withDecoders(rec);
    }
  }
  const bsdMs = readBsdTime(s, at, ctx.tz, ctx.receivedAtMs, ctx.yearRule);
  if (!Number.isNaN(bsdMs)) return headerRecord(s, 'rfc3164', pri, bsdMs, bsdTimeEnd, ctx);
  const iso = parseIsoAt(s, at, ctx.tz, false);
  if (iso !== null && s.charCodeAt(iso.end) === 32) return headerRecord(s, 'rfc3164', pri, iso.ms, iso.end, ctx);
  // PRI but no timestamp: RFC 3164 §4.3.2 says the rest is the message. We keep the priority.
  const rec = emptyRecord('');
  setSeverity(rec, pri.facility, pri.severity);
  const lc = parseLogcat(s.slice(at), ctx.tz, ctx.receivedAtMs, ctx.yearRule);
  if (lc !== null) {
    const l = logcatToRecord(lc);
    l.facility = pri.facility;
    return withDecoders(l);
  }
  if (isPivotBody(s, at, ctx.tz, ctx.receivedAtMs, ctx.yearRule)) {
    applyPivot(rec, s, at, ctx, ctx.receivedAtMs, ctx.yearRule);
    prependParseError(rec, 'no timestamp in syslog header');
    return withDecoders(rec);
  }
  rec.message = s.slice(at);
  // `Feb 30 12:00:00` looks like a header time but is no date.
  const looksBsd = monthIndex(s, at) >= 0 && s.charCodeAt(at + 3) === 32 && (s.charCodeAt(at + 4) === 32 || digitsAt(s, at + 4, 1) >= 0);
  rec.parse_error = looksBsd ? 'invalid RFC3164 timestamp' : 'no timestamp after PRI';
  return rec;
}

/** RFC3164-style header whose timestamp ended at `tsEnd`: host, tag, then the body. */
function headerRecord(
  s: string,
  format: 'rfc3164',
  pri: Pri | { facility: number; severity: number } | null,
  timeMs: number,
  tsEnd: number,
  ctx: ParseContext,
  fallbackHost: string | null = null,
): ParsedRecord {
  const rec: ParsedRecord = emptyRecord('');
  rec.format = format;
  if (pri !== null) setSeverity(rec, pri.facility, pri.severity);
  rec.syslog_time = toIso(timeMs);
  const msgStart = readBsdRest(s, tsEnd, rec);
  if (rec.host === null) rec.host = fallbackHost;
  applyPivotCleaningTag(rec, s, msgStart, ctx, timeMs);
  return withDecoders(rec);
}

/**
 * Read the handset pipe body from `s[at…]` into `rec` when there is one; otherwise the text is the
 * message. `refMs` anchors the year of the body's MMDDHHMMSS form (the header time when known,
 * nearest to it; else the context's time, by the context's rule).
 */
function applyPivot(rec: LogRecord, s: string, at: number, ctx: ParseContext, refMs: number, rule: YearRule = 'nearest'): void {
  if (!readPivotBody(s, at, ctx.tz, refMs, rec, rule)) rec.message = at === 0 ? s : s.slice(at);
}

/**
 * applyPivot after a header whose tag readTagAt found (tagStart/tagEnd): the header's tag is cut out
 * and cleaned only if the body does not bring the handset's own.
 */
function applyPivotCleaningTag(rec: LogRecord, s: string, at: number, ctx: ParseContext, refMs: number): void {
  const a = tagStart;
  const b = tagEnd;
  if (a < 0 && readPivotAfterSpacedTag(rec, s, at, ctx, refMs)) return;
  applyPivot(rec, s, at, ctx, refMs);
  if (rec.tag === null && a >= 0) rec.tag = cleanTag(s.slice(a, b));
}

/**
 * A header tag with spaces, which RFC 3164 does not foresee but the handsets send: the guide lists
 * the tag `SlnkWebViewHelper - SlnkJavaScriptInterface`, so its lines arrive as
 * `… 172.29.69.30 SlnkWebViewHelper - SlnkJavaScriptInterface[3367]: MAC|TIMESTAMP|…`. When no tag
 * ended before the first space, the handset body is looked for after the first `: ` (close by);
 * only a recognised body makes the text before it the tag.
 */
function readPivotAfterSpacedTag(rec: LogRecord, s: string, at: number, ctx: ParseContext, refMs: number): boolean {
  const colon = s.indexOf(': ', at);
  if (colon <= at || colon - at > 128) return false;
  let end = colon;
  let pid: number | null = null;
  if (s.charCodeAt(colon - 1) === 93 /* ] */) {
    const open = s.lastIndexOf('[', colon);
    if (open > at) {
      const digits = s.slice(open + 1, colon - 1).trim();
      if (/^\d{1,10}$/.test(digits)) {
        pid = Number(digits);
        end = open;
      }
    }
  }
  const headerTag = cleanTag(s.slice(at, end));
  if (headerTag === null || headerTag.includes('|')) return false;
  if (!readPivotBody(s, colon + 2, ctx.tz, refMs, rec)) return false;
  if (rec.tag === null) rec.tag = headerTag;
  rec.pid = pid;
  return true;
}

function setSeverity(rec: LogRecord, facility: number, severity: number): void {
  rec.facility = facility;
  rec.severity = severity;
  rec.severity_name = severityName(severity);
}

function withDecoders(rec: ParsedRecord): ParsedRecord {
  if (rec.message.length > 0) decodeInto(rec);
  return rec;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9;
}

/** The columns of a syslog server's file line before the sender's message (see parseServerFileLine). */
interface ServerFilePrefix {
  /** The server's receive time, epoch ms. */
  recvMs: number;
  facility: number;
  severity: number;
  host: string | null;
  /** Where the sender's message (MSG) starts. */
  msgStart: number;
}

/** `YYYY-MM-DD hh:mm:ss<ws>Facility.Level<ws>HOST<ws>` at the start of `s`, or null. */
function readServerFilePrefix(s: string, tz: string): ServerFilePrefix | null {
  const recv = parseIsoAt(s, 0, tz, true);
  if (recv === null || !isWs(s.charCodeAt(recv.end))) return null;
  let i = recv.end;
  while (isWs(s.charCodeAt(i))) i++;
  let j = i;
  while (j < s.length && !isWs(s.charCodeAt(j))) j++;
  const fl = parseFacilityLevel(s.slice(i, j));
  if (fl === null) return null;
  i = j;
  while (isWs(s.charCodeAt(i))) i++;
  j = i;
  while (j < s.length && !isWs(s.charCodeAt(j))) j++;
  const host = j > i ? s.slice(i, j) : null;
  i = j;
  while (isWs(s.charCodeAt(i))) i++;
  return { recvMs: recv.ms, facility: fl.facility, severity: fl.severity, host, msgStart: i };
}

/**
 * A syslog server's log file line (Kiwi and similar): `YYYY-MM-DD hh:mm:ss<ws>Facility.Level<ws>HOST<ws>MSG`,
 * where MSG is the sender's message without PRI. The server's own time anchors the year of MSG's
 * RFC3164 header, and its Facility.Level column gives the priority.
 */
function parseServerFileLine(s: string, ctx: ParseContext): ParsedRecord | null {
  const p = readServerFilePrefix(s, ctx.tz);
  if (p === null) return null;
  const fl = { facility: p.facility, severity: p.severity };
  const host = p.host;
  const i = p.msgStart;
  const refCtx: ParseContext = { receivedAtMs: p.recvMs, tz: ctx.tz };
  // The message column may still carry a PRI (some servers keep it) or an RFC5424 header.
  const pri = parsePri(s.slice(i));
  if (pri !== null) {
    const inner = parseAfterPri(s.slice(i), pri, refCtx);
    if (inner.host === null) inner.host = host;
    return inner;
  }
  if (s.charCodeAt(i) === 49 && s.charCodeAt(i + 1) === 32) {
    const inner = parseAfterPri(s.slice(i), { facility: fl.facility, severity: fl.severity, end: 0 }, refCtx);
    if (inner.format !== 'raw') {
      if (inner.host === null) inner.host = host;
      if (inner.severity === null) setSeverity(inner, fl.facility, fl.severity);
      return inner;
    }
  }
  const bsd = parseBsdTimeAt(s, i, ctx.tz, p.recvMs);
  if (bsd !== null) return headerRecord(s, 'rfc3164', fl, bsd.ms, bsd.end, refCtx, host);
  // No header of the sender's own: the server's time is the syslog time.
  const rec: ParsedRecord = emptyRecord('');
  rec.format = 'rfc3164';
  setSeverity(rec, fl.facility, fl.severity);
  rec.syslog_time = toIso(p.recvMs);
  rec.host = host;
  if (host !== null) rec.mac = normalizeMac(host);
  const msgStart = readTagAt(s, i, rec);
  applyPivotCleaningTag(rec, s, msgStart >= 0 ? msgStart : i, refCtx, p.recvMs);
  return withDecoders(rec);
}

/**
 * The frame a sender sent, for a line of a syslog server's file, as far as the file keeps it (what
 * replay re-sends):
 * - Kiwi-style `date time Facility.Level HOST MSG` → `<PRI>MSG`, PRI from the Facility.Level column
 *   (MSG as it is when it kept a PRI of its own);
 * - rsyslog's traditional and ISO lines (`TIMESTAMP HOST TAG: MSG`, written without the PRI) →
 *   `<PRI>` + the line; the file does not keep the PRI, so it is local0 with the handset body's
 *   severity for handset lines (the handsets' 16·8 + level), else user.notice `<13>` (what RFC 3164
 *   §4.3.3 has a relay add to a message without one).
 * Anything else (a frame with its PRI, a logcat line, a bare handset body, text no parser knows) is
 * returned unchanged.
 */
export function senderFrame(line: string): string {
  const s = stripLineEnd(line);
  if (s.length === 0 || parsePri(s) !== null) return line;
  const c0 = s.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    const p = readServerFilePrefix(s, 'UTC');
    if (p !== null) {
      const msg = s.slice(p.msgStart);
      return parsePri(msg) !== null ? msg : `<${p.facility * 8 + p.severity}>${msg}`;
    }
    if (digitsAt(s, 0, 4) < 0 || s.charCodeAt(4) !== 45) return line;
    const iso = parseIsoAt(s, 0, 'UTC', false);
    if (iso === null || s.charCodeAt(iso.end) !== 32) return line;
  } else if (parseBsdTimeAt(s, 0, 'UTC', 0) === null) return line;
  const rec = parseLine(s, { receivedAtMs: 0, tz: 'UTC' });
  const pri = rec.format === 'pivot' && rec.severity !== null ? 16 * 8 + rec.severity : 13;
  return `<${pri}>${s}`;
}
