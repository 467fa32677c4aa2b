// Row conversion shared by the read side: ClickHouse JSON values → the record of DESIGN §2, and the
// one SELECT helper (query parameters only; store failures become HandlogErrors).

import type { ClickHouseClient } from '@clickhouse/client';
import {
  SEVERITY_NAMES,
  type BatteryInfo,
  type EventInfo,
  type LogFormat,
  type SeverityName,
  type StoredRecord,
  type Transport,
} from '../core/record.js';
import { classifyStoreError } from './client.js';
import { REST_COLUMNS, REST_TIME_COLUMNS } from './schema.js';

// DESIGN.md §2 battery code names.
export const STATUS_NAMES = ['Unknown/no battery', 'Unknown', 'Charging', 'Discharging', 'Not charging', 'Full'];
export const HEALTH_NAMES = ['Unknown/no battery', 'Unknown', 'Good', 'Overheat', 'Dead', 'Over voltage', 'Unspecified failure', 'Cold'];
export const PLUGGED_NAMES = ['Unplugged', 'AC', 'USB'];

// ---------------------------------------------------------------------------------------------
// Row conversion

export type DbValue = string | number | boolean | null;
export type DbRow = Record<string, DbValue>;

/** '2024-01-02 03:04:05.678' (or an ISO form, depending on server settings) → ISO-8601 UTC. */
export function chToIso(v: DbValue | undefined): string | null {
  if (typeof v !== 'string' || v === '') return null;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z?$/.exec(v);
  if (m !== null) return `${m[1]}T${m[2]}${((m[3] ?? '') + '.000').slice(0, 4)}Z`;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export function num(v: DbValue | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

export function text(v: DbValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

export function orNull(v: DbValue | undefined): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function bool(v: DbValue | undefined): boolean | null {
  if (v === null || v === undefined) return null;
  return v === true || v === 1 || v === 'true' || v === '1';
}

const FORMATS: ReadonlySet<string> = new Set(['pivot', 'rfc3164', 'rfc5424', 'logcat', 'raw']);
const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'import']);

/** Rebuilds the nested battery object; absent when no battery column is set. */
export function battery(row: DbRow, prefix: string): BatteryInfo | undefined {
  const b: BatteryInfo = {};
  const level = num(row[`${prefix}level_pct`]);
  const voltage = num(row[`${prefix}voltage_mv`]);
  const temp = num(row[`${prefix}temperature_c`]);
  const status = num(row[`${prefix}status`]);
  const health = num(row[`${prefix}health`]);
  const present = bool(row[`${prefix}present`]);
  const plugged = num(row[`${prefix}plugged`]);
  const tech = orNull(row[`${prefix}technology`]);
  if (level !== null) b.level_pct = level;
  if (voltage !== null) b.voltage_mv = voltage;
  if (temp !== null) b.temperature_c = temp;
  if (status !== null) {
    b.status = status;
    const name = STATUS_NAMES[status];
    if (name !== undefined) b.status_name = name;
  }
  if (health !== null) {
    b.health = health;
    const name = HEALTH_NAMES[health];
    if (name !== undefined) b.health_name = name;
  }
  if (present !== null) b.present = present;
  if (plugged !== null) {
    b.plugged = plugged;
    const name = PLUGGED_NAMES[plugged];
    if (name !== undefined) b.plugged_name = name;
  }
  if (tech !== null) b.technology = tech;
  return Object.keys(b).length > 0 ? b : undefined;
}

function parseEvent(v: DbValue | undefined): EventInfo | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  try {
    const e: unknown = JSON.parse(v);
    if (typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string') return e as EventInfo;
  } catch {
    // Written by JSON.stringify in toLogRow; unreadable JSON means no event rather than a failed page.
  }
  return undefined;
}

const TSV_ESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', v: '\v', a: '\x07', e: '\x1b' };

/** One TabSeparated field as ClickHouse writes it → its value (null for \N). */
export function tsvUnescape(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/gs, (_m, c: string) => TSV_ESCAPES[c] ?? c);
}

/**
 * Puts the columns folded into `rest` (schema.ts REST_COLUMNS) back on `row` as the JSON output
 * would have given them: times as ISO strings (stored as milliseconds after `time`), everything
 * else as text, which num/bool/text read alike. A `rest` of the wrong shape (written by a later
 * version with more fields, say) fills what it can; columns read directly are left as they are.
 */
export function parseRest(row: DbRow): void {
  const rest = row['rest'];
  if (typeof rest !== 'string') return;
  const parts = rest.split('\t');
  const timeIso = chToIso(row['time']);
  const timeMs = timeIso === null ? NaN : Date.parse(timeIso);
  for (let i = 0; i < REST_COLUMNS.length && i < parts.length; i++) {
    const col = REST_COLUMNS[i] as string;
    if (row[col] !== undefined) continue;
    const v = tsvUnescape(parts[i] as string);
    if (v !== null && REST_TIME_COLUMNS.has(col)) {
      const ms = timeMs + Number(v);
      row[col] = Number.isFinite(ms) ? new Date(ms).toISOString() : null;
    } else row[col] = v;
  }
}

export function rowToRecord(row: DbRow): StoredRecord {
  parseRest(row);
  const severityName = text(row['severity_name']);
  const format = text(row['format']);
  const transport = text(row['transport']);
  const rec: StoredRecord = {
    id: text(row['id']),
    time: chToIso(row['time']) ?? '',
    received_at: chToIso(row['received_at']) ?? '',
    source_ip: text(row['source_ip']),
    transport: (TRANSPORTS.has(transport) ? transport : 'import') as Transport,
    session: text(row['session']),
    format: (FORMATS.has(format) ? format : 'raw') as LogFormat,
    facility: num(row['facility']),
    severity: num(row['severity']),
    severity_name: (SEVERITY_NAMES as readonly string[]).includes(severityName) ? (severityName as SeverityName) : null,
    syslog_time: chToIso(row['syslog_time']),
    host: orNull(row['host']),
    tag: orNull(row['tag']),
    pid: num(row['pid']),
    tid: num(row['tid']),
    mac: orNull(row['mac']),
    device_time: chToIso(row['device_time']),
    uptime_ms: num(row['uptime_ms']),
    missed_events: num(row['missed_events']),
    message: text(row['message']),
    raw: text(row['raw']),
  };
  const b = battery(row, 'battery_');
  if (b !== undefined) rec.battery = b;
  const ev = parseEvent(row['event_json']);
  if (ev !== undefined) rec.event = ev;
  const pe = text(row['parse_error']);
  if (pe !== '') rec.parse_error = pe;
  return rec;
}

/** A SELECT with query parameters → rows; store failures become HandlogErrors (INTERNAL when refused). */
export async function select(client: ClickHouseClient, sql: string, params: Record<string, unknown>, action: string): Promise<DbRow[]> {
  try {
    const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return await rs.json<DbRow>();
  } catch (e: unknown) {
    throw classifyStoreError(e, action, 'INTERNAL');
  }
}
