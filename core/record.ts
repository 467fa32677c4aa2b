// The canonical record of ../shared/DESIGN.md §2. Every parser returns one, every API row extends one.
// Field names are snake_case on purpose: they are the wire and storage names too.

export type LogFormat = 'pivot' | 'rfc3164' | 'rfc5424' | 'logcat' | 'raw';

export type SeverityName = 'Fatal' | 'Alert' | 'Critical' | 'Error' | 'Warning' | 'Notice' | 'Info' | 'Debug';

export const SEVERITY_NAMES: readonly SeverityName[] = [
  'Fatal',
  'Alert',
  'Critical',
  'Error',
  'Warning',
  'Notice',
  'Info',
  'Debug',
];

export type Transport = 'udp' | 'tcp' | 'tls' | 'import';

/** Decoded battery values; every field is optional because each source line carries only some. */
export interface BatteryInfo {
  level_pct?: number;
  voltage_mv?: number;
  temperature_c?: number;
  status?: number;
  status_name?: string;
  health?: number;
  health_name?: string;
  present?: boolean;
  plugged?: number;
  plugged_name?: string;
  technology?: string;
}

/** A decoded handset event other than battery (SIP call state, OTA result, ...). */
export interface EventInfo {
  type: string;
  [field: string]: string | number | boolean | null;
}

export interface LogRecord {
  format: LogFormat;
  facility: number | null;
  severity: number | null;
  severity_name: SeverityName | null;
  /** ISO-8601 UTC of the syslog header time. */
  syslog_time: string | null;
  host: string | null;
  tag: string | null;
  pid: number | null;
  tid: number | null;
  /** 12 lowercase hex digits, no separators. */
  mac: string | null;
  /** ISO-8601 UTC from an absolute body timestamp. */
  device_time: string | null;
  uptime_ms: number | null;
  missed_events: number | null;
  message: string;
  battery?: BatteryInfo;
  event?: EventInfo;
  parse_error?: string;
}

/** Stored / API row: the record plus what the ingest path knows. */
export interface StoredRecord extends LogRecord {
  id: string;
  time: string;
  received_at: string;
  source_ip: string;
  transport: Transport;
  session: string;
  raw: string;
}

/**
 * How the year of a year-less time (RFC3164 `Mmm dd`, logcat `MM-DD`, the handset's MMDDHHMMSS) is
 * chosen around the reference time:
 * - `nearest`: the year that puts it closest to the reference (live traffic: Dec 31 received on
 *   Jan 1 is last year, Jan 1 seen on Dec 31 is next year);
 * - `past`: the reference is when a file was written (its modification time, or `--now`), and a
 *   file cannot hold lines from after that: a time more than a day after the reference is taken
 *   in the year before (a day of slack for clocks and zones).
 */
export type YearRule = 'nearest' | 'past';

/** Inputs a parser needs besides the bytes; parsers never read the clock. */
export interface ParseContext {
  /** Receive time in epoch milliseconds: anchors RFC3164 year inference. */
  receivedAtMs: number;
  /** IANA zone name for zone-less header times ("UTC" by default). */
  tz: string;
  /**
   * Year inference around receivedAtMs (default `nearest`). Imports and file replay use `past`
   * with the file's modification time; a time inside the line (a header time) anchors the body's
   * year-less time with `nearest` whatever this says.
   */
  yearRule?: YearRule;
}

export function severityName(severity: number | null): SeverityName | null {
  if (severity === null) return null;
  return SEVERITY_NAMES[severity] ?? null;
}

export function emptyRecord(message: string): LogRecord {
  return {
    format: 'raw',
    facility: null,
    severity: null,
    severity_name: null,
    syslog_time: null,
    host: null,
    tag: null,
    pid: null,
    tid: null,
    mac: null,
    device_time: null,
    uptime_ms: null,
    missed_events: null,
    message,
    // Declared up front (undefined is left out of JSON) so every record has one hidden class:
    // adding these later made the parser's property accesses polymorphic.
    battery: undefined,
    event: undefined,
    parse_error: undefined,
  };
}

/** The event time every query orders by: device time, else syslog time, else receive time. */
/** The largest pid, tid or missed_events the store holds (UInt32 columns). */
export const UINT32_MAX = 4_294_967_295;

/** A pid / tid the store can hold, else null. */
export function u32(v: number): number | null {
  return v <= UINT32_MAX ? v : null;
}

/** parse_error of a frame cut at the maximum frame size (listeners and captures). */
export const FRAME_CUT_NOTE = 'message cut at the maximum frame size';

/** Puts `note` in front of what the record's parse_error already says. */
export function prependParseError(rec: Pick<LogRecord, 'parse_error'>, note: string): void {
  rec.parse_error = rec.parse_error === undefined ? note : `${note}; ${rec.parse_error}`;
}

/** Adds `note` after what the record's parse_error already says. */
export function appendParseError(rec: Pick<LogRecord, 'parse_error'>, note: string): void {
  rec.parse_error = rec.parse_error === undefined ? note : `${rec.parse_error}; ${note}`;
}

export function eventTime(rec: LogRecord, receivedAtIso: string): string {
  return rec.device_time ?? rec.syslog_time ?? receivedAtIso;
}
