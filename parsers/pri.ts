// Syslog PRI `<N>`: N = facility * 8 + severity (RFC 5424 §6.2.1, RFC 3164 §4.1.1).

export interface Pri {
  facility: number;
  severity: number;
  /** Index just past `>`. */
  end: number;
}

/** PRI at the start of `s`, or null. At most three digits, value 0–191, no leading zeros beyond `<0>`. */
export function parsePri(s: string): Pri | null {
  if (s.charCodeAt(0) !== 60 /* < */) return null;
  let v = 0;
  let i = 1;
  for (; i <= 4; i++) {
    const c = s.charCodeAt(i);
    if (c === 62 /* > */) break;
    if (c < 48 || c > 57) return null;
    v = v * 10 + (c - 48);
  }
  if (i === 1 || i > 4 || s.charCodeAt(i) !== 62 || v > 191) return null;
  return { facility: v >> 3, severity: v & 7, end: i + 1 };
}

const FACILITIES: Record<string, number> = {
  kern: 0, kernel: 0, user: 1, mail: 2, daemon: 3, auth: 4, security: 4, syslog: 5, lpr: 6, news: 7,
  uucp: 8, cron: 9, clock: 9, authpriv: 10, ftp: 11, ntp: 12, audit: 13, alert: 14, cron2: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

const LEVELS: Record<string, number> = {
  emerg: 0, emergency: 0, panic: 0, fatal: 0, alert: 1, crit: 2, critical: 2, err: 3, error: 3,
  warn: 4, warning: 4, notice: 5, info: 6, informational: 6, information: 6, debug: 7, verbose: 7,
};

/** Facility number of a name like `Local0` / `kern`, or -1. */
export function facilityByName(name: string): number {
  return FACILITIES[name.toLowerCase()] ?? -1;
}

/** Severity number of a level name like `Debug` / `err` / `Warning`, or -1. */
export function severityByName(name: string): number {
  return LEVELS[name.toLowerCase()] ?? -1;
}

/** A syslog server's `Facility.Level` column (Kiwi: `Local0.Debug`). */
export function parseFacilityLevel(col: string): { facility: number; severity: number } | null {
  const dot = col.indexOf('.');
  if (dot <= 0) return null;
  const facility = facilityByName(col.slice(0, dot));
  const severity = severityByName(col.slice(dot + 1));
  if (facility < 0 || severity < 0) return null;
  return { facility, severity };
}

/** A logcat / handset letter: V and D are Debug (7), I Info, W Warning, E Error, F and A Fatal. */
export function severityByLetter(c: number): number {
  switch (c | 0x20) {
    case 118: // v
    case 100: // d
      return 7;
    case 105: // i
      return 6;
    case 119: // w
      return 4;
    case 101: // e
      return 3;
    case 102: // f
    case 97: // a (assert)
      return 0;
    default:
      return -1;
  }
}
