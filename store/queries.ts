// Read side of the store: log search with keyset pagination, counts, one row by id, the streamed
// export (row conversion in rows.ts, devices and battery series in devices.ts, charts in stats.ts).
// Every value reaches SQL as a query parameter ({name:Type} + query_params); the SQL text is fixed.

import type { ClickHouseClient } from '@clickhouse/client';
import type { StoredRecord } from '../core/record.js';
import { HandlogError } from '../core/errors.js';
import { classifyStoreError } from './client.js';
import { num, rowToRecord, select, text, type DbRow } from './rows.js';
import { MESSAGE_INDEX_NAME, REST_COLUMNS } from './schema.js';
import { textTerms } from '../core/text-query.js';

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
  /**
   * The clock a relative `from`/`to` (`-15m`) was resolved against, when one was given: carried in
   * next_cursor so that every page of a search has the first page's window.
   */
  anchor_ms?: number;
  /**
   * Record fields of each row of a page (`id` and `time` always); absent = every field. A page
   * reads its columns for just its rows, so fewer fields is a faster page (the UI's log table asks
   * for what it shows and fetches the rest of a row when it is opened).
   */
  fields?: string[];
}

export interface LogPage {
  rows: StoredRecord[];
  next_cursor: string | null;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

/** Record fields (`fields`), in record order, and the columns each is read from. */
export const LOG_FIELD_COLUMNS = {
  id: ['id'],
  time: ['time'],
  received_at: ['received_at'],
  syslog_time: ['syslog_time'],
  device_time: ['device_time'],
  format: ['format'],
  transport: ['transport'],
  source_ip: ['source_ip'],
  session: ['session'],
  facility: ['facility'],
  severity: ['severity'],
  severity_name: ['severity_name'],
  host: ['host'],
  tag: ['tag'],
  pid: ['pid'],
  tid: ['tid'],
  mac: ['mac'],
  uptime_ms: ['uptime_ms'],
  missed_events: ['missed_events'],
  message: ['message'],
  battery: [
    'battery_level_pct',
    'battery_voltage_mv',
    'battery_temperature_c',
    'battery_status',
    'battery_health',
    'battery_present',
    'battery_plugged',
    'battery_technology',
  ],
  event: ['event_json'],
  parse_error: ['parse_error'],
  raw: ['raw'],
} as const satisfies Record<string, readonly string[]>;

export type LogField = keyof typeof LOG_FIELD_COLUMNS;
export const LOG_FIELDS = Object.keys(LOG_FIELD_COLUMNS) as LogField[];

const IN_REST: ReadonlySet<string> = new Set(REST_COLUMNS);
/** Columns of REST_COLUMNS a page reads one by one; beyond, it reads them all as `rest`. */
const MAX_SEPARATE_REST_COLUMNS = 3;

/**
 * The columns of `fields` (with id and time, which paging needs). When the rows lie side by side
 * in the table (one handset's: ORDER BY (mac, time)), more than a few of the fields no query
 * filters on are read as the one `rest` column (schema.ts: each column read costs a page ~0.2 ms
 * per part). Rows scattered over the table (two tags over an hour) each decompress a block of
 * every column read, and `rest`'s blocks, ~80 bytes a row, are the largest: measured on the 10 M-row
 * bench store, 60 alternating runs of the two-tag page, `rest` p50 33.7 ms but p90 56 ms and p95
 * 60 ms against 38.8 / 43.7 / 48.3 ms with the columns (the full bench: p95 132 – 173 against
 * 85 – 88 ms). So such pages keep reading the columns.
 */
function columnsOf(fields: readonly string[], adjacent: boolean): string {
  const want = new Set<string>(['id', 'time', ...fields]);
  const cols = LOG_FIELDS.filter((f) => want.has(f)).flatMap((f) => LOG_FIELD_COLUMNS[f]);
  if (!adjacent) return cols.join(', ');
  const own = cols.filter((c) => !IN_REST.has(c));
  return (cols.length - own.length > MAX_SEPARATE_REST_COLUMNS ? [...own, 'rest'] : cols).join(', ');
}

/** Every field of a record, for rows side by side in the table (and a single row), and for rows scattered. */
const COLUMNS_ADJACENT = columnsOf(LOG_FIELDS, true);
const COLUMNS_SCATTERED = columnsOf(LOG_FIELDS, false);

/** Whether the rows a search returns lie side by side in the table: those of one or a few handsets. */
function adjacentRows(f: LogFilters): boolean {
  return f.mac !== undefined && f.mac.length > 0;
}

/** A row cut to `fields` (and id, time): the fields not asked for are absent, not null. */
function pick(rec: StoredRecord, fields: readonly string[]): StoredRecord {
  const out: Record<string, unknown> = { id: rec.id, time: rec.time };
  const all = rec as unknown as Record<string, unknown>;
  for (const f of fields) if (all[f] !== undefined) out[f] = all[f];
  return out as unknown as StoredRecord;
}

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
  // Words and "quoted phrases" (core/text-query.ts): every term is a case-insensitive substring.
  const terms = textTerms(q);
  const parts: string[] = [];
  const extra = new Set<string>();
  terms.forEach((term, i) => {
    params[`q_term${i}`] = likePattern(term);
    parts.push(mode === 'ngram' ? `lowerUTF8(message) LIKE lowerUTF8({q_term${i}:String})` : `message ILIKE {q_term${i}:String}`);
    // The text index answers ILIKE '%word%' for a single word (>= 4 characters) from its
    // dictionary, not a phrase: each longer word of a phrase is added as its own (implied, so
    // harmless) condition.
    if (mode === 'text') for (const w of term.match(/[A-Za-z0-9]{4,}/g) ?? []) if (w !== term) extra.add(w);
  });
  [...extra]
    .sort((a, b) => b.length - a.length)
    .slice(0, 4)
    .forEach((w, i) => {
      params[`q_word${i}`] = likePattern(w);
      parts.push(`message ILIKE {q_word${i}:String}`);
    });
  return parts.length === 0 ? 'true' : parts.join(' AND ');
}

// ---------------------------------------------------------------------------------------------

export interface Cursor {
  timeMs: number;
  id: string;
  /** LogFilters.anchor_ms of the first page, when its time range was relative. */
  anchorMs?: number;
}

const BAD_CURSOR = 'cursor: is not valid (pass the next_cursor of the previous page unchanged)';

export function encodeCursor(c: Cursor): string {
  const v = c.anchorMs === undefined ? [c.timeMs, c.id] : [c.timeMs, c.id, c.anchorMs];
  return Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badRequest(BAD_CURSOR);
  }
  if (!Array.isArray(v) || (v.length !== 2 && v.length !== 3)) throw badRequest(BAD_CURSOR);
  const [timeMs, id, anchorMs] = v as unknown[];
  if (typeof timeMs !== 'number' || !Number.isSafeInteger(timeMs) || typeof id !== 'string' || !UUID.test(id)) {
    throw badRequest(BAD_CURSOR);
  }
  if (anchorMs === undefined) return { timeMs, id };
  if (typeof anchorMs !== 'number' || !Number.isSafeInteger(anchorMs)) throw badRequest(BAD_CURSOR);
  return { timeMs, id, anchorMs };
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
    `SELECT ${columnsOf(f.fields ?? LOG_FIELDS, adjacentRows(f))}, toUnixTimestamp64Milli(time) AS time_ms FROM logs\n${where.sql}\nORDER BY time DESC, id DESC LIMIT {limit:UInt32}`,
    where.params,
    'log search failed',
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next =
    rows.length > limit && last !== undefined
      ? encodeCursor({ timeMs: num(last['time_ms']) ?? 0, id: text(last['id']), ...(f.anchor_ms === undefined ? {} : { anchorMs: f.anchor_ms }) })
      : null;
  const fields = f.fields;
  return { rows: fields === undefined ? page.map(rowToRecord) : page.map((r) => pick(rowToRecord(r), fields)), next_cursor: next };
}

/** Rows matching the filters (the cursor and limit are ignored). */
export async function countLogs(client: ClickHouseClient, f: LogFilters): Promise<number> {
  const where = await buildWhere(client, f, false);
  const rows = await select(client, `SELECT count() AS n FROM logs\n${where.sql}`, where.params, 'log count failed');
  return num(rows[0]?.['n']) ?? 0;
}

export async function getLog(client: ClickHouseClient, id: string): Promise<StoredRecord | null> {
  if (!UUID.test(id)) throw badRequest(`id is not a UUID: ${id}`);
  const rows = await select(client, `SELECT ${COLUMNS_ADJACENT} FROM logs WHERE id = {id:UUID} LIMIT 1`, { id }, 'log lookup failed');
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
        query: `SELECT ${adjacentRows(filters) ? COLUMNS_ADJACENT : COLUMNS_SCATTERED}, toUnixTimestamp64Milli(time) AS time_ms FROM logs\n${where.sql}\nORDER BY time DESC, id DESC LIMIT {limit:UInt32}`,
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
