// The storage shape: DDL as ordered, versioned migrations recorded in `schema_migrations`, and the
// mapping from a StoredRecord to a `logs` row. Queries live in queries.ts, the client in client.ts.
//
// `logs` design (DESIGN.md §2, §4):
// - PARTITION BY day of `received_at`, TTL `received_at + N days` with ttl_only_drop_parts: retention
//   counts from receipt (an old capture stays N days after its import) and expires whole partitions.
// - ORDER BY (mac, time): "one handset, newest first" reads a few granules (of 1,024 rows, in small
//   compression blocks: see SMALL_BLOCKS). A bloom filter on tag
//   serves tag queries (a (tag, time) projection was measured to cost a quarter of insert speed);
//   minmax on `time` prunes range queries and the newest-first top-K; minmax on severity; bloom
//   filter on id for getLog.
// - message: a `text` index (ClickHouse ≥ 26.2) lower-cased by its preprocessor so ILIKE uses it;
//   servers that refuse it get an ngrambf_v1 index on lowerUTF8(message) (decided at migration time,
//   queries.ts asks system.data_skipping_indices which one exists).
// - mac, tag, host are plain (non-Nullable) LowCardinality strings so they can sit in keys and
//   indexes: '' stores "unknown" and reads back as null. parse_error and event_json: '' = absent.
// - Device summaries are kept by materialized views at insert time, never by scanning logs:
//   `devices` (AggregatingMergeTree, argMax over time of non-null values) and
//   `device_errors_hourly` (SummingMergeTree of severity <= 3 per MAC and hour).
// - Every table fed by an insert carries non_replicated_deduplication_window, because with
//   deduplicate_blocks_in_dependent_materialized_views a retried insert (same token) must be
//   dropped in the views' targets too, or the summaries would count a retried batch twice.

import type { StoredRecord } from '../core/record.js';
import { HandlogError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { alertTables } from '../alerts/schema.js';

/** Insert blocks remembered per table for insert_deduplication_token (a WAL retry comes soon after). */
export const DEDUP_WINDOW_BLOCKS = 10_000;

/** Runs one DDL statement; `settings` are per-statement server settings (server mode only). */
export type ExecDdl = (sql: string, settings?: Record<string, number>) => Promise<void>;

export interface MigrationContext {
  readonly exec: ExecDdl;
  readonly retentionDays: number;
  readonly logger: Logger;
  /** Whether a failure is the server refusing the statement (as opposed to being unreachable). */
  readonly isRefusal: (e: unknown) => boolean;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Idempotent (IF NOT EXISTS) so that two processes migrating at once both succeed; returns a note. */
  readonly up: (ctx: MigrationContext) => Promise<string>;
}

export const MESSAGE_INDEX_NAME = 'idx_message';

const TEXT_INDEX = `INDEX ${MESSAGE_INDEX_NAME} message TYPE text(tokenizer = splitByNonAlpha, preprocessor = lower(message))`;
const NGRAM_INDEX = `INDEX ${MESSAGE_INDEX_NAME} lowerUTF8(message) TYPE ngrambf_v1(3, 16384, 3, 0) GRANULARITY 1`;
const TAG_BLOOM = 'INDEX idx_tag tag TYPE bloom_filter(0.01) GRANULARITY 1';

function logsDdl(retentionDays: number, messageIndex: string, tagIndex: string): string {
  return `CREATE TABLE IF NOT EXISTS logs
(
    id UUID,
    time DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    received_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    syslog_time Nullable(DateTime64(3, 'UTC')) CODEC(Delta, ZSTD(1)),
    device_time Nullable(DateTime64(3, 'UTC')) CODEC(Delta, ZSTD(1)),
    format LowCardinality(String),
    transport LowCardinality(String),
    source_ip LowCardinality(String),
    session LowCardinality(String),
    facility Nullable(UInt8),
    severity Nullable(UInt8),
    severity_name LowCardinality(Nullable(String)),
    host LowCardinality(String),
    tag LowCardinality(String),
    pid Nullable(UInt32),
    tid Nullable(UInt32),
    mac LowCardinality(String),
    uptime_ms Nullable(Int64),
    missed_events Nullable(UInt32),
    message String CODEC(ZSTD(1)),
    battery_level_pct Nullable(Float64),
    battery_voltage_mv Nullable(Int32),
    battery_temperature_c Nullable(Float64),
    battery_status Nullable(UInt8),
    battery_health Nullable(UInt8),
    battery_present Nullable(Bool),
    battery_plugged Nullable(UInt8),
    battery_technology LowCardinality(Nullable(String)),
    event_json String CODEC(ZSTD(1)),
    event_type LowCardinality(String) MATERIALIZED JSONExtractString(event_json, 'type'),
    parse_error String CODEC(ZSTD(1)),
    raw String CODEC(ZSTD(1)),
    INDEX idx_time time TYPE minmax GRANULARITY 1,
    INDEX idx_severity severity TYPE minmax GRANULARITY 1,
    INDEX idx_id id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_host host TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_session session TYPE bloom_filter(0.01) GRANULARITY 1,
    ${messageIndex},
    ${tagIndex}
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (mac, time)
TTL received_at + toIntervalDay(${retentionDays})
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS},
    index_granularity = 1024, ${SMALL_BLOCKS}, ${COMPACT_YOUNG_PARTS}`;
}

/**
 * A page of rows (newest 100 of a handset, of a tag) reads its ~30 columns lazily for just those
 * rows, and each read decompresses the whole block around the row: granules of 1,024 rows (not
 * 8,192) and blocks of 16–64 KiB (not 64 KiB–1 MiB) cut that work. Measured on 10 M rows with
 * chdb 26.7: newest 100 of a MAC over 24 h 32 → 20 ms, of two tags over an hour ~100 → 55 ms, for
 * 5 % more disk.
 */
const SMALL_BLOCKS = 'min_compress_block_size = 16384, max_compress_block_size = 65536';

/**
 * Parts up to 128 MiB uncompressed (~400,000 handset rows: every insert and the young merges of a
 * day) are written as compact parts, one data file for all columns, instead of wide parts, a file
 * or two per column (31 columns, 17 of them Nullable: ~60 files). The newest 100 of a handset read
 * a handful of rows from each of the day's young parts, and in a wide part every one of those ~60
 * streams costs a mark lookup, a buffer and a block to decompress: measured on the 10 M-row bench
 * store (chdb 26.7, the same 17 parts written both ways, four alternating rounds of 10 runs each),
 * newest 100 of a MAC over 24 h 18.3 → 14.7 ms (UI fields 14.3 → 11.8). Scans of many granules pay
 * for the per-granule blocks of a compact part: two tags over an hour 38.9 → 43.4 ms, Fatal + Error
 * over 7 days 98 → 110 ms, text 232 → 247 ms, all far inside their targets. Smaller compression
 * blocks in wide parts instead (4–16 KiB, 1–8 KiB) gave 17.2 ms. A day's merged part stays wide.
 * (ClickHouse's default is 10 MiB.)
 */
const COMPACT_YOUNG_PARTS = 'min_bytes_for_wide_part = 134217728';

async function createLogs(ctx: MigrationContext): Promise<string> {
  // Newest engines first; each fallback only when the server refuses the statement itself.
  // Tags get a bloom filter, not a (tag, time) projection: measured on chdb 26.7, the projection
  // cost a quarter of insert throughput (105k → 139k rows/s per 50k-row insert), and a tag filter
  // over a LowCardinality column reads fast enough with the index skipping granules.
  const variants: { note: string; message: string; tag: string; settings?: Record<string, number> }[] = [
    { note: 'message: text index; tag: bloom_filter', message: TEXT_INDEX, tag: TAG_BLOOM },
    {
      note: 'message: text index (experimental setting); tag: bloom_filter',
      message: TEXT_INDEX,
      tag: TAG_BLOOM,
      settings: { allow_experimental_full_text_index: 1 },
    },
    { note: 'message: ngrambf_v1 fallback; tag: bloom_filter', message: NGRAM_INDEX, tag: TAG_BLOOM },
  ];
  let last: unknown;
  for (const v of variants) {
    try {
      await ctx.exec(logsDdl(ctx.retentionDays, v.message, v.tag), v.settings);
      return v.note;
    } catch (e: unknown) {
      if (!ctx.isRefusal(e)) throw e;
      last = e;
      ctx.logger.warn('logs table variant refused, trying the next one', { variant: v.note, error: String(e) });
    }
  }
  throw last;
}

/**
 * `rest`: the record fields that pages show but no query filters on, as one TSV line the engine
 * writes from the row itself (a MATERIALIZED column; the columns stay for filters, aggregations and
 * the views). A page of rows reads each column it selects from every part it touches: the newest
 * 100 of a handset over 24 h spent ~0.2 ms per column in the ~4 parts of a day, whatever the
 * column's size, and 23 of its 31 columns are these. Measured on the 10 M-row bench store (chdb
 * 26.7, 40 alternating runs): all 31 columns 13.1 ms, the 8 others and `rest` 9.0 ms, ids alone
 * 6.2 ms. It costs ~15 % more disk (times are stored as ms after `time`, which compresses to
 * little) and ~0.4 µs of the engine's CPU per inserted row. Only pages of one handset's rows read
 * it (queries.ts columnsOf says why); rows.ts reads it back (parseRest).
 */
export const REST_COLUMNS = [
  'received_at', 'syslog_time', 'device_time', 'format', 'transport', 'source_ip', 'session', 'facility',
  'severity_name', 'pid', 'tid', 'uptime_ms', 'missed_events', 'battery_level_pct', 'battery_voltage_mv',
  'battery_temperature_c', 'battery_status', 'battery_health', 'battery_present', 'battery_plugged',
  'battery_technology', 'event_json', 'parse_error',
] as const satisfies readonly LogColumn[];

/** The DateTime64 columns of REST_COLUMNS: stored as milliseconds after `time` (\N when NULL). */
export const REST_TIME_COLUMNS: ReadonlySet<string> = new Set(['received_at', 'syslog_time', 'device_time']);

const REST_EXPRESSION = `formatRowNoNewline('TSV', ${REST_COLUMNS.map((c) =>
  REST_TIME_COLUMNS.has(c) ? `toUnixTimestamp64Milli(${c}) - toUnixTimestamp64Milli(time)` : c,
).join(', ')})`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'logs table', up: createLogs },
  {
    version: 2,
    name: 'devices summary kept by a materialized view',
    up: async (ctx) => {
      // argMax skips NULL arguments, so each battery field is the newest *reported* value.
      await ctx.exec(`CREATE TABLE IF NOT EXISTS devices
(
    mac String,
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_received_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    messages SimpleAggregateFunction(sum, UInt64),
    source_ip AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    host AggregateFunction(argMax, Nullable(String), DateTime64(3, 'UTC')),
    tag AggregateFunction(argMax, Nullable(String), DateTime64(3, 'UTC')),
    battery_time SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    battery_level_pct AggregateFunction(argMax, Nullable(Float64), DateTime64(3, 'UTC')),
    battery_voltage_mv AggregateFunction(argMax, Nullable(Int32), DateTime64(3, 'UTC')),
    battery_temperature_c AggregateFunction(argMax, Nullable(Float64), DateTime64(3, 'UTC')),
    battery_status AggregateFunction(argMax, Nullable(UInt8), DateTime64(3, 'UTC')),
    battery_health AggregateFunction(argMax, Nullable(UInt8), DateTime64(3, 'UTC')),
    battery_plugged AggregateFunction(argMax, Nullable(UInt8), DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY mac
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`);
      await ctx.exec(`CREATE MATERIALIZED VIEW IF NOT EXISTS devices_mv TO devices AS
SELECT
    CAST(l.mac AS String) AS mac,
    min(l.time) AS first_seen,
    max(l.time) AS last_seen,
    max(l.received_at) AS last_received_at,
    toUInt64(count()) AS messages,
    argMaxState(CAST(l.source_ip AS String), l.time) AS source_ip,
    argMaxState(CAST(nullIf(l.host, '') AS Nullable(String)), l.time) AS host,
    argMaxState(CAST(nullIf(l.tag, '') AS Nullable(String)), l.time) AS tag,
    maxIf(CAST(l.time AS Nullable(DateTime64(3, 'UTC'))), l.battery_level_pct IS NOT NULL OR l.battery_status IS NOT NULL OR l.battery_temperature_c IS NOT NULL) AS battery_time,
    argMaxState(l.battery_level_pct, l.time) AS battery_level_pct,
    argMaxState(l.battery_voltage_mv, l.time) AS battery_voltage_mv,
    argMaxState(l.battery_temperature_c, l.time) AS battery_temperature_c,
    argMaxState(l.battery_status, l.time) AS battery_status,
    argMaxState(l.battery_health, l.time) AS battery_health,
    argMaxState(l.battery_plugged, l.time) AS battery_plugged
FROM logs AS l
WHERE l.mac != ''
GROUP BY mac`);
      return 'devices + devices_mv';
    },
  },
  {
    version: 3,
    name: 'errors per device and hour kept by a materialized view',
    up: async (ctx) => {
      await ctx.exec(`CREATE TABLE IF NOT EXISTS device_errors_hourly
(
    mac String,
    hour DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    errors UInt64,
    fatal UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (mac, hour)
TTL hour + toIntervalDay(${ctx.retentionDays})
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`);
      await ctx.exec(`CREATE MATERIALIZED VIEW IF NOT EXISTS device_errors_hourly_mv TO device_errors_hourly AS
SELECT
    CAST(l.mac AS String) AS mac,
    toStartOfHour(l.time) AS hour,
    toUInt64(count()) AS errors,
    toUInt64(countIf(l.severity = 0)) AS fatal
FROM logs AS l
WHERE l.mac != '' AND l.severity <= 3
GROUP BY mac, hour`);
      return 'device_errors_hourly + device_errors_hourly_mv';
    },
  },
  {
    version: 4,
    name: 'import sessions',
    up: async (ctx) => {
      // One row per state change of an import (ReplacingMergeTree keeps the newest by updated_at):
      // progress is written a few times a second at most, so the table stays tiny. The handsets of a
      // session are not stored here: they are read from `logs` by its session name (bloom index).
      await ctx.exec(`CREATE TABLE IF NOT EXISTS sessions
(
    id String,
    name String,
    state LowCardinality(String),
    files Array(String),
    file_hashes Array(String),
    formats Array(String),
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    from_time Nullable(DateTime64(3, 'UTC')),
    to_time Nullable(DateTime64(3, 'UTC')),
    lines_read UInt64,
    stored UInt64,
    duplicates UInt64,
    unparsed UInt64,
    unparsed_reasons String,
    skipped String,
    bytes_total UInt64,
    bytes_done UInt64,
    error String,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id`);
      return 'sessions';
    },
  },
  {
    version: 5,
    name: 'alert events',
    up: async (ctx) => {
      for (const sql of alertTables(ctx.retentionDays)) await ctx.exec(sql);
      return 'alert_events, alert_deliveries, alert_acks';
    },
  },
  {
    version: 6,
    name: 'logs: small compression blocks',
    up: async (ctx) => {
      // A `logs` table created by an earlier version (before migration 1 set these) gets the block
      // sizes for new parts (merges rewrite old ones); its granularity stays at 8,192 rows, which
      // ClickHouse cannot change in place.
      await ctx.exec(`ALTER TABLE logs MODIFY SETTING ${SMALL_BLOCKS}`);
      return SMALL_BLOCKS;
    },
  },
  {
    version: 7,
    name: 'sessions: sizes of imported files',
    up: async (ctx) => {
      // A text file imported again after it grew is recognised by its first `size` bytes
      // (capture/import.ts): only what it gained is imported.
      await ctx.exec('ALTER TABLE sessions ADD COLUMN IF NOT EXISTS file_sizes Array(UInt64) AFTER formats');
      return 'sessions.file_sizes';
    },
  },
  {
    version: 8,
    name: 'logs: compact young parts',
    up: async (ctx) => {
      // New parts of a `logs` table created before this version follow the setting; parts already
      // written change format when a merge rewrites them.
      await ctx.exec(`ALTER TABLE logs MODIFY SETTING ${COMPACT_YOUNG_PARTS}`);
      return COMPACT_YOUNG_PARTS;
    },
  },
  {
    version: 9,
    name: 'logs: the fields no query filters on, in one column for pages',
    up: async (ctx) => {
      // Computed by the engine from the row at every insert (and on the fly for parts written
      // before this version, until a merge rewrites them): nothing the ingest path writes changes.
      await ctx.exec(`ALTER TABLE logs ADD COLUMN IF NOT EXISTS rest String MATERIALIZED ${REST_EXPRESSION} CODEC(ZSTD(1))`);
      return `rest: ${REST_COLUMNS.length} columns`;
    },
  },
  {
    version: 10,
    name: 'alert events: log ids packed in one string',
    up: async (ctx) => {
      // Events written before keep their ids in log_ids; new ones in log_ids_packed
      // (alerts/log-ids.ts packLogIds), unless an id is not a UUID.
      await ctx.exec(`ALTER TABLE alert_events ADD COLUMN IF NOT EXISTS log_ids_packed String DEFAULT '' AFTER log_ids`);
      return 'alert_events.log_ids_packed';
    },
  },
];

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    note String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version`;

/** Tables whose TTL follows --retention-days, and the column each TTL counts from. */
const TTL_TABLES: readonly { table: string; column: string }[] = [
  { table: 'logs', column: 'received_at' },
  { table: 'device_errors_hourly', column: 'hour' },
  { table: 'alert_events', column: 'fired_at' },
];

export interface QueryRunner {
  /** Runs a SELECT with query parameters and returns its rows (JSONEachRow). */
  select<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** Runs a statement with query parameters and no result set. */
  command(sql: string, params: Record<string, unknown>): Promise<void>;
}

export function validateRetentionDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new HandlogError('CONFIG_INVALID', `retention days must be an integer from 1 to 36500, got ${days}`);
  }
  return days;
}

/** Applies pending migrations in version order, then brings TTLs in line with retentionDays. */
export async function runMigrations(ctx: MigrationContext & QueryRunner): Promise<{ applied: number[] }> {
  validateRetentionDays(ctx.retentionDays);
  await ctx.exec(MIGRATIONS_TABLE);
  const done = new Set(
    (await ctx.select<{ version: number | string }>('SELECT DISTINCT version FROM schema_migrations')).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    const note = await m.up(ctx);
    await ctx.command(
      `INSERT INTO schema_migrations (version, name, note, applied_at)
       SELECT {version:UInt32}, {name:String}, {note:String}, now64(3, 'UTC')`,
      { version: m.version, name: m.name, note },
    );
    ctx.logger.info('migration applied', { version: m.version, name: m.name, note });
    applied.push(m.version);
  }
  await applyRetention(ctx);
  return { applied };
}

/** ALTER … MODIFY TTL only when the configured retention differs from the table's. */
async function applyRetention(ctx: MigrationContext & QueryRunner): Promise<void> {
  for (const { table, column } of TTL_TABLES) {
    const rows = await ctx.select<{ engine_full: string }>(
      'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
      { table },
    );
    const current = /TTL\s+\w+\s*\+\s*toIntervalDay\((\d+)\)/.exec(rows[0]?.engine_full ?? '')?.[1];
    if (current !== undefined && Number(current) === ctx.retentionDays) continue;
    // retentionDays is a validated integer and the names come from the list above: no user text here.
    await ctx.exec(`ALTER TABLE ${table} MODIFY TTL ${column} + toIntervalDay(${ctx.retentionDays})`);
    ctx.logger.info('retention changed', { table, from_days: current ?? null, to_days: ctx.retentionDays });
  }
}

// ---------------------------------------------------------------------------------------------
// StoredRecord → logs row

/** Columns written by insertLogs, in the order of each JSONCompactEachRow array. */
export const LOG_COLUMNS = [
  'id', 'time', 'received_at', 'syslog_time', 'device_time', 'format', 'transport', 'source_ip', 'session',
  'facility', 'severity', 'severity_name', 'host', 'tag', 'pid', 'tid', 'mac', 'uptime_ms', 'missed_events',
  'message', 'battery_level_pct', 'battery_voltage_mv', 'battery_temperature_c', 'battery_status',
  'battery_health', 'battery_present', 'battery_plugged', 'battery_technology', 'event_json', 'parse_error', 'raw',
] as const;
export type LogColumn = (typeof LOG_COLUMNS)[number];

/**
 * The type each written column is READ as from a row file: the table's type without
 * LowCardinality (store.test.ts checks it against DESCRIBE logs). A row-by-row reader that fills
 * LowCardinality columns looks up a dictionary for every value of the nine such columns; reading
 * plain strings and letting the INSERT convert whole columns was measured on chdb 26.7 at
 * 3.1 instead of 8–10 µs per row in a Null table, and 17.6–22 instead of 23–24.5 µs per row into
 * `logs` (200,000 rows in 10,000-row files, three runs).
 */
export const LOG_INPUT_TYPES: Readonly<Record<LogColumn, string>> = {
  id: 'UUID',
  time: "DateTime64(3, 'UTC')",
  received_at: "DateTime64(3, 'UTC')",
  syslog_time: "Nullable(DateTime64(3, 'UTC'))",
  device_time: "Nullable(DateTime64(3, 'UTC'))",
  format: 'String',
  transport: 'String',
  source_ip: 'String',
  session: 'String',
  facility: 'Nullable(UInt8)',
  severity: 'Nullable(UInt8)',
  severity_name: 'Nullable(String)',
  host: 'String',
  tag: 'String',
  pid: 'Nullable(UInt32)',
  tid: 'Nullable(UInt32)',
  mac: 'String',
  uptime_ms: 'Nullable(Int64)',
  missed_events: 'Nullable(UInt32)',
  message: 'String',
  battery_level_pct: 'Nullable(Float64)',
  battery_voltage_mv: 'Nullable(Int32)',
  battery_temperature_c: 'Nullable(Float64)',
  battery_status: 'Nullable(UInt8)',
  battery_health: 'Nullable(UInt8)',
  battery_present: 'Nullable(Bool)',
  battery_plugged: 'Nullable(UInt8)',
  battery_technology: 'Nullable(String)',
  event_json: 'String',
  parse_error: 'String',
  raw: 'String',
};

/** LOG_INPUT_TYPES as a table-function structure argument ('id UUID, time DateTime64(…), …'). */
export const LOG_INPUT_STRUCTURE = LOG_COLUMNS.map((c) => `${c} ${LOG_INPUT_TYPES[c]}`).join(', ');
export type LogRow = Record<LogColumn, string | number | boolean | null>;

function bad(rec: StoredRecord, index: number, field: string, why: string): HandlogError {
  return new HandlogError('STORE_REJECTED', `row ${index} (id ${String(rec.id)}): ${field} ${why}`);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const CANONICAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MIN_MS = Date.UTC(1900, 0, 1);
const MAX_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

/** ISO-8601 with a zone → ClickHouse DateTime64(3) text in UTC ('YYYY-MM-DD hh:mm:ss.sss'). */
export function isoToCh(iso: string): string | null {
  // Fast path for Date#toISOString() output, which is what parsers emit: slicing, no Date objects.
  const m = CANONICAL.exec(iso);
  if (m !== null) {
    const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
    const days = mo === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(mo) ? 30 : 31;
    if (y < 1900 || y > 2299 || mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || sec > 59) return null;
    return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  }
  if (!ISO.test(iso)) return null;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms < MIN_MS || ms > MAX_MS) return null;
  const s = new Date(ms).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 23)}`;
}

/**
 * Maps a record to its row, or throws STORE_REJECTED naming the row and field when a value cannot be
 * stored (the raw line is part of every record, so a parser bug is visible, never silently altered).
 */
export function toLogRow(rec: StoredRecord, index: number): LogRow {
  const time = (field: string, v: string | null | undefined, nullable: boolean): string | null => {
    if (v === null || v === undefined) {
      if (nullable) return null;
      throw bad(rec, index, field, 'is missing');
    }
    const t = typeof v === 'string' ? isoToCh(v) : null;
    if (t === null) throw bad(rec, index, field, `is not an ISO-8601 time from 1900 to 2299: ${JSON.stringify(v)}`);
    return t;
  };
  const int = (field: string, v: number | null | undefined, min: number, max: number): number | null => {
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw bad(rec, index, field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const real = (field: string, v: number | null | undefined): number | null => {
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(rec, index, field, `must be a finite number`);
    return v;
  };
  const str = (v: string | null | undefined): string => (typeof v === 'string' ? v : '');
  if (typeof rec.id !== 'string' || !UUID.test(rec.id)) throw bad(rec, index, 'id', 'is not a UUID');
  const b = rec.battery;
  return {
    id: rec.id,
    time: time('time', rec.time, false),
    received_at: time('received_at', rec.received_at, false),
    syslog_time: time('syslog_time', rec.syslog_time, true),
    device_time: time('device_time', rec.device_time, true),
    format: str(rec.format),
    transport: str(rec.transport),
    source_ip: str(rec.source_ip),
    session: str(rec.session),
    facility: int('facility', rec.facility, 0, 255),
    severity: int('severity', rec.severity, 0, 255),
    severity_name: rec.severity_name ?? null,
    host: str(rec.host),
    tag: str(rec.tag),
    pid: int('pid', rec.pid, 0, 4_294_967_295),
    tid: int('tid', rec.tid, 0, 4_294_967_295),
    mac: str(rec.mac),
    uptime_ms: int('uptime_ms', rec.uptime_ms, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    missed_events: int('missed_events', rec.missed_events, 0, 4_294_967_295),
    message: str(rec.message),
    battery_level_pct: real('battery.level_pct', b?.level_pct),
    battery_voltage_mv: int('battery.voltage_mv', b?.voltage_mv, -2_147_483_648, 2_147_483_647),
    battery_temperature_c: real('battery.temperature_c', b?.temperature_c),
    battery_status: int('battery.status', b?.status, 0, 255),
    battery_health: int('battery.health', b?.health, 0, 255),
    battery_present: typeof b?.present === 'boolean' ? b.present : null,
    battery_plugged: int('battery.plugged', b?.plugged, 0, 255),
    battery_technology: b?.technology ?? null,
    event_json: rec.event === undefined ? '' : JSON.stringify(rec.event),
    parse_error: str(rec.parse_error),
    raw: str(rec.raw),
  };
}

export { encodeLogRow } from './encode.js';
