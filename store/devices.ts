// Device summaries (from the tables the materialized views keep, never by scanning logs) and the
// battery series of one device.

import type { ClickHouseClient } from '@clickhouse/client';
import type { BatteryInfo } from '../core/record.js';
import { HandlogError } from '../core/errors.js';
import { PLUGGED_NAMES, STATUS_NAMES, battery, chToIso, num, orNull, select, text, type DbRow } from './rows.js';

const MAC = /^[0-9a-f]{12}$/;

function badRequest(message: string): HandlogError {
  return new HandlogError('BAD_REQUEST', message);
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
