// Read side of the store: log search with keyset pagination, counts, one row by id, the streamed
// export, device summaries and battery series (aggregates for charts are in stats.ts).
// Every value reaches SQL as a query parameter ({name:Type} + query_params); the SQL text is fixed.

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
import { HandlogError } from '../core/errors.js';
import { classifyStoreError } from './client.js';
import { MESSAGE_INDEX_NAME } from './schema.js';

export interface LogFilters {
  /** Normalized MACs (12 lowercase hex digits). */
  mac?: string[];
  /** Exact, case-sensitive tags (any of). */
  tag?: string[];
  /** Case-insensitive substring of the tag. */
  tag_contains?: string;
  severity?: number[];
  /** That level and worse (numerically lower or equal). */
  max_severity?: number;
  /** Case-insensitive substring of the message. */
  q?: string;
  host?: string;
  session?: string;
  /** ISO-8601, inclusive, on `time`. */
  from?: string;
  /** ISO-8601, exclusive, on `time`. */
  to?: string;
  /** 1..10000, default 100. */
  limit?: number;
  /** Opaque next_cursor of the previous page. */
  cursor?: string;
}

export interface LogPage {
  rows: StoredRecord[];
  next_cursor: string | null;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

// DESIGN.md §2 battery code names.
const STATUS_NAMES = ['Unknown/no battery', 'Unknown', 'Charging', 'Discharging', 'Not charging', 'Full'];
const HEALTH_NAMES = ['Unknown/no battery', 'Unknown', 'Good', 'Overheat', 'Dead', 'Over voltage', 'Unspecified failure', 'Cold'];
const PLUGGED_NAMES = ['Unplugged', 'AC', 'USB'];

const COLUMNS = `id, time, received_at, syslog_time, device_time, format, transport, source_ip, session, facility,
  severity, severity_name, host, tag, pid, tid, mac, uptime_ms, missed_events, message, battery_level_pct,
  battery_voltage_mv, battery_temperature_c, battery_status, battery_health, battery_present, battery_plugged,
  battery_technology, event_json, parse_error, raw`;

const MAC = /^[0-9a-f]{12}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function badRequest(message: string): HandlogError {
  return new HandlogError('BAD_REQUEST', message);
}

// ---------------------------------------------------------------------------------------------
// Message search follows the index the migration managed to create (schema.ts).

export type MessageSearchMode = 'text' | 'ngram' | 'scan';
const searchModes = new WeakMap<ClickHouseClient, Promise<MessageSearchMode>>();

/** Cached per client; `refresh` re-reads it (after migrations ran on another database, say). */
export function messageSearchMode(client: ClickHouseClient, opts: { refresh?: boolean } = {}): Promise<MessageSearchMode> {
  let mode = opts.refresh === true ? undefined : searchModes.get(client);
  if (mode === undefined) {
    mode = (async (): Promise<MessageSearchMode> => {
      const rows = await select(
        client,
        `SELECT type FROM system.data_skipping_indices
         WHERE database = currentDatabase() AND table = 'logs' AND name = {name:String}`,
        { name: MESSAGE_INDEX_NAME },
        'message index lookup failed',
      );
      const type = rows[0]?.['type'];
      return type === 'text' ? 'text' : type === 'ngrambf_v1' ? 'ngram' : 'scan';
    })();
    mode.catch(() => searchModes.delete(client));
    searchModes.set(client, mode);
  }
  return mode;
}

/** `%`, `_` and `\` are LIKE metacharacters; the escape character is the backslash. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function messageCondition(q: string, mode: MessageSearchMode, params: Record<string, unknown>): string {
  params['q_like'] = likePattern(q);
  if (mode === 'ngram') return 'lowerUTF8(message) LIKE lowerUTF8({q_like:String})';
  const parts = ['message ILIKE {q_like:String}'];
  if (mode === 'text') {
    // The text index answers ILIKE '%word%' for a single word (>= 4 characters) from its dictionary,
    // not a phrase: add each longer word of a phrase as its own (implied, so harmless) condition.
    const words = [...new Set(q.match(/[A-Za-z0-9]{4,}/g) ?? [])].sort((a, b) => b.length - a.length).slice(0, 4);
    if (!(words.length === 1 && words[0] === q)) {
      words.forEach((w, i) => {
        params[`q_word${i}`] = likePattern(w);
        parts.push(`message ILIKE {q_word${i}:String}`);
      });
    }
  }
  return parts.join(' AND ');
}

// ---------------------------------------------------------------------------------------------

interface Cursor {
  timeMs: number;
  id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.timeMs, c.id]), 'utf8').toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is not valid');
  }
  if (!Array.isArray(v) || v.length !== 2) throw badRequest('cursor is not valid');
  const [timeMs, id] = v as unknown[];
  if (typeof timeMs !== 'number' || !Number.isSafeInteger(timeMs) || typeof id !== 'string' || !UUID.test(id)) {
    throw badRequest('cursor is not valid');
  }
  return { timeMs, id };
}

function isoMs(name: string, v: string): number {
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw badRequest(`${name} is not an ISO-8601 time: ${v}`);
  return ms;
}

export interface Where {
  sql: string;
  params: Record<string, unknown>;
}

/** The WHERE clause of the log filters (and, with `withCursor`, the keyset cursor); values as parameters. */
export async function buildWhere(client: ClickHouseClient, f: LogFilters, withCursor: boolean): Promise<Where> {
  const conds: string[] = [];
  const params: Record<string, unknown> = {};
  if (f.mac !== undefined && f.mac.length > 0) {
    const bad = f.mac.find((m) => !MAC.test(m));
    if (bad !== undefined) throw badRequest(`mac must be 12 lowercase hex digits: ${bad}`);
    params['mac'] = f.mac;
    conds.push('mac IN {mac:Array(String)}');
  }
  if (f.tag !== undefined && f.tag.length > 0) {
    params['tag'] = f.tag;
    conds.push('tag IN {tag:Array(String)}');
  }
  if (f.tag_contains !== undefined && f.tag_contains !== '') {
    params['tag_contains'] = f.tag_contains;
    conds.push('positionCaseInsensitiveUTF8(tag, {tag_contains:String}) > 0');
  }
  const sev = (v: number): number => {
    if (!Number.isInteger(v) || v < 0 || v > 7) throw badRequest(`severity must be 0..7, got ${v}`);
    return v;
  };
  if (f.severity !== undefined && f.severity.length > 0) {
    params['severity'] = f.severity.map(sev);
    conds.push('severity IN {severity:Array(UInt8)}');
  }
  if (f.max_severity !== undefined) {
    params['max_severity'] = sev(f.max_severity);
    conds.push('severity <= {max_severity:UInt8}');
  }
  if (f.q !== undefined && f.q !== '') conds.push(messageCondition(f.q, await messageSearchMode(client), params));
  if (f.host !== undefined && f.host !== '') {
    params['host'] = f.host;
    conds.push('host = {host:String}');
  }
  if (f.session !== undefined && f.session !== '') {
    params['session'] = f.session;
    conds.push('session = {session:String}');
  }
  if (f.from !== undefined && f.from !== '') {
    params['from_ms'] = isoMs('from', f.from);
    conds.push(`time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')`);
  }
  if (f.to !== undefined && f.to !== '') {
    params['to_ms'] = isoMs('to', f.to);
    conds.push(`time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')`);
  }
  if (withCursor && f.cursor !== undefined && f.cursor !== '') {
    const c = decodeCursor(f.cursor);
    params['cur_ms'] = c.timeMs;
    params['cur_id'] = c.id;
    // The plain time bound lets the primary key and the time index prune; the tuple breaks ties.
    conds.push(`time <= fromUnixTimestamp64Milli({cur_ms:Int64}, 'UTC')`);
    conds.push(`(time, id) < (fromUnixTimestamp64Milli({cur_ms:Int64}, 'UTC'), {cur_id:UUID})`);
  }
  return { sql: conds.length > 0 ? `WHERE ${conds.join('\n  AND ')}` : '', params };
}

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

function orNull(v: DbValue | undefined): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function bool(v: DbValue | undefined): boolean | null {
  if (v === null || v === undefined) return null;
  return v === true || v === 1 || v === 'true' || v === '1';
}

const FORMATS: ReadonlySet<string> = new Set(['pivot', 'rfc3164', 'rfc5424', 'logcat', 'raw']);
const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'import']);

/** Rebuilds the nested battery object; absent when no battery column is set. */
function battery(row: DbRow, prefix: string): BatteryInfo | undefined {
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

export function rowToRecord(row: DbRow): StoredRecord {
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

// ---------------------------------------------------------------------------------------------

/** Newest first, keyset-paginated on (time, id): a page never repeats or skips rows of earlier pages. */
export async function searchLogs(client: ClickHouseClient, f: LogFilters): Promise<LogPage> {
  const limit = f.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${limit}`);
  }
  const where = await buildWhere(client, f, true);
  where.params['limit'] = limit + 1;
  const rows = await select(
    client,
    `SELECT ${COLUMNS}, toUnixTimestamp64Milli(time) AS time_ms FROM logs\n${where.sql}\nORDER BY time DESC, id DESC LIMIT {limit:UInt32}`,
    where.params,
    'log search failed',
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last !== undefined ? encodeCursor({ timeMs: num(last['time_ms']) ?? 0, id: text(last['id']) }) : null;
  return { rows: page.map(rowToRecord), next_cursor: next };
}

/** Rows matching the filters (the cursor and limit are ignored). */
export async function countLogs(client: ClickHouseClient, f: LogFilters): Promise<number> {
  const where = await buildWhere(client, f, false);
  const rows = await select(client, `SELECT count() AS n FROM logs\n${where.sql}`, where.params, 'log count failed');
  return num(rows[0]?.['n']) ?? 0;
}

export async function getLog(client: ClickHouseClient, id: string): Promise<StoredRecord | null> {
  if (!UUID.test(id)) throw badRequest(`id is not a UUID: ${id}`);
  const rows = await select(client, `SELECT ${COLUMNS} FROM logs WHERE id = {id:UUID} LIMIT 1`, { id }, 'log lookup failed');
  return rows[0] === undefined ? null : rowToRecord(rows[0]);
}

export const EXPORT_PAGE_ROWS = 10_000;

/**
 * Every row matching the filters, newest first, as an async iterator. The rows are read in keyset
 * pages on (time, id) — so memory holds one page whatever the match count, also with the embedded
 * engine, whose client buffers each result — and each page is decoded from the result stream as
 * it arrives. Returning early (a client gone) closes the open result. `limit` and `cursor` are
 * ignored: this is every match.
 */
export async function* exportLogs(
  client: ClickHouseClient,
  f: LogFilters,
  opts: { pageRows?: number } = {},
): AsyncGenerator<StoredRecord, void, undefined> {
  const pageRows = opts.pageRows ?? EXPORT_PAGE_ROWS;
  if (!Number.isInteger(pageRows) || pageRows < 1) throw new HandlogError('INTERNAL', `export page size must be a positive integer, got ${pageRows}`);
  const filters: LogFilters = { ...f };
  delete filters.limit;
  delete filters.cursor;
  let cursor: string | undefined;
  for (;;) {
    const where = await buildWhere(client, cursor === undefined ? filters : { ...filters, cursor }, true);
    where.params['limit'] = pageRows;
    let rs: Awaited<ReturnType<ClickHouseClient['query']>>;
    try {
      rs = await client.query({
        query: `SELECT ${COLUMNS}, toUnixTimestamp64Milli(time) AS time_ms FROM logs\n${where.sql}\nORDER BY time DESC, id DESC LIMIT {limit:UInt32}`,
        query_params: where.params,
        format: 'JSONEachRow',
      });
    } catch (e: unknown) {
      throw classifyStoreError(e, 'log export failed', 'INTERNAL');
    }
    let n = 0;
    let last: DbRow | undefined;
    try {
      for await (const batch of rs.stream<DbRow>()) {
        for (const r of batch) {
          last = r.json<DbRow>();
          n++;
          yield rowToRecord(last);
        }
      }
    } catch (e: unknown) {
      throw classifyStoreError(e, 'log export failed', 'INTERNAL');
    } finally {
      rs.close();
    }
    if (n < pageRows || last === undefined) return;
    cursor = encodeCursor({ timeMs: num(last['time_ms']) ?? 0, id: text(last['id']) });
  }
}

// ---------------------------------------------------------------------------------------------
// Device summaries: read from the tables the materialized views keep, never by scanning logs.

export interface DeviceSummary {
  mac: string;
  first_seen: string;
  last_seen: string;
  last_received_at: string;
  messages: number;
  source_ip: string;
  host: string | null;
  tag: string | null;
  /** Newest non-null value of each battery field; absent when the device never reported one. */
  battery?: BatteryInfo;
  battery_time: string | null;
  /** Severity <= 3 (and = 0) events in the current and the previous 24 whole hours of `time`. */
  errors_24h: number;
  fatal_24h: number;
}

const DEVICES_SQL = (where: string): string => `
SELECT d.*, e.errors_24h, e.fatal_24h
FROM
(
    SELECT dv.mac AS mac, min(dv.first_seen) AS first_seen, max(dv.last_seen) AS last_seen,
        max(dv.last_received_at) AS last_received_at, sum(dv.messages) AS messages,
        argMaxMerge(dv.source_ip) AS source_ip, argMaxMerge(dv.host) AS host, argMaxMerge(dv.tag) AS tag,
        max(dv.battery_time) AS battery_time,
        argMaxMerge(dv.battery_level_pct) AS battery_level_pct, argMaxMerge(dv.battery_voltage_mv) AS battery_voltage_mv,
        argMaxMerge(dv.battery_temperature_c) AS battery_temperature_c, argMaxMerge(dv.battery_status) AS battery_status,
        argMaxMerge(dv.battery_health) AS battery_health, argMaxMerge(dv.battery_plugged) AS battery_plugged
    FROM devices AS dv ${where}
    GROUP BY mac
) AS d
LEFT JOIN
(
    SELECT mac, sum(errors) AS errors_24h, sum(fatal) AS fatal_24h
    FROM device_errors_hourly
    WHERE hour >= toStartOfHour(now() - INTERVAL 24 HOUR) ${where === '' ? '' : 'AND mac = {mac:String}'}
    GROUP BY mac
) AS e ON d.mac = e.mac
ORDER BY d.last_seen DESC, d.mac`;

function rowToDevice(row: DbRow): DeviceSummary {
  const d: DeviceSummary = {
    mac: text(row['mac']),
    first_seen: chToIso(row['first_seen']) ?? '',
    last_seen: chToIso(row['last_seen']) ?? '',
    last_received_at: chToIso(row['last_received_at']) ?? '',
    messages: num(row['messages']) ?? 0,
    source_ip: text(row['source_ip']),
    host: orNull(row['host']),
    tag: orNull(row['tag']),
    battery_time: chToIso(row['battery_time']),
    errors_24h: num(row['errors_24h']) ?? 0,
    fatal_24h: num(row['fatal_24h']) ?? 0,
  };
  const b = battery(row, 'battery_');
  if (b !== undefined) d.battery = b;
  return d;
}

export async function listDevices(client: ClickHouseClient): Promise<DeviceSummary[]> {
  return (await select(client, DEVICES_SQL(''), {}, 'device list failed')).map(rowToDevice);
}

export async function getDevice(client: ClickHouseClient, mac: string): Promise<DeviceSummary | null> {
  if (!MAC.test(mac)) throw badRequest(`mac must be 12 lowercase hex digits: ${mac}`);
  const rows = await select(client, DEVICES_SQL('WHERE dv.mac = {mac:String}'), { mac }, 'device lookup failed');
  return rows[0] === undefined ? null : rowToDevice(rows[0]);
}

// ---------------------------------------------------------------------------------------------
// Battery series of one device, from the logs rows that carry battery values. The primary key
// starts with mac, so these read only that device's granules.

const BATTERY_ROW = `mac = {mac:String} AND (battery_level_pct IS NOT NULL OR battery_voltage_mv IS NOT NULL
    OR battery_temperature_c IS NOT NULL OR battery_status IS NOT NULL OR battery_plugged IS NOT NULL)`;

export interface BatteryPoint {
  /** Bucket start, ISO-8601 UTC. */
  t: string;
  /** Battery rows in the bucket. */
  samples: number;
  /** Averages over the bucket's reported values; null when none reported that value. */
  level_pct: number | null;
  level_min_pct: number | null;
  level_max_pct: number | null;
  voltage_mv: number | null;
  temperature_c: number | null;
  /** Newest reported status / plugged state in the bucket. */
  status: number | null;
  status_name: string | null;
  plugged: number | null;
  plugged_name: string | null;
}

function timeBounds(range: { fromMs?: number; toMs?: number }, params: Record<string, unknown>): string {
  let sql = '';
  if (range.fromMs !== undefined) {
    params['from_ms'] = range.fromMs;
    sql += ` AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')`;
  }
  if (range.toMs !== undefined) {
    params['to_ms'] = range.toMs;
    sql += ` AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')`;
  }
  return sql;
}

/** Times of the first and last battery row of a device within [fromMs, toMs); null when none. */
export async function batteryTimeRange(
  client: ClickHouseClient,
  mac: string,
  range: { fromMs?: number; toMs?: number } = {},
): Promise<{ minMs: number; maxMs: number } | null> {
  if (!MAC.test(mac)) throw badRequest(`mac must be 12 lowercase hex digits: ${mac}`);
  const params: Record<string, unknown> = { mac };
  const rows = await select(
    client,
    `SELECT count() AS n, toUnixTimestamp64Milli(min(time)) AS min_ms, toUnixTimestamp64Milli(max(time)) AS max_ms
     FROM logs WHERE ${BATTERY_ROW}${timeBounds(range, params)}`,
    params,
    'battery range failed',
  );
  const r = rows[0];
  if (r === undefined || (num(r['n']) ?? 0) === 0) return null;
  return { minMs: num(r['min_ms']) ?? 0, maxMs: num(r['max_ms']) ?? 0 };
}

/** Battery values of a device in buckets of stepMs (aligned to the epoch), oldest first. */
export async function batterySeries(
  client: ClickHouseClient,
  mac: string,
  range: { fromMs?: number; toMs?: number; stepMs: number },
): Promise<BatteryPoint[]> {
  if (!MAC.test(mac)) throw badRequest(`mac must be 12 lowercase hex digits: ${mac}`);
  if (!Number.isSafeInteger(range.stepMs) || range.stepMs < 1) throw badRequest(`bucket step must be a positive integer, got ${range.stepMs}`);
  const params: Record<string, unknown> = { mac, step_ms: range.stepMs };
  // avg/min/max skip NULLs and argMax skips rows whose value is NULL: each field is over the rows
  // that reported it (a battery_status line carries no level, a battery_level line no status).
  const rows = await select(
    client,
    `SELECT intDiv(toUnixTimestamp64Milli(time), {step_ms:Int64}) * {step_ms:Int64} AS bucket_ms,
        count() AS samples,
        avg(battery_level_pct) AS level_pct, min(battery_level_pct) AS level_min_pct, max(battery_level_pct) AS level_max_pct,
        avg(battery_voltage_mv) AS voltage_mv, avg(battery_temperature_c) AS temperature_c,
        argMax(battery_status, time) AS status, argMax(battery_plugged, time) AS plugged
     FROM logs WHERE ${BATTERY_ROW}${timeBounds(range, params)}
     GROUP BY bucket_ms ORDER BY bucket_ms`,
    params,
    'battery series failed',
  );
  const round = (v: number | null, digits: number): number | null => (v === null ? null : Number(v.toFixed(digits)));
  return rows.map((r) => {
    const status = num(r['status']);
    const plugged = num(r['plugged']);
    return {
      t: new Date(num(r['bucket_ms']) ?? 0).toISOString(),
      samples: num(r['samples']) ?? 0,
      level_pct: round(num(r['level_pct']), 2),
      level_min_pct: num(r['level_min_pct']),
      level_max_pct: num(r['level_max_pct']),
      voltage_mv: round(num(r['voltage_mv']), 1),
      temperature_c: round(num(r['temperature_c']), 2),
      status,
      status_name: status === null ? null : (STATUS_NAMES[status] ?? null),
      plugged,
      plugged_name: plugged === null ? null : (PLUGGED_NAMES[plugged] ?? null),
    };
  });
}
