// Android logcat lines, as they appear in captures and adb dumps:
//   brief:       I/battery_level( 2488): [81,3986,254]
//   time:        02-27 18:51:16.580 V/SlnkHTTPServerUtils( 3093): Battery percentage: 1.0
//   threadtime:  02-27 18:51:16.580  3093  3110 V SlnkHTTPServerUtils: Battery percentage: 1.0
//   with year:   2024-02-27 18:51:16.580 … (logcat -v year)
//   modifiers:   `zone` (18:51:16.580 +0100 …), `epoch` (1709059876.580 …), `uid` (… u0_a12  3093  3110 V …),
//                `usec` (18:51:16.580123)
//   process:     I( 3266) Upgrade not required: …  (SlnkOTA)
//   thread:      I( 3266: 3270) Upgrade not required: …
// The letter is the level: V/D 7, I 6, W 4, E 3, F/A 0.

import { emptyRecord, severityName, u32, type LogRecord, type YearRule } from '../core/record.js';
import { severityByLetter } from './pri.js';
import { cleanTag } from './tag.js';
import { digitsAt, fractionAt, inferYear, isDigit, toIso, wallTimeToUtc } from './time.js';

export interface Logcat {
  timeMs: number | null;
  severity: number;
  tag: string | null;
  pid: number | null;
  tid: number | null;
  message: string;
}

/** `L/TAG( PID): MSG` at `at`. */
function parseBrief(s: string, at: number): Omit<Logcat, 'timeMs'> | null {
  const severity = severityByLetter(s.charCodeAt(at));
  if (severity >= 0 && s.charCodeAt(at + 1) === 40 /* ( */) return parseProcessOrThread(s, at, severity);
  if (severity < 0 || s.charCodeAt(at + 1) !== 47 /* / */) return null;
  const close = s.indexOf('):', at + 2);
  if (close < 0) {
    // `I/Tag: msg` (tag-only brief variants)
    const colon = s.indexOf(': ', at + 2);
    if (colon < 0) return null;
    return { severity, tag: cleanTag(s.slice(at + 2, colon)), pid: null, tid: null, message: s.slice(colon + 2) };
  }
  const open = s.lastIndexOf('(', close);
  if (open < at + 2) return null;
  const pidText = s.slice(open + 1, close).trim();
  if (!/^\d{1,10}$/.test(pidText)) return null;
  let m = close + 2;
  if (s.charCodeAt(m) === 32) m++;
  return { severity, tag: cleanTag(s.slice(at + 2, open)), pid: u32(Number(pidText)), tid: null, message: s.slice(m) };
}

/** `L( PID) MSG  (TAG)` (-v process) or `L( PID: TID) MSG` (-v thread). */
function parseProcessOrThread(s: string, at: number, severity: number): Omit<Logcat, 'timeMs'> | null {
  const close = s.indexOf(') ', at + 2);
  if (close < 0) return null;
  const ids = /^ *(\d{1,10})(?: *: *(\d{1,10}))? *$/.exec(s.slice(at + 2, close));
  if (ids === null) return null;
  let message = s.slice(close + 2);
  let tag: string | null = null;
  if (ids[2] === undefined && message.endsWith(')')) {
    const open = message.lastIndexOf('  (');
    if (open >= 0) {
      tag = cleanTag(message.slice(open + 3, -1));
      message = message.slice(0, open);
    }
  }
  return { severity, tag, pid: u32(Number(ids[1])), tid: ids[2] === undefined ? null : u32(Number(ids[2])), message };
}

/** A character of an Android user name as logcat -v uid prints it (`u0_a12`, `system`). */
function isUidChar(c: number): boolean {
  return isDigit(c) || c === 95 || ((c | 0x20) >= 97 && (c | 0x20) <= 122);
}

function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32) i++;
  return i;
}

function readInt(s: string, i: number): { v: number; end: number } | null {
  let v = 0;
  const start = i;
  while (isDigit(s.charCodeAt(i)) && i - start < 10) {
    v = v * 10 + (s.charCodeAt(i) - 48);
    i++;
  }
  return i === start ? null : { v, end: i };
}

/** Date prefix `MM-DD hh:mm:ss.mmm` or `YYYY-MM-DD hh:mm:ss.mmm`; milliseconds required. */
function parseLogcatTime(s: string, tz: string, refMs: number, rule: YearRule): { ms: number; end: number } | null {
  let i = 0;
  // -v epoch: seconds since the epoch, milli- or microseconds after the dot.
  while (isDigit(s.charCodeAt(i))) i++;
  if ((i === 9 || i === 10) && s.charCodeAt(i) === 46) {
    const f = fractionAt(s, i);
    const n = f.end - i - 1;
    if ((n === 3 || n === 6) && s.charCodeAt(f.end) === 32) return { ms: Number(s.slice(0, i)) * 1000 + f.ms, end: f.end };
    return null;
  }
  i = 0;
  let year = -1;
  if (digitsAt(s, 0, 4) >= 0 && s.charCodeAt(4) === 45) {
    year = digitsAt(s, 0, 4);
    i = 5;
  }
  const month = digitsAt(s, i, 2);
  const day = digitsAt(s, i + 3, 2);
  const hour = digitsAt(s, i + 6, 2);
  const minute = digitsAt(s, i + 9, 2);
  const second = digitsAt(s, i + 12, 2);
  if (month < 1 || day < 0 || hour < 0 || minute < 0 || second < 0) return null;
  if (s.charCodeAt(i + 2) !== 45 || s.charCodeAt(i + 5) !== 32 || s.charCodeAt(i + 8) !== 58 || s.charCodeAt(i + 11) !== 58)
    return null;
  const frac = fractionAt(s, i + 14);
  if (frac.end === i + 14) return null; // logcat always prints milliseconds; Kiwi's prefix does not
  // -v zone: ` +hhmm` after the time; the time is then in that offset, not in `tz`.
  const z = s.charCodeAt(frac.end + 1);
  const oh = digitsAt(s, frac.end + 2, 2);
  const om = digitsAt(s, frac.end + 4, 2);
  if (s.charCodeAt(frac.end) === 32 && (z === 43 || z === 45) && oh >= 0 && om >= 0 && s.charCodeAt(frac.end + 6) === 32) {
    const offsetMs = (z === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
    const wall =
      year >= 0
        ? wallTimeToUtc('UTC', year, month - 1, day, hour, minute, second, frac.ms)
        : inferYear('UTC', refMs + offsetMs, month - 1, day, hour, minute, second, frac.ms, rule);
    if (Number.isNaN(wall)) return null;
    return { ms: wall - offsetMs, end: frac.end + 6 };
  }
  const ms =
    year >= 0
      ? wallTimeToUtc(tz, year, month - 1, day, hour, minute, second, frac.ms)
      : inferYear(tz, refMs, month - 1, day, hour, minute, second, frac.ms, rule);
  if (Number.isNaN(ms)) return null;
  return { ms, end: frac.end };
}

export function parseLogcat(s: string, tz: string, refMs: number, rule: YearRule = 'nearest'): Logcat | null {
  const c0 = s.charCodeAt(0);
  if (!isDigit(c0)) {
    const b = parseBrief(s, 0);
    return b === null ? null : { ...b, timeMs: null };
  }
  const t = parseLogcatTime(s, tz, refMs, rule);
  if (t === null) return null;
  let i = skipSpaces(s, t.end);
  if (i === t.end) return null;
  // -v uid puts the uid, a name like `u0_a12` or a number, before PID.
  let u = i;
  while (u < s.length && isUidChar(s.charCodeAt(u))) u++;
  if (!isDigit(s.charCodeAt(i)) && u - i > 1 && u - i <= 16 && s.charCodeAt(u) === 32 && isDigit(s.charCodeAt(skipSpaces(s, u)))) {
    i = skipSpaces(s, u);
  }
  if (isDigit(s.charCodeAt(i))) {
    // threadtime: PID TID L TAG: MSG
    let pid = readInt(s, i);
    if (pid === null) return null;
    i = skipSpaces(s, pid.end);
    let tid = readInt(s, i);
    if (tid === null) return null;
    i = skipSpaces(s, tid.end);
    const third = readInt(s, i);
    if (third !== null) {
      // numeric uid: UID PID TID
      pid = tid;
      tid = third;
      i = skipSpaces(s, third.end);
    }
    const severity = severityByLetter(s.charCodeAt(i));
    if (severity < 0 || s.charCodeAt(i + 1) !== 32) return null;
    i = skipSpaces(s, i + 1);
    const colon = s.indexOf(': ', i);
    let tag: string | null;
    let message: string;
    if (colon < 0) {
      const end = s.endsWith(':') ? s.length - 1 : s.length;
      tag = cleanTag(s.slice(i, end));
      message = '';
    } else {
      tag = cleanTag(s.slice(i, colon));
      message = s.slice(colon + 2);
    }
    return { timeMs: t.ms, severity, tag, pid: u32(pid.v), tid: u32(tid.v), message };
  }
  const b = parseBrief(s, i);
  return b === null ? null : { ...b, timeMs: t.ms };
}

/** A logcat line as a record: its time is the handset's own clock, so it is `device_time`. */
export function logcatToRecord(lc: Logcat): LogRecord {
  const rec = emptyRecord(lc.message);
  rec.format = 'logcat';
  rec.severity = lc.severity;
  rec.severity_name = severityName(lc.severity);
  rec.tag = lc.tag;
  rec.pid = lc.pid;
  rec.tid = lc.tid;
  if (lc.timeMs !== null) rec.device_time = toIso(lc.timeMs);
  return rec;
}
