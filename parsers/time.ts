// Time helpers for parsers. Pure: the reference ("receive") time and the zone are always inputs.

import type { YearRule } from '../core/record.js';

const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

const MONTH_KEYS = new Map<number, number>(
  Object.entries(MONTHS).map(([name, i]) => [(name.charCodeAt(0) << 16) | (name.charCodeAt(1) << 8) | name.charCodeAt(2), i]),
);

/** Month index 0–11 of a three-letter English month name (case-insensitive on the tail), or -1. */
export function monthIndex(s: string, at: number): number {
  const key = ((s.charCodeAt(at) & 0xdf) << 16) | ((s.charCodeAt(at + 1) | 0x20) << 8) | (s.charCodeAt(at + 2) | 0x20);
  const m = MONTH_KEYS.get(key);
  return m === undefined ? -1 : m;
}

const DAY_MS = 86_400_000;

function isUtc(tz: string): boolean {
  return tz === 'UTC' || tz === 'Etc/UTC' || tz === 'GMT' || tz === 'Z';
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();

/** Whether `tz` names a zone this runtime knows (for validating options). */
export function isValidTimeZone(tz: string): boolean {
  if (isUtc(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Offset of `tz` from UTC at the instant `utcMs`, in ms (east positive). */
function zoneOffsetMs(tz: string, utcMs: number): number {
  // Offsets change at most on quarter hours: cache per zone and 15-minute slot.
  const slot = Math.floor(utcMs / 900_000);
  const key = tz + ':' + slot;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  let fmt = formatters.get(tz);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, fmt);
  }
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(new Date(utcMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(
    parts['year'] ?? 1970,
    (parts['month'] ?? 1) - 1,
    parts['day'] ?? 1,
    parts['hour'] ?? 0,
    parts['minute'] ?? 0,
    parts['second'] ?? 0,
  );
  const off = asUtc - (utcMs - (utcMs % 1000 + 1000) % 1000);
  if (offsetCache.size > 10_000) offsetCache.clear();
  offsetCache.set(key, off);
  return off;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return MONTH_DAYS[month] ?? 31;
}

/**
 * Epoch ms of a wall-clock time in `tz`, or NaN when the fields do not form a real date
 * (Feb 30, hour 25, …): Date.UTC would silently roll those over.
 */
export function wallTimeToUtc(
  tz: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number {
  if (!(month >= 0 && month <= 11 && day >= 1 && day <= 31 && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59)) return NaN;
  if (!(second >= 0 && second <= 60 && year >= 0 && Number.isFinite(ms))) return NaN; // NaN fails all of these
  if (day > daysInMonth(year, month)) return NaN; // e.g. Feb 29 in a common year
  // Date.UTC reads years 0–99 as 1900–1999; 400 Gregorian years are a whole number of days.
  const wall =
    year < 100
      ? Date.UTC(year + 400, month, day, hour, minute, second === 60 ? 59 : second, ms) - 146_097 * DAY_MS
      : Date.UTC(year, month, day, hour, minute, second === 60 ? 59 : second, ms);
  if (isUtc(tz)) return wall;
  // Two passes settle the offset across a DST change.
  let utc = wall - zoneOffsetMs(tz, wall);
  utc = wall - zoneOffsetMs(tz, utc);
  return utc;
}

let lastRefMs = NaN;
let lastRefYear = 1970;

/**
 * A year-less wall-clock time (RFC3164, logcat, the handset's MMDDHHMMSS) resolved to a year.
 * `nearest` (default): the year that puts it closest to the reference time: Dec 31 received on
 * Jan 1 is last year, Jan 1 seen on Dec 31 is next year. `past`: the latest year that puts it no
 * more than a day after the reference (the reference is when a file was written). Returns NaN when
 * no year makes it a real date.
 */
export function inferYear(
  tz: string,
  refMs: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  rule: YearRule = 'nearest',
): number {
  if (refMs !== lastRefMs) {
    lastRefMs = refMs;
    lastRefYear = new Date(refMs).getUTCFullYear();
  }
  const refYear = lastRefYear;
  if (rule === 'past') {
    // The year after the reference's (UTC) year can still be within the day, in a zone east of UTC;
    // Feb 29 reaches back to the latest leap year (at most 8 years, across a century).
    const limit = refMs + DAY_MS;
    for (let y = refYear + 1; y >= refYear - 8; y--) {
      const t = wallTimeToUtc(tz, y, month, day, hour, minute, second, ms);
      if (!Number.isNaN(t) && t <= limit) return t;
    }
    return NaN;
  }
  let best = NaN;
  let bestDist = Infinity;
  const first = wallTimeToUtc(tz, refYear, month, day, hour, minute, second, ms);
  if (!Number.isNaN(first)) {
    best = first;
    bestDist = Math.abs(first - refMs);
    if (bestDist < 150 * DAY_MS) return best;
  }
  for (const y of [refYear - 1, refYear + 1, refYear - 2, refYear - 3, refYear + 2, refYear + 3]) {
    const t = wallTimeToUtc(tz, y, month, day, hour, minute, second, ms);
    if (Number.isNaN(t)) continue; // Feb 29 reaches back to the nearest leap year
    const d = Math.abs(t - refMs);
    if (d < bestDist) {
      best = t;
      bestDist = d;
    }
  }
  return best;
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let cachedDay = NaN;
let cachedPrefix = '';

/** `YYYY-MM-DDT` of a day number since the epoch (Hinnant's civil_from_days). */
function datePrefix(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return String(y).padStart(4, '0') + '-' + PAD2[m] + '-' + PAD2[d] + 'T';
}

/** ISO-8601 UTC with milliseconds (`Date#toISOString` format), or null for NaN / out-of-range times. */
let lastIsoMs = NaN;
let lastIso = '';

export function toIso(ms: number): string | null {
  if (ms === lastIsoMs) return lastIso;
  const iso = formatIso(ms);
  if (iso !== null) {
    lastIsoMs = ms;
    lastIso = iso;
  }
  return iso;
}

let cachedSecond = NaN;
let cachedSecondPrefix = '';

function formatIso(ms: number): string | null {
  if (!Number.isFinite(ms) || ms < -62_135_596_800_000 || ms > 253_402_300_799_999) return null;
  // Formatting by hand with a per-second prefix cache: toISOString dominated the parse profile.
  if (ms < 0) return new Date(ms).toISOString();
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  if (second !== cachedSecond) {
    const days = Math.floor(second / 86_400);
    const inDay = second - days * 86_400;
    if (days !== cachedDay) {
      cachedDay = days;
      cachedPrefix = datePrefix(days);
    }
    cachedSecond = second;
    const h = Math.floor(inDay / 3600);
    const mi = Math.floor((inDay % 3600) / 60);
    cachedSecondPrefix = cachedPrefix + PAD2[h] + ':' + PAD2[mi] + ':' + PAD2[inDay % 60] + '.';
  }
  return cachedSecondPrefix + PAD3[whole - second * 1000] + 'Z';
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Value of `n` decimal digits at `at`, or -1 if any is not a digit. */
export function digitsAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i);
    // `!(…)`: past the end charCodeAt is NaN, which fails every comparison
    if (!(c >= 48 && c <= 57)) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

export interface ParsedTime {
  ms: number;
  /** Index just past the timestamp. */
  end: number;
}

/** Fractional seconds `.d+` at `at` as milliseconds (extra digits truncated); end index after it. */
export function fractionAt(s: string, at: number): { ms: number; end: number } {
  if (s.charCodeAt(at) !== 46 /* . */ && s.charCodeAt(at) !== 44 /* , */) return { ms: 0, end: at };
  let i = at + 1;
  let ms = 0;
  let n = 0;
  while (isDigit(s.charCodeAt(i))) {
    if (n < 3) ms = ms * 10 + (s.charCodeAt(i) - 48);
    n++;
    i++;
  }
  if (n === 0) return { ms: 0, end: at };
  while (n < 3) {
    ms *= 10;
    n++;
  }
  return { ms, end: i };
}

/**
 * RFC3339 / ISO-8601 `YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm|±hhmm]` at `at`.
 * Without a zone designator the time is taken in `tz`.
 */
export function parseIsoAt(s: string, at: number, tz: string, allowSpace: boolean): ParsedTime | null {
  const year = digitsAt(s, at, 4);
  if (year < 0 || s.charCodeAt(at + 4) !== 45 || s.charCodeAt(at + 7) !== 45) return null;
  const month = digitsAt(s, at + 5, 2);
  const day = digitsAt(s, at + 8, 2);
  const sep = s.charCodeAt(at + 10);
  if (!(sep === 84 || sep === 116 || (allowSpace && sep === 32))) return null;
  const hour = digitsAt(s, at + 11, 2);
  const minute = digitsAt(s, at + 14, 2);
  const second = digitsAt(s, at + 17, 2);
  if (month < 1 || day < 0 || hour < 0 || minute < 0 || second < 0) return null;
  if (s.charCodeAt(at + 13) !== 58 || s.charCodeAt(at + 16) !== 58) return null;
  const frac = fractionAt(s, at + 19);
  let i = frac.end;
  const z = s.charCodeAt(i);
  let offsetMs: number | null = null;
  if (z === 90 || z === 122) {
    offsetMs = 0;
    i++;
  } else if (z === 43 || z === 45) {
    const oh = digitsAt(s, i + 1, 2);
    let om: number;
    let len: number;
    if (s.charCodeAt(i + 3) === 58) {
      om = digitsAt(s, i + 4, 2);
      len = 6;
    } else {
      om = digitsAt(s, i + 3, 2);
      len = 5;
    }
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return null;
    offsetMs = (z === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
    i += len;
  }
  let ms: number;
  if (offsetMs === null) {
    ms = wallTimeToUtc(tz, year, month - 1, day, hour, minute, second, frac.ms);
  } else {
    ms = wallTimeToUtc('UTC', year, month - 1, day, hour, minute, second, frac.ms);
    ms -= offsetMs;
  }
  if (Number.isNaN(ms)) return null;
  return { ms, end: i };
}

/**
 * RFC3164 `Mmm dd hh:mm:ss` (also `Mmm  d`, optional `.frac`, optional year `Mmm dd yyyy hh:mm:ss`
 * as some devices send) at `at`. Year inferred around `refMs` by `rule`, zone `tz`.
 */
let bsdKey = '';
let bsdTz = '';
let bsdRefMs = NaN;
let bsdRule: YearRule = 'nearest';
let bsdCachedMs = 0;

export function parseBsdTimeAt(s: string, at: number, tz: string, refMs: number, rule: YearRule = 'nearest'): ParsedTime | null {
  const ms = readBsdTime(s, at, tz, refMs, rule);
  return Number.isNaN(ms) ? null : { ms, end: bsdTimeEnd };
}

/** Where the last successful readBsdTime ended (module state: the per-line path allocates nothing). */
export let bsdTimeEnd = 0;

/** Whether `key` occurs in `s` at `at` (a charCodeAt loop: V8's startsWith with a position is a slow call). */
function sameAt(s: string, at: number, key: string): boolean {
  const n = key.length;
  if (at + n > s.length) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(at + i) !== key.charCodeAt(i)) return false;
  return true;
}

/** parseBsdTimeAt without the result object: epoch ms or NaN; the end index is in bsdTimeEnd. */
export function readBsdTime(s: string, at: number, tz: string, refMs: number, rule: YearRule = 'nearest'): number {
  // Senders stamp many lines with the same second: remember the last header time.
  if (
    bsdKey !== '' &&
    sameAt(s, at, bsdKey) &&
    s.charCodeAt(at + bsdKey.length) === 32 &&
    tz === bsdTz &&
    rule === bsdRule &&
    Math.abs(refMs - bsdRefMs) < 3_600_000
  ) {
    bsdTimeEnd = at + bsdKey.length;
    return bsdCachedMs;
  }
  const r = parseBsdTimeUncached(s, at, tz, refMs, rule);
  if (r === null) return NaN;
  bsdKey = s.slice(at, r.end);
  bsdTz = tz;
  bsdRefMs = refMs;
  bsdRule = rule;
  bsdCachedMs = r.ms;
  bsdTimeEnd = r.end;
  return r.ms;
}

/**
 * The year of RFC 3164's own example `Aug 24 05:34:00 CST 1987 mymachine …` (a zone abbreviation
 * and a year after the time, at `at`), or -1. The abbreviation is ambiguous (CST is three zones) and
 * is not used; readBsdRest skips both.
 */
function zoneAndYearAt(s: string, at: number): number {
  if (s.charCodeAt(at) !== 32) return -1;
  let j = at + 1;
  while (j < at + 6 && s.charCodeAt(j) >= 65 && s.charCodeAt(j) <= 90) j++;
  if (j - at - 1 < 3 || s.charCodeAt(j) !== 32) return -1;
  const year = digitsAt(s, j + 1, 4);
  return year >= 1900 && s.charCodeAt(j + 5) === 32 ? year : -1;
}

function parseBsdTimeUncached(s: string, at: number, tz: string, refMs: number, rule: YearRule): ParsedTime | null {
  const month = monthIndex(s, at);
  if (month < 0 || s.charCodeAt(at + 3) !== 32) return null;
  let i = at + 4;
  if (s.charCodeAt(i) === 32) i++; // `Mmm  d`
  let day: number;
  if (isDigit(s.charCodeAt(i)) && isDigit(s.charCodeAt(i + 1))) {
    day = digitsAt(s, i, 2);
    i += 2;
  } else if (isDigit(s.charCodeAt(i))) {
    day = digitsAt(s, i, 1);
    i += 1;
  } else return null;
  if (s.charCodeAt(i) !== 32) return null;
  i++;
  let year = -1;
  if (digitsAt(s, i, 4) >= 0 && s.charCodeAt(i + 4) === 32) {
    year = digitsAt(s, i, 4);
    i += 5;
  }
  const hour = digitsAt(s, i, 2);
  const minute = digitsAt(s, i + 3, 2);
  const second = digitsAt(s, i + 6, 2);
  if (hour < 0 || minute < 0 || second < 0 || s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) return null;
  const frac = fractionAt(s, i + 8);
  let end = frac.end;
  if (year < 0) {
    year = zoneAndYearAt(s, end);
    // The zone and year belong to the time (and to the cache key of readBsdTime).
    if (year >= 0) end = s.indexOf(' ', end + 1) + 5;
  }
  const ms =
    year >= 0
      ? wallTimeToUtc(tz, year, month, day, hour, minute, second, frac.ms)
      : inferYear(tz, refMs, month, day, hour, minute, second, frac.ms, rule);
  if (Number.isNaN(ms)) return null;
  return { ms, end };
}
