// The hot path of ingest: a StoredRecord → one `logs` row as a JSONEachRow line, written by hand.
// It yields exactly what JSON.stringify(toLogRow(rec)) yields (encode.test.ts checks that on the
// fixture corpus and on random records) without building the intermediate row object, which cost
// more than parsing the message. Anything unusual (a non-canonical time, a non-UUID id, a value out
// of range) takes toLogRow's checked path, which names the problem.

import { appendParseError, eventTime, UINT32_MAX, type StoredRecord } from '../core/record.js';
import { isoToCh, LOG_COLUMNS, toLogRow } from './schema.js';

/** `2026-03-10T11:59:58.123Z` (what the parsers emit) → `2026-03-10 11:59:58.123`, or null. */
function canonicalTime(v: string): string | null {
  if (v.length !== 24 || v.charCodeAt(10) !== 84 /* T */ || v.charCodeAt(23) !== 90 /* Z */) return null;
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58 || v.charCodeAt(19) !== 46)
    return null;
  // Years 1900–2299, as toLogRow allows; toIso only emits valid calendar dates.
  const y = v.charCodeAt(0);
  const y2 = v.charCodeAt(1);
  if (!((y === 49 && y2 === 57) || (y === 50 && y2 >= 48 && y2 <= 50))) return null;
  return v.slice(0, 10) + ' ' + v.slice(11, 23);
}

function isUuid(v: unknown): boolean {
  return (
    typeof v === 'string' &&
    v.length === 36 &&
    v.charCodeAt(8) === 45 &&
    v.charCodeAt(13) === 45 &&
    v.charCodeAt(18) === 45 &&
    v.charCodeAt(23) === 45 &&
    /^[0-9a-fA-F-]{36}$/.test(v)
  );
}

class Slow extends Error {}
const SLOW = new Slow();

function time(v: string | null | undefined, nullable: boolean): string {
  if (v === null || v === undefined) {
    if (nullable) return 'null';
    throw SLOW;
  }
  const t = typeof v === 'string' ? canonicalTime(v) : null;
  if (t === null) throw SLOW;
  return '"' + t + '"';
}

function int(v: number | null | undefined, min: number, max: number): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw SLOW;
  return String(v);
}

function real(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v !== 'number' || !Number.isFinite(v)) throw SLOW;
  return JSON.stringify(v);
}

function str(v: string | null | undefined): string {
  return typeof v === 'string' ? JSON.stringify(v) : '""';
}

export function encodeLogRow(rec: StoredRecord): string {
  try {
    if (!isUuid(rec.id)) throw SLOW;
    const b = rec.battery;
    return (
      '{"id":"' + rec.id +
      '","time":' + time(rec.time, false) +
      ',"received_at":' + time(rec.received_at, false) +
      ',"syslog_time":' + time(rec.syslog_time, true) +
      ',"device_time":' + time(rec.device_time, true) +
      ',"format":' + str(rec.format) +
      ',"transport":' + str(rec.transport) +
      ',"source_ip":' + str(rec.source_ip) +
      ',"session":' + str(rec.session) +
      ',"facility":' + int(rec.facility, 0, 255) +
      ',"severity":' + int(rec.severity, 0, 255) +
      ',"severity_name":' + (typeof rec.severity_name === 'string' ? JSON.stringify(rec.severity_name) : rec.severity_name == null ? 'null' : slow()) +
      ',"host":' + str(rec.host) +
      ',"tag":' + str(rec.tag) +
      ',"pid":' + int(rec.pid, 0, 4_294_967_295) +
      ',"tid":' + int(rec.tid, 0, 4_294_967_295) +
      ',"mac":' + str(rec.mac) +
      ',"uptime_ms":' + int(rec.uptime_ms, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) +
      ',"missed_events":' + int(rec.missed_events, 0, 4_294_967_295) +
      ',"message":' + str(rec.message) +
      ',"battery_level_pct":' + real(b?.level_pct) +
      ',"battery_voltage_mv":' + int(b?.voltage_mv, -2_147_483_648, 2_147_483_647) +
      ',"battery_temperature_c":' + real(b?.temperature_c) +
      ',"battery_status":' + int(b?.status, 0, 255) +
      ',"battery_health":' + int(b?.health, 0, 255) +
      ',"battery_present":' + (typeof b?.present === 'boolean' ? String(b.present) : 'null') +
      ',"battery_plugged":' + int(b?.plugged, 0, 255) +
      ',"battery_technology":' + (b?.technology == null ? 'null' : typeof b.technology === 'string' ? JSON.stringify(b.technology) : slow()) +
      ',"event_json":' + (rec.event === undefined ? '""' : JSON.stringify(JSON.stringify(rec.event))) +
      ',"parse_error":' + str(rec.parse_error) +
      ',"raw":' + str(rec.raw) +
      '}'
    );
  } catch (e: unknown) {
    if (e !== SLOW) throw e;
    return JSON.stringify(toLogRow(rec, 0));
  }
}

function slow(): never {
  throw SLOW;
}

const INT_FIELDS: readonly (readonly ['facility' | 'severity' | 'pid' | 'tid' | 'uptime_ms' | 'missed_events', number, number])[] = [
  ['facility', 0, 255],
  ['severity', 0, 255],
  ['pid', 0, UINT32_MAX],
  ['tid', 0, UINT32_MAX],
  ['uptime_ms', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ['missed_events', 0, UINT32_MAX],
];

const BATTERY_INT_FIELDS: readonly (readonly ['voltage_mv' | 'status' | 'health' | 'plugged', number, number])[] = [
  ['voltage_mv', -2_147_483_648, 2_147_483_647],
  ['status', 0, 255],
  ['health', 0, 255],
  ['plugged', 0, 255],
];

/**
 * The line of a row, never losing the message: when a value cannot be stored (a body time in year
 * 2400, say) the offending times are dropped, `time` falls back to the receive time and parse_error
 * says so. Returns null (with the reason) only when even that row cannot be encoded.
 */
export function encodeLogRowLenient(row: StoredRecord, encode: (row: StoredRecord) => string = encodeLogRow): { line: string } | { line: null; error: string } {
  try {
    return { line: encode(row) };
  } catch (e: unknown) {
    // First drop just the body or header time that is out of range, and take the next time.
    const notes: string[] = [];
    if (row.device_time !== null && isoToCh(row.device_time) === null) {
      notes.push(`device_time ${JSON.stringify(row.device_time)} not storable (1900-2299), dropped`);
      row.device_time = null;
    }
    if (row.syslog_time !== null && isoToCh(row.syslog_time) === null) {
      notes.push(`syslog_time ${JSON.stringify(row.syslog_time)} not storable (1900-2299), dropped`);
      row.syslog_time = null;
    }
    // A number out of its column's range (a 10-digit pid, a missed-events count past 2^32) is
    // dropped, not the row.
    for (const [field, min, max] of INT_FIELDS) {
      const v = row[field];
      if (v !== null && v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
        notes.push(`${field} ${String(v)} not storable, dropped`);
        row[field] = null;
      }
    }
    const b = row.battery;
    if (b !== undefined) {
      for (const [field, min, max] of BATTERY_INT_FIELDS) {
        const v = b[field];
        if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
          notes.push(`battery.${field} ${String(v)} not storable, dropped`);
          delete b[field];
          if (field !== 'voltage_mv') delete b[`${field}_name`];
        }
      }
    }
    if (notes.length > 0) {
      row.time = eventTime(row, row.received_at);
      appendParseError(row, notes.join('; '));
      try {
        return { line: encode(row) };
      } catch {
        // something else is wrong: the fallback below
      }
    }
    const why = e instanceof Error ? e.message : String(e);
    row.device_time = null;
    row.syslog_time = null;
    row.time = row.received_at;
    appendParseError(row, `value not storable, times dropped (${why})`);
    try {
      return { line: encode(row) };
    } catch (e2: unknown) {
      return { line: null, error: e2 instanceof Error ? e2.message : String(e2) };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TabSeparated: the same row for bulk loads (capture import). The engine parses TSV two to three
// times faster than JSONEachRow (measured on chdb 26.7: ~100k vs ~270k rows/s into a Null table for
// 31-column rows), which was the limit of an import. Columns in LOG_COLUMNS order; NULL is \N.

/** TSV escaping (ClickHouse TabSeparated): backslash, tab, LF, CR and NUL. */
export function tsvEscape(v: string): string {
  let i = 0;
  if (v.length >= 32) {
    // Messages and raw lines almost never need escaping: five native searches beat one JS loop
    // over the characters by 5× (40 vs 210 ns for a handset line).
    if (v.indexOf('\\') < 0 && v.indexOf('\t') < 0 && v.indexOf('\n') < 0 && v.indexOf('\r') < 0 && v.indexOf('\0') < 0) return v;
  }
  for (; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92 || c === 9 || c === 10 || c === 13 || c === 0) break;
  }
  if (i === v.length) return v;
  let out = v.slice(0, i);
  for (; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92) out += '\\\\';
    else if (c === 9) out += '\\t';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 0) out += '\\0';
    else out += v[i];
  }
  return out;
}

function tsvTime(v: string | null | undefined, nullable: boolean): string {
  if (v === null || v === undefined) {
    if (nullable) return '\\N';
    throw SLOW;
  }
  const t = typeof v === 'string' ? canonicalTime(v) : null;
  if (t === null) throw SLOW;
  return t;
}

function tsvInt(v: number | null | undefined, min: number, max: number): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw SLOW;
  return String(v);
}

function tsvReal(v: number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v !== 'number' || !Number.isFinite(v)) throw SLOW;
  return String(v);
}

const tsvStr = (v: string | null | undefined): string => (typeof v === 'string' ? tsvEscape(v) : '');

export function tsvValue(v: string | number | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'string') return tsvEscape(v);
  return String(v);
}

/** One `logs` row as a TabSeparated line (no line end), columns in LOG_COLUMNS order. */
export function encodeLogRowTsv(rec: StoredRecord): string {
  try {
    if (!isUuid(rec.id)) throw SLOW;
    const b = rec.battery;
    const sevName = rec.severity_name;
    const tech = b?.technology;
    return (
      rec.id + '\t' +
      tsvTime(rec.time, false) + '\t' +
      tsvTime(rec.received_at, false) + '\t' +
      tsvTime(rec.syslog_time, true) + '\t' +
      tsvTime(rec.device_time, true) + '\t' +
      tsvStr(rec.format) + '\t' +
      tsvStr(rec.transport) + '\t' +
      tsvStr(rec.source_ip) + '\t' +
      tsvStr(rec.session) + '\t' +
      tsvInt(rec.facility, 0, 255) + '\t' +
      tsvInt(rec.severity, 0, 255) + '\t' +
      (typeof sevName === 'string' ? tsvEscape(sevName) : sevName == null ? '\\N' : slow()) + '\t' +
      tsvStr(rec.host) + '\t' +
      tsvStr(rec.tag) + '\t' +
      tsvInt(rec.pid, 0, 4_294_967_295) + '\t' +
      tsvInt(rec.tid, 0, 4_294_967_295) + '\t' +
      tsvStr(rec.mac) + '\t' +
      tsvInt(rec.uptime_ms, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) + '\t' +
      tsvInt(rec.missed_events, 0, 4_294_967_295) + '\t' +
      tsvStr(rec.message) + '\t' +
      tsvReal(b?.level_pct) + '\t' +
      tsvInt(b?.voltage_mv, -2_147_483_648, 2_147_483_647) + '\t' +
      tsvReal(b?.temperature_c) + '\t' +
      tsvInt(b?.status, 0, 255) + '\t' +
      tsvInt(b?.health, 0, 255) + '\t' +
      (typeof b?.present === 'boolean' ? String(b.present) : '\\N') + '\t' +
      tsvInt(b?.plugged, 0, 255) + '\t' +
      (tech == null ? '\\N' : typeof tech === 'string' ? tsvEscape(tech) : slow()) + '\t' +
      (rec.event === undefined ? '' : tsvEscape(JSON.stringify(rec.event))) + '\t' +
      tsvStr(rec.parse_error) + '\t' +
      tsvStr(rec.raw)
    );
  } catch (e: unknown) {
    if (e !== SLOW) throw e;
    const row = toLogRow(rec, 0);
    return LOG_COLUMNS.map((c) => tsvValue(row[c])).join('\t');
  }
}
