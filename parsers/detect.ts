// The parser entry: bytes or a string in, one record out, whatever the input. Detects the framing
// of the line (PRI + RFC5424 / RFC3164, a syslog server's file prefix, rsyslog's ISO file lines,
// logcat, a bare handset body) and then reads the handset's pipe body out of the message.

import { emptyRecord, severityName, type LogRecord, type ParseContext } from '../core/record.js';
import { decodeInto } from './decoders/index.js';
import { logcatToRecord, parseLogcat } from './logcat.js';
import { normalizeMac } from './mac.js';
import { isPivotBody, readPivotBody } from './pivot.js';
import { parseFacilityLevel, parsePri, type Pri } from './pri.js';
import { readBsdRest, readTagAt, tagEnd, tagStart } from './rfc3164.js';
import { cleanTag } from './tag.js';
import { parseRfc5424, type StructuredData } from './rfc5424.js';
import { bsdTimeEnd, digitsAt, parseBsdTimeAt, parseIsoAt, readBsdTime, toIso } from './time.js';

export type { ParseContext } from '../core/record.js';

/** A record of the rfc5424 kind may carry these two extra fields. */
export interface ParsedRecord extends LogRecord {
  msgid?: string;
  structured_data?: StructuredData;
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

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
  const text = typeof input === 'string' ? input : decoder.decode(input);
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
    const bsd = parseBsdTimeAt(s, 0, ctx.tz, ctx.receivedAtMs);
    if (bsd !== null) return headerRecord(s, 'rfc3164', null, bsd.ms, bsd.end, ctx);
  }
  const lc = parseLogcat(s, ctx.tz, ctx.receivedAtMs);
  if (lc !== null) return withDecoders(logcatToRecord(lc));
  const bare = emptyRecord('');
  if (readPivotBody(s, 0, ctx.tz, ctx.receivedAtMs, bare)) return withDecoders(bare);
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
      const refMs = h.timeMs ?? ctx.receivedAtMs;
      applyPivot(rec, s, h.msgStart, ctx, refMs);
      if (h.error !== null) rec.parse_error = joinErrors(h.error, rec.parse_error);
      return withDecoders(rec);
    }
  }
  const bsdMs = readBsdTime(s, at, ctx.tz, ctx.receivedAtMs);
  if (!Number.isNaN(bsdMs)) return headerRecord(s, 'rfc3164', pri, bsdMs, bsdTimeEnd, ctx);
  const iso = parseIsoAt(s, at, ctx.tz, false);
  if (iso !== null && s.charCodeAt(iso.end) === 32) return headerRecord(s, 'rfc3164', pri, iso.ms, iso.end, ctx);
  // PRI but no timestamp: RFC 3164 §4.3.2 says the rest is the message. We keep the priority.
  const rec = emptyRecord('');
  setSeverity(rec, pri.facility, pri.severity);
  const lc = parseLogcat(s.slice(at), ctx.tz, ctx.receivedAtMs);
  if (lc !== null) {
    const l = logcatToRecord(lc);
    l.facility = pri.facility;
    return withDecoders(l);
  }
  if (isPivotBody(s, at, ctx.tz, ctx.receivedAtMs)) {
    applyPivot(rec, s, at, ctx, ctx.receivedAtMs);
    rec.parse_error = joinErrors('no timestamp in syslog header', rec.parse_error);
    return withDecoders(rec);
  }
  rec.message = s.slice(at);
  rec.parse_error = 'no timestamp after PRI';
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
 * message. `refMs` anchors the year of the body's MMDDHHMMSS form (the header time when known).
 */
function applyPivot(rec: LogRecord, s: string, at: number, ctx: ParseContext, refMs: number): void {
  if (!readPivotBody(s, at, ctx.tz, refMs, rec)) rec.message = at === 0 ? s : s.slice(at);
}

/**
 * applyPivot after a header whose tag readTagAt found (tagStart/tagEnd): the header's tag is cut out
 * and cleaned only if the body does not bring the handset's own.
 */
function applyPivotCleaningTag(rec: LogRecord, s: string, at: number, ctx: ParseContext, refMs: number): void {
  const a = tagStart;
  const b = tagEnd;
  applyPivot(rec, s, at, ctx, refMs);
  if (rec.tag === null && a >= 0) rec.tag = cleanTag(s.slice(a, b));
}

function setSeverity(rec: LogRecord, facility: number, severity: number): void {
  rec.facility = facility;
  rec.severity = severity;
  rec.severity_name = severityName(severity);
}

function joinErrors(a: string, b: string | undefined): string {
  return b === undefined ? a : `${a}; ${b}`;
}

function withDecoders(rec: ParsedRecord): ParsedRecord {
  if (rec.message.length > 0) decodeInto(rec);
  return rec;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * A syslog server's log file line (Kiwi and similar): `YYYY-MM-DD hh:mm:ss<ws>Facility.Level<ws>HOST<ws>MSG`,
 * where MSG is the sender's message without PRI. The server's own time anchors the year of MSG's
 * RFC3164 header, and its Facility.Level column gives the priority.
 */
function parseServerFileLine(s: string, ctx: ParseContext): ParsedRecord | null {
  const recv = parseIsoAt(s, 0, ctx.tz, true);
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
  const refCtx: ParseContext = { receivedAtMs: recv.ms, tz: ctx.tz };
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
  const bsd = parseBsdTimeAt(s, i, ctx.tz, recv.ms);
  if (bsd !== null) return headerRecord(s, 'rfc3164', fl, bsd.ms, bsd.end, refCtx, host);
  // No header of the sender's own: the server's time is the syslog time.
  const rec: ParsedRecord = emptyRecord('');
  rec.format = 'rfc3164';
  setSeverity(rec, fl.facility, fl.severity);
  rec.syslog_time = toIso(recv.ms);
  rec.host = host;
  if (host !== null) rec.mac = normalizeMac(host);
  const msgStart = readTagAt(s, i, rec);
  applyPivotCleaningTag(rec, s, msgStart >= 0 ? msgStart : i, refCtx, recv.ms);
  return withDecoders(rec);
}
