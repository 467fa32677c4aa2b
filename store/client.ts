// The store: ONE @clickhouse/client ClickHouseClient for both modes (DESIGN.md §1).
// - embedded (default): chdb's in-process engine plugged in through createClient({ connection }).
//   libchdb binds ONE data directory per process, so a process holds at most one embedded store at a
//   time (openStore refuses a second), and tests that open one run in their own forked process.
//   In this mode `clickhouse_settings` are applied by chdb as session-wide `SET`s that outlive the
//   query; per-query settings therefore go into a SQL `SETTINGS` clause (see insertLogs).
// - server: HTTP(S) to a ClickHouse server or cluster. openStore never waits for the server: when it
//   does not answer, migrate() throws STORE_UNAVAILABLE, the service keeps filling its WAL, and
//   insertLogs retries the pending migration before each insert until it succeeds.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  createClient,
  drainStream,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  type Logger as ClientLogger,
} from '@clickhouse/client';
import type { StoredRecord } from '../core/record.js';
import { HandlogError, errorMessage, type ErrorCode } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { LOG_COLUMNS, LOG_INPUT_STRUCTURE, runMigrations, toLogRow, validateRetentionDays } from './schema.js';

/** A SQL string literal (backslash and quote escaped) for text that cannot be a query parameter. */
function sqlString(v: string): string {
  return "'" + v.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** The file() structure argument of TabSeparated row files, quoted once. */
const TSV_STRUCTURE = sqlString(LOG_INPUT_STRUCTURE);

export interface Store {
  readonly mode: 'embedded' | 'server';
  readonly client: ClickHouseClient;
  /** The database the client's unqualified table names resolve to. */
  readonly database: string;
  /** Versioned migrations, idempotent; openStore runs them, callers may retry after STORE_UNAVAILABLE. */
  migrate(): Promise<void>;
  /** Inserts rows once per dedupToken: the same rows sent again with the same token are stored once. */
  insertLogs(rows: StoredRecord[], dedupToken: string): Promise<void>;
  /** Insert encoded rows (encodeLogRow lines), once per dedupToken. */
  insertLines(lines: string[], dedupToken: string, format?: RowFileFormat): Promise<void>;
  /**
   * Insert a file of rows once per dedupToken: encodeLogRow lines (a sealed WAL segment), or
   * encodeLogRowTsv lines with format 'TabSeparated' (bulk imports: parsed several times faster).
   */
  insertFile(filePath: string, dedupToken: string, format?: RowFileFormat): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Row files insertFile reads. */
export type RowFileFormat = 'JSONEachRow' | 'TabSeparated';

export interface StoreConfig {
  /** Embedded mode keeps its engine files under <dataDir>/clickhouse. */
  dataDir: string;
  /** http(s)://[user:password@]host:port[/database]; selects server mode. */
  clickhouseUrl?: string;
  retentionDays: number;
  logger?: Logger;
  /** Server mode: HTTP request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Where CLICKHOUSE_USER / CLICKHOUSE_PASSWORD are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export const DEFAULT_DATABASE = 'handlog';
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Error classification. Anything that did not come back as a ClickHouse exception (connection
// refused, reset, timeout, a proxy's bare 502/503) means the store is unavailable. A ClickHouse
// exception is transient when it is about resources, reachability or a schema not created yet;
// every other one is the server refusing the statement or its data, and retrying cannot help.

// Names and codes checked against errorCodeToName() of the bundled engine (26.7).
const TRANSIENT: Readonly<Record<string, number>> = {
  UNKNOWN_TABLE: 60, // schema not migrated yet: retry after migrate()
  UNKNOWN_DATABASE: 81,
  TIMEOUT_EXCEEDED: 159,
  CANNOT_ALLOCATE_MEMORY: 173,
  REQUIRED_PASSWORD: 194, // credentials are configuration: fix them and the same data goes in
  TOO_MANY_SIMULTANEOUS_QUERIES: 202,
  NO_FREE_CONNECTION: 203,
  SOCKET_TIMEOUT: 209,
  NETWORK_ERROR: 210,
  TABLE_IS_DROPPED: 218,
  ABORTED: 236,
  MEMORY_LIMIT_EXCEEDED: 241,
  TABLE_IS_READ_ONLY: 242,
  NOT_ENOUGH_SPACE: 243,
  TOO_MANY_PARTS: 252,
  NO_AVAILABLE_REPLICA: 265,
  ALL_CONNECTION_TRIES_FAILED: 279,
  ALL_REPLICAS_ARE_STALE: 369,
  QUERY_IS_PROHIBITED: 392,
  QUERY_WAS_CANCELLED: 394,
  SYSTEM_ERROR: 425,
  CANNOT_SCHEDULE_TASK: 439,
  DEADLOCK_AVOIDED: 473,
  ACCESS_DENIED: 497,
  AUTHENTICATION_FAILED: 516,
  TOO_MANY_PARTITIONS: 565,
  DISTRIBUTED_TOO_MANY_PENDING_BYTES: 574,
  TABLE_IS_BEING_RESTARTED: 733,
  SERVER_OVERLOADED: 745,
  KEEPER_EXCEPTION: 999,
  POCO_EXCEPTION: 1000,
};
const TRANSIENT_CODES: ReadonlySet<string> = new Set(Object.values(TRANSIENT).map(String));

interface ServerError {
  code: string;
  type: string | undefined;
}

/** A ClickHouse exception (either backend), recognised by shape: the classes come from two packages. */
function serverError(e: unknown): ServerError | null {
  if (!(e instanceof Error)) return null;
  const { code, type } = e as Error & { code?: unknown; type?: unknown };
  if (typeof code !== 'string' || !/^\d+$/.test(code)) return null;
  return { code, type: typeof type === 'string' ? type : undefined };
}

/** Whether the server answered and refused (not retryable), as opposed to being unavailable. */
export function isRefusal(e: unknown): boolean {
  const se = serverError(e);
  if (se === null) return false;
  return !(TRANSIENT_CODES.has(se.code) || (se.type !== undefined && se.type in TRANSIENT));
}

/** Wraps a failure as STORE_UNAVAILABLE (retryable) or `refused` (the server said no). */
export function classifyStoreError(e: unknown, action: string, refused: ErrorCode = 'STORE_REJECTED'): HandlogError {
  if (e instanceof HandlogError) return e;
  const se = serverError(e);
  const detail = se?.type !== undefined ? `${se.type}: ${errorMessage(e)}` : errorMessage(e);
  const code: ErrorCode = isRefusal(e) ? refused : 'STORE_UNAVAILABLE';
  return new HandlogError(code, `${action}: ${detail.trim()}`, { cause: e });
}

// ---------------------------------------------------------------------------------------------

/** Client library logs go to our logger at debug: failures reach callers as HandlogErrors. */
function clientLogClass(logger: Logger): new () => ClientLogger {
  const fwd = (p: { module: string; message: string; err?: Error }): void =>
    logger.debug('clickhouse client', { module: p.module, detail: p.message, error: p.err?.message });
  return class implements ClientLogger {
    trace(): void {}
    debug(): void {}
    info(): void {}
    warn(p: { module: string; message: string; err?: Error }): void {
      fwd(p);
    }
    error(p: { module: string; message: string; err: Error }): void {
      fwd(p);
    }
  };
}

interface ServerTarget {
  url: string;
  username: string | undefined;
  password: string | undefined;
  database: string;
}

export function parseClickhouseUrl(raw: string, env: Readonly<Record<string, string | undefined>>): ServerTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch (e: unknown) {
    throw new HandlogError('CONFIG_INVALID', `clickhouse URL is not a URL: ${errorMessage(e)}`, { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new HandlogError('CONFIG_INVALID', `clickhouse URL must be http: or https:, got ${u.protocol}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, '')) || DEFAULT_DATABASE;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new HandlogError('CONFIG_INVALID', `clickhouse URL database must be a plain identifier, got ${database}`);
  }
  const username = u.username !== '' ? decodeURIComponent(u.username) : env['CLICKHOUSE_USER'] || undefined;
  const password = u.password !== '' ? decodeURIComponent(u.password) : env['CLICKHOUSE_PASSWORD'] || undefined;
  return { url: `${u.protocol}//${u.host}${u.search}`, username, password, database };
}

/**
 * How the embedded engine reads table files. Its default reads each column file through a thread
 * pool with pread, opening every file of every part a query touches anew (a page of one handset's
 * rows opened ~200 files); with mmap, files stay mapped in the engine's cache of mapped files
 * (1,024 entries) and a read is a memory copy. Measured on the 10 M-row query bench: the by-MAC and
 * by-tag pages 10–20 % faster, Fatal+Error and text search 5–10 %, device list unchanged. Only
 * queries are affected (background merges read with their own settings); a server's own settings
 * are its admin's choice and are not touched. Mappings of parts a merge replaced are let go when the
 * old parts are removed (checked: none left mapped, none held deleted).
 */
const EMBEDDED_READ_SETTINGS = ["local_filesystem_read_method = 'mmap'", 'min_bytes_to_use_mmap_io = 1'];

/** The data directory bound by this process's embedded engine, if one is open. */
let embeddedSlot: string | null = null;

export async function openStore(cfg: StoreConfig): Promise<Store> {
  validateRetentionDays(cfg.retentionDays);
  const logger = cfg.logger ?? silentLogger;
  const log = { LoggerClass: clientLogClass(logger) };

  if (cfg.clickhouseUrl !== undefined && cfg.clickhouseUrl !== '') {
    const target = parseClickhouseUrl(cfg.clickhouseUrl, cfg.env ?? process.env);
    const options: ClickHouseClientConfigOptions = {
      url: target.url,
      username: target.username,
      password: target.password,
      database: target.database,
      request_timeout: cfg.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      application: 'handlog',
      log,
    };
    let client: ClickHouseClient;
    try {
      client = createClient(options);
    } catch (e: unknown) {
      throw new HandlogError('CONFIG_INVALID', `clickhouse URL rejected: ${errorMessage(e)}`, { cause: e });
    }
    // CREATE DATABASE must run on a connection whose current database already exists.
    const createDatabase = async (): Promise<void> => {
      const boot = createClient({ ...options, database: 'default' });
      try {
        await boot.command({ query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}', query_params: { db: target.database } });
      } finally {
        await boot.close();
      }
    };
    const store = makeStore('server', client, target.database, cfg.retentionDays, logger, createDatabase, async () => {
      await client.close();
    });
    try {
      await store.migrate();
    } catch (e: unknown) {
      if (!(e instanceof HandlogError) || e.code !== 'STORE_UNAVAILABLE') {
        await client.close();
        throw e;
      }
      logger.warn('clickhouse server unavailable; migrations will be retried', { error: e.message });
    }
    return store;
  }

  const enginePath = path.resolve(cfg.dataDir, 'clickhouse');
  if (embeddedSlot !== null) {
    throw new HandlogError(
      'CONFIG_INVALID',
      `an embedded store is already open in this process (${embeddedSlot}); chdb binds one data directory per process`,
    );
  }
  embeddedSlot = enginePath;
  let client: ClickHouseClient | undefined;
  try {
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    // Loaded here so server-only deployments never load the native engine.
    const { createChdbConnection } = await import('chdb/connection');
    // chdb types its Connection against @clickhouse/client-common 1.23.0 and the client bundles its
    // own 1.23.1 copy; they differ only in the list of known settings, hence the cast.
    const connection = createChdbConnection({ path: enginePath }) as unknown as ClickHouseClientConfigOptions['connection'];
    client = createClient({ connection, log });
    // USE is session state in chdb: unqualified names resolve to handlog for this client's life.
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}', query_params: { db: DEFAULT_DATABASE } });
    await client.command({ query: `USE ${DEFAULT_DATABASE}` });
    for (const set of EMBEDDED_READ_SETTINGS) await client.command({ query: `SET ${set}` });
    const opened = client;
    const store = makeStore('embedded', opened, DEFAULT_DATABASE, cfg.retentionDays, logger, null, async () => {
      await opened.close();
      // close() can return before libchdb let go of the directory; wait until it really has.
      const { drainPending } = await import('chdb');
      await drainPending();
      embeddedSlot = null;
    });
    await store.migrate();
    logger.info('embedded store open', { path: enginePath });
    return store;
  } catch (e: unknown) {
    if (client !== undefined) await client.close().catch(() => undefined);
    await import('chdb').then((m) => m.drainPending()).catch(() => undefined);
    embeddedSlot = null;
    throw classifyStoreError(
      e,
      `cannot open the embedded store at ${enginePath} (one process per data directory)`,
      'STORE_UNAVAILABLE',
    );
  }
}

function makeStore(
  mode: 'embedded' | 'server',
  client: ClickHouseClient,
  database: string,
  retentionDays: number,
  logger: Logger,
  createDatabase: (() => Promise<void>) | null,
  release: () => Promise<void>,
): Store {
  let migrated = false;
  let migrating: Promise<void> | null = null;
  let closed: Promise<void> | null = null;
  /** Inserts under way: close() lets them finish rather than pulling the engine from under them. */
  const inflight = new Set<Promise<unknown>>();

  const doMigrate = async (): Promise<void> => {
    try {
      if (createDatabase !== null) await createDatabase();
      await runMigrations({
        retentionDays,
        logger,
        isRefusal,
        exec: async (sql, settings) => {
          // Settings only over HTTP, where they are per request (chdb would keep them as session SETs).
          await client.command({ query: sql, clickhouse_settings: mode === 'server' ? settings : undefined });
        },
        command: async (sql, params) => {
          await client.command({ query: sql, query_params: params });
        },
        select: async <T>(sql: string, params?: Record<string, unknown>): Promise<T[]> => {
          const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
          return rs.json<T>();
        },
      });
    } catch (e: unknown) {
      throw classifyStoreError(e, 'migration failed');
    }
    migrated = true;
  };

  const migrate = async (): Promise<void> => {
    if (migrated) return;
    if (closed !== null) throw new HandlogError('STORE_UNAVAILABLE', 'the store is closed');
    migrating ??= doMigrate().finally(() => {
      migrating = null;
    });
    return migrating;
  };

  /** Every insert: the pending migration first, the dedup token as settings, errors classified. */
  const runInsert = async (dedupToken: string, what: string, run: (settings: string) => Promise<void>): Promise<void> => {
    if (dedupToken === '') throw new HandlogError('INTERNAL', 'an insert needs a non-empty dedupToken');
    if (closed !== null) throw new HandlogError('STORE_UNAVAILABLE', 'the store is closed');
    await migrate();
    // The token is hashed to hex so that it can sit in the SQL text (chdb keeps per-query settings
    // on the session, so they go in a SETTINGS clause); dependent views deduplicate with it too.
    const token = createHash('sha256').update(dedupToken).digest('hex');
    const settings =
      `SETTINGS insert_deduplicate = 1, insert_deduplication_token = '${token}', ` +
      'deduplicate_blocks_in_dependent_materialized_views = 1, input_format_skip_unknown_fields = 1';
    const op = run(settings);
    inflight.add(op);
    try {
      await op;
    } catch (e: unknown) {
      throw classifyStoreError(e, what);
    } finally {
      inflight.delete(op);
    }
  };

  return {
    mode,
    client,
    database,
    migrate,
    async insertLogs(rows: StoredRecord[], dedupToken: string): Promise<void> {
      if (rows.length === 0) return;
      await this.insertLines(rows.map((r, i) => JSON.stringify(toLogRow(r, i))), dedupToken);
    },
    async insertLines(lines: string[], dedupToken: string, format: RowFileFormat = 'JSONEachRow'): Promise<void> {
      const cols = format === 'TabSeparated' ? ` (${LOG_COLUMNS.join(', ')})` : '';
      if (lines.length === 0) return;
      const body = Buffer.from(lines.join('\n') + '\n', 'utf8');
      await runInsert(dedupToken, `insert of ${lines.length} rows failed`, (settings) =>
        client
          .exec({ query: `INSERT INTO logs${cols} ${settings} FORMAT ${format}`, values: Readable.from([body]) })
          .then((res) => drainStream(res.stream)),
      );
    },
    async insertFile(filePath: string, dedupToken: string, format: RowFileFormat = 'JSONEachRow'): Promise<void> {
      const abs = path.resolve(filePath);
      // TSV rows carry no names: the column list says which is which.
      const cols = format === 'TabSeparated' ? ` (${LOG_COLUMNS.join(', ')})` : '';
      await runInsert(dedupToken, `insert of ${path.basename(abs)} failed`, (settings) => {
        if (mode === 'embedded') {
          // The engine reads the file straight from disk: no JS parsing or re-encoding. TSV is read
          // with LOG_INPUT_STRUCTURE (no LowCardinality: several µs less per row); JSON rows carry
          // names and take the insertion table's structure.
          const structure = format === 'TabSeparated' ? `, ${TSV_STRUCTURE}` : '';
          return client
            .command({ query: `INSERT INTO logs${cols} ${settings} SELECT * FROM file(${sqlString(abs)}, '${format}'${structure})` })
            .then(() => undefined);
        }
        return client
          .exec({ query: `INSERT INTO logs${cols} ${settings} FORMAT ${format}`, values: fs.createReadStream(abs) })
          .then((res) => drainStream(res.stream));
      });
    },
    async ping(): Promise<boolean> {
      if (closed !== null) return false;
      try {
        return (await client.ping()).success;
      } catch {
        return false;
      }
    },
    close(): Promise<void> {
      closed ??= (async () => {
        await migrating?.catch(() => undefined);
        await Promise.allSettled([...inflight]);
        await release();
        logger.info('store closed', { mode });
      })();
      return closed;
    },
  };
}
