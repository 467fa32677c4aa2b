// Aggregates over the logs table for charts and autocomplete: severity counts per time bucket, top
// tags and talkers under the log filters, and known tags with their counts. Values reach SQL only as
// query parameters; column names come from fixed lists.

import type { ClickHouseClient } from '@clickhouse/client';
import { HandlogError } from '../core/errors.js';
import { buildWhere, type LogFilters } from './queries.js';
import { num, select, text } from './rows.js';

/** Filters without paging: aggregates cover every match. */
function unpaged(f: LogFilters): LogFilters {
  const g: LogFilters = { ...f };
  delete g.limit;
  delete g.cursor;
  return g;
}

function and(where: string, cond: string): string {
  return where === '' ? `WHERE ${cond}` : `${where}\n  AND ${cond}`;
}

/** Times of the oldest and newest matching row; null when nothing matches. */
export async function logTimeRange(client: ClickHouseClient, f: LogFilters): Promise<{ minMs: number; maxMs: number } | null> {
  const w = await buildWhere(client, unpaged(f), false);
  const rows = await select(
    client,
    `SELECT count() AS n, toUnixTimestamp64Milli(min(time)) AS min_ms, toUnixTimestamp64Milli(max(time)) AS max_ms FROM logs\n${w.sql}`,
    w.params,
    'log time range failed',
  );
  const r = rows[0];
  if (r === undefined || (num(r['n']) ?? 0) === 0) return null;
  return { minMs: num(r['min_ms']) ?? 0, maxMs: num(r['max_ms']) ?? 0 };
}

export interface SeverityBucketCount {
  /** Bucket start in epoch milliseconds (a multiple of the step). */
  bucketMs: number;
  /** 0–7, or null for rows without a severity (unparsed lines). */
  severity: number | null;
  count: number;
}

/** Matching rows counted per time bucket of stepMs (aligned to the epoch) and severity. */
export async function severityCounts(client: ClickHouseClient, f: LogFilters, stepMs: number): Promise<SeverityBucketCount[]> {
  if (!Number.isSafeInteger(stepMs) || stepMs < 1) throw new HandlogError('BAD_REQUEST', `bucket step must be a positive integer, got ${stepMs}`);
  const w = await buildWhere(client, unpaged(f), false);
  w.params['step_ms'] = stepMs;
  const rows = await select(
    client,
    `SELECT intDiv(toUnixTimestamp64Milli(time), {step_ms:Int64}) * {step_ms:Int64} AS bucket_ms, severity, count() AS n
     FROM logs\n${w.sql}\nGROUP BY bucket_ms, severity ORDER BY bucket_ms, severity`,
    w.params,
    'severity counts failed',
  );
  return rows.map((r) => ({ bucketMs: num(r['bucket_ms']) ?? 0, severity: num(r['severity']), count: num(r['n']) ?? 0 }));
}

export interface ValueCount {
  value: string;
  count: number;
}

/** The `limit` most frequent non-empty tags or MACs among the matching rows. */
export async function topValues(client: ClickHouseClient, f: LogFilters, column: 'tag' | 'mac', limit: number): Promise<ValueCount[]> {
  const w = await buildWhere(client, unpaged(f), false);
  w.params['top'] = limit;
  // `column` is one of two literals, never user text.
  const rows = await select(
    client,
    `SELECT ${column} AS value, count() AS n FROM logs\n${and(w.sql, `${column} != ''`)}\nGROUP BY value ORDER BY n DESC, value LIMIT {top:UInt32}`,
    w.params,
    `top ${column}s failed`,
  );
  return rows.map((r) => ({ value: text(r['value']), count: num(r['n']) ?? 0 }));
}

export interface TagCount {
  tag: string;
  count: number;
}

/** Known tags, most frequent first, optionally those containing `q` (any case) and within [from, to). */
export async function tagCounts(
  client: ClickHouseClient,
  opts: { q?: string; from?: string; to?: string; limit: number },
): Promise<TagCount[]> {
  const f: LogFilters = {};
  if (opts.q !== undefined && opts.q !== '') f.tag_contains = opts.q;
  if (opts.from !== undefined) f.from = opts.from;
  if (opts.to !== undefined) f.to = opts.to;
  return (await topValues(client, f, 'tag', opts.limit)).map((v) => ({ tag: v.value, count: v.count }));
}
