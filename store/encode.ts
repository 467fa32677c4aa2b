// The hot path of ingest: a StoredRecord → one `logs` row as a JSONEachRow line, written by hand.
// It yields exactly what JSON.stringify(toLogRow(rec)) yields (encode.test.ts checks that on the
// fixture corpus and on random records) without building the intermediate row object, which cost
// more than parsing the message. Anything unusual (a non-canonical time, a non-UUID id, a value out
// of range) takes toLogRow's checked path, which names the problem.

import type { StoredRecord } from '../core/record.js';
import { toLogRow } from './schema.js';

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

/**
 * The line of a row, never losing the message: when a value cannot be stored (a body time in year
 * 2400, say) the offending times are dropped, `time` falls back to the receive time and parse_error
 * says so. Returns null (with the reason) only when even that row cannot be encoded.
 */
export function encodeLogRowLenient(row: StoredRecord): { line: string } | { line: null; error: string } {
  try {
    return { line: encodeLogRow(row) };
  } catch (e: unknown) {
    const why = e instanceof Error ? e.message : String(e);
    row.device_time = null;
    row.syslog_time = null;
    row.time = row.received_at;
    const note = `value not storable, times dropped (${why})`;
    row.parse_error = row.parse_error === undefined ? note : `${row.parse_error}; ${note}`;
    try {
      return { line: encodeLogRow(row) };
    } catch (e2: unknown) {
      return { line: null, error: e2 instanceof Error ? e2.message : String(e2) };
    }
  }
}
