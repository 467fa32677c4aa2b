// `handlog serve`: assembles listeners, pipeline, WAL, sink, store and the HTTP API, and owns the
// process lifecycle (data-directory lock, SIGHUP certificate reload, graceful SIGTERM/SIGINT).

import { serve as serveHttp, type ServerType } from '@hono/node-server';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadServeConfig, serveHelp, SERVE_OPTIONS, formatAddress, type ServeConfig } from '../core/config.js';
import { errorMessage, HandlogError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { Registry } from '../core/metrics.js';
import { createPipeline, type Pipeline } from '../ingest/pipeline.js';
import { keepWorkerThreadsDeprioritized } from '../ingest/priority.js';
import { createSink, type Sink } from '../ingest/sink.js';
import { createWal, type Wal } from '../ingest/wal.js';
import { startListeners, type Listeners } from '../ingest/listen.js';
import { createApp, type HealthReport } from '../query-api/app.js';
import { findUiDist } from '../query-api/static.js';
import { openStore, type Store } from '../store/client.js';
import { createSessionService } from '../capture/service.js';
import { AlertService } from '../alerts/service.js';
import { parseCommandArgs } from './args.js';

/** Written in the data directory while serving: the base URL of the HTTP API. */
export const SERVICE_URL_FILE = 'handlog.http';

export interface Service {
  config: Readonly<ServeConfig>;
  store: Store;
  wal: Wal;
  sink: Sink;
  pipeline: Pipeline;
  alerts: AlertService;
  metrics: Registry;
  listeners: Listeners;
  /** Bound addresses, e.g. { udp: '127.0.0.1:5514', http: '127.0.0.1:8080' } (port 0 resolved). */
  addresses: Record<string, string | null>;
  reloadCertificates(): void;
  stop(): Promise<void>;
}

const LOCK_FILE = 'handlog.pid';

/**
 * When a process started, in clock ticks since boot (/proc/PID/stat field 22), or null where /proc
 * is not there. With the pid it names one process: a pid alone is reused after a reboot or restart.
 */
function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** The lock file's content: `PID` or, where /proc tells it, `PID STARTTIME`. */
function lockContent(): string {
  const start = processStartTime(process.pid);
  return start === null ? String(process.pid) : `${process.pid} ${start}`;
}

/** The lock file's pid and, when it holds one, the start time of that process; null when unreadable. */
function readLock(dataDir: string): { pidText: string; pid: number; start: string | undefined } | null {
  try {
    const [pidText = '', start] = fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8').trim().split(/\s+/);
    return { pidText, pid: Number(pidText), start };
  } catch {
    return null;
  }
}

/** The pid of another live process holding the data directory's lock, or null. */
export function dataDirHolder(dataDir: string): number | null {
  const lock = readLock(dataDir);
  if (lock === null) return null;
  const { pid, start } = lock;
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  // Alive, but is it the process that took the lock? A different start time: the pid was reused.
  if (start !== undefined) {
    const now = processStartTime(pid);
    if (now !== null && now !== start) return null;
  }
  return pid;
}

/**
 * The HTTP API of the `handlog serve` that holds the data directory, or null when none does (a
 * `handlog.http` left by a crashed service does not count). A live holder without an API is an error.
 */
export function runningServiceUrl(dataDir: string): string | null {
  const pid = dataDirHolder(dataDir);
  if (pid === null) return null;
  try {
    return fs.readFileSync(path.join(dataDir, SERVICE_URL_FILE), 'utf8').trim();
  } catch {
    throw new HandlogError('CONFIG_INVALID', `data directory ${path.resolve(dataDir)} is in use by process ${pid}, which serves no HTTP API; stop it or pass --server URL`);
  }
}

/**
 * An import (CLI or upload) spools its batches to `uploads/import-PID-….tsv` and removes each after its
 * insert; one that was interrupted (Ctrl-C, kill) leaves its last batches behind, up to tens of MB each.
 * Only the holder of the lock writes there, so once it is ours every other process's spool is stale.
 */
function removeStaleSpools(dataDir: string, logger: Logger): void {
  const dir = path.join(dataDir, 'uploads');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  let removed = 0;
  for (const name of names) {
    const m = /^import-(\d+)-[0-9a-f]+-\d+\.tsv$/.exec(name);
    if (m === null || Number(m[1]) === process.pid) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true });
      removed++;
    } catch {
      // left for the next start
    }
  }
  if (removed > 0) logger.info('removed spool files of an interrupted import', { files: removed, dir });
}

/** One process per data directory: the embedded engine and the WAL are not shareable. */
export function lockDataDir(dataDir: string, logger: Logger): () => void {
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (e: unknown) {
    throw new HandlogError('CONFIG_INVALID', `--data: cannot create data directory ${path.resolve(dataDir)}: ${errorMessage(e)}`, { cause: e });
  }
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const content = lockContent();
      fs.writeFileSync(lockPath, content, { flag: 'wx' });
      removeStaleSpools(dataDir, logger);
      return () => {
        try {
          if (fs.readFileSync(lockPath, 'utf8') === content) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = dataDirHolder(dataDir);
      if (pid !== null) {
        throw new HandlogError(
          'CONFIG_INVALID',
          `data directory ${path.resolve(dataDir)} is in use by handlog process ${pid}; stop it or use another --data`,
        );
      }
      logger.warn('removing stale data directory lock', { pid: readLock(dataDir)?.pidText });
      fs.unlinkSync(lockPath);
    }
  }
  throw new HandlogError('CONFIG_INVALID', `cannot lock data directory ${dataDir}`);
}

export async function startService(
  config: Readonly<ServeConfig>,
  opts: { logger?: Logger; env?: Readonly<Record<string, string | undefined>> } = {},
): Promise<Service> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const metrics = new Registry();
  const dropped = metrics.counter('handlog_dropped_total', 'Messages, connections or rows dropped, by reason.');
  // Event-loop stalls are what overflow the UDP receive buffer: worth seeing next to the drops.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const loopGauge = metrics.gauge('handlog_event_loop_delay_seconds', 'Event-loop delay since the previous scrape (max and p99).');
  loopGauge.collect(() => {
    loopGauge.set(loopDelay.max / 1e9, { quantile: 'max' });
    loopGauge.set(loopDelay.percentile(99) / 1e9, { quantile: '0.99' });
    loopDelay.reset();
  });
  const unlock = lockDataDir(config.dataDir, logger);
  // What has been started, as stop steps, newest first: each component is registered the moment it
  // runs, so a start that fails half-way stops exactly what it started, in reverse order (the sink
  // before the WAL it reads, the WAL before the store, the lock last), and stop() runs the same list.
  const cleanups: (() => Promise<void> | void)[] = [unlock, () => loopDelay.disable()];
  const runCleanups = async (): Promise<void> => {
    for (const c of cleanups.splice(0)) {
      try {
        await c();
      } catch (e: unknown) {
        logger.warn('shutdown step failed', { err: errorMessage(e) });
      }
    }
  };
  try {
    const store = await openStore({
      dataDir: config.dataDir,
      ...(config.clickhouseUrl === null ? {} : { clickhouseUrl: config.clickhouseUrl }),
      retentionDays: config.retentionDays,
      logger,
      ...(opts.env === undefined ? {} : { env: opts.env }),
    });
    cleanups.unshift(() => store.close());

    const wal = createWal(
      { dir: path.join(config.dataDir, 'wal'), budgetBytes: config.walBudgetBytes, maxRows: config.batchMaxRows, maxAgeMs: config.batchMaxAgeMs },
      { metrics, logger, dropped },
    );
    await wal.open();
    cleanups.unshift(() => wal.close());
    const sink = createSink({}, { wal, store, metrics, logger });
    cleanups.unshift(() => sink.close());

    // In server mode the store may be down at start: keep accepting into the WAL and start
    // inserting once migrations went through.
    let migrated = store.mode === 'embedded';
    let migrateError: string | null = null;
    let stopping = false;
    let retryTimer: NodeJS.Timeout | undefined;
    const tryMigrate = async (delayMs: number): Promise<void> => {
      if (stopping) return;
      try {
        await store.migrate();
        migrated = true;
        migrateError = null;
        logger.info('store ready', { mode: store.mode });
        sink.start();
      } catch (e: unknown) {
        migrateError = errorMessage(e);
        logger.warn('store not ready; retrying', { err: migrateError, retry_ms: delayMs });
        retryTimer = setTimeout(() => void tryMigrate(Math.min(delayMs * 2, 30_000)), delayMs);
      }
    };
    // Before the sink closes: no migration retry may start it again.
    cleanups.unshift(() => {
      stopping = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
    });
    if (migrated) sink.start();
    else await tryMigrate(500);
    // What /healthz says, for monitoring that reads only /metrics.
    const storeUp = metrics.gauge('handlog_store_up', 'Store ready: 1 when migrations are done and the last insert succeeded, 0 while it cannot be reached or refuses inserts.');
    storeUp.collect(() => storeUp.set(migrated && sink.storeHealthy ? 1 : 0));
    const walFull = metrics.gauge('handlog_wal_full', 'Write-ahead log at its --wal-budget-bytes: 1 while TCP/TLS senders are paused and UDP is dropped.');
    walFull.collect(() => walFull.set(wal.full ? 1 : 0));

    cleanups.unshift(keepWorkerThreadsDeprioritized());
    const pipeline = createPipeline({ tz: config.tz }, { wal, metrics, logger, dropped });
    // Subscribed before the listeners open, so that the first message received is evaluated too.
    const alerts = new AlertService({ dataDir: config.dataDir, webhookUrl: config.alertWebhook }, { store, metrics, logger, pipeline });
    alerts.start();
    cleanups.unshift(() => alerts.stop());
    const listeners = await startListeners(config, { onFrame: (f) => pipeline.ingest(f), metrics, logger, dropped });
    cleanups.unshift(() => listeners.stop());
    const offPressure = wal.onPressure((full) => {
      logger.warn(full ? 'write-ahead log full: pausing TCP/TLS senders, dropping UDP' : 'write-ahead log has room again', {});
      if (full) listeners.pause();
      else listeners.resume();
    });
    cleanups.unshift(offPressure);

    const health = async (): Promise<HealthReport> => {
      const reachable = await store.ping().catch(() => false);
      const d = wal.depth();
      const s = sink.status();
      const ok = reachable && migrated && s.storeHealthy && !wal.full;
      return {
        status: ok ? 'ok' : 'degraded',
        store: { mode: store.mode, reachable, migrated, last_error: s.lastError?.message ?? migrateError },
        wal: { ...d, full: wal.full },
        listeners: listeners.addresses,
      };
    };
    const uiDir = findUiDist();
    if (uiDir === null) logger.warn('web UI not built (ui/dist missing): run `npm run build`; serving the API only', {});
    const sessions = createSessionService(
      { dataDir: config.dataDir, tz: config.tz, maxUploadBytes: config.maxUploadMb * 1024 * 1024 },
      { client: store.client, insertLines: (lines, token) => store.insertLines(lines, token), insertFile: (f, token, fmt) => store.insertFile(f, token, fmt), logger, metrics },
    );
    cleanups.unshift(() => sessions.idle());
    const app = createApp({ store, metrics, logger, health, pipeline, apiTokens: config.apiTokens, uiDir, sessions, alerts });
    if (config.apiTokens.length === 0) {
      if (config.insecureNoAuth) logger.warn('query API has no access control (--insecure-no-auth)', { http: formatAddress(config.http) });
    } else logger.info('query API requires tokens', { tokens: config.apiTokens.length });
    const httpServer = await new Promise<ServerType>((resolve, reject) => {
      // 64 KiB of request head (Node's default is 16): a filter of a few thousand MACs fits in a URL.
      const srv = serveHttp(
        { fetch: app.fetch, hostname: config.http.host, port: config.http.port, serverOptions: { maxHeaderSize: MAX_REQUEST_HEAD_BYTES } },
        () => resolve(srv),
      );
      srv.on('clientError', answerClientError);
      srv.once('error', (e: Error) =>
        reject(new HandlogError('LISTEN_FAILED', `cannot listen for HTTP on ${formatAddress(config.http)}: ${e.message}`, { cause: e })),
      );
    });
    cleanups.unshift(
      () =>
        new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          (httpServer as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    const httpAddr = httpServer.address();
    const addresses: Record<string, string | null> = {
      ...listeners.addresses,
      http: httpAddr !== null && typeof httpAddr === 'object' ? formatAddress({ host: httpAddr.address, port: httpAddr.port }) : null,
    };
    // `handlog import` finds the running service here when the data directory is locked.
    const httpFile = path.join(config.dataDir, SERVICE_URL_FILE);
    if (addresses['http'] !== null && addresses['http'] !== undefined) {
      const a = httpAddr as { address: string; port: number; family: string };
      const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
      fs.writeFileSync(httpFile, `http://${host.includes(':') ? `[${host}]` : host}:${a.port}\n`);
      cleanups.unshift(() => fs.rmSync(httpFile, { force: true }));
    }
    logger.info('handlog serving', { ...addresses, store: store.mode, data: path.resolve(config.dataDir) });

    let stopped: Promise<void> | null = null;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        stopping = true;
        if (retryTimer !== undefined) clearTimeout(retryTimer);
        // Stop accepting first, then flush what was accepted, then close.
        await listeners.stop().catch((e: unknown) => logger.warn('listener stop failed', { err: errorMessage(e) }));
        if (migrated) {
          const flushed = await sink.flush(10_000);
          if (!flushed) logger.warn('shutdown: rows left in the write-ahead log will be inserted at next start', wal.depth() as unknown as Record<string, unknown>);
        } else if (wal.depth().rows > 0) {
          logger.warn('shutdown: the store was never ready; rows left in the write-ahead log will be inserted at next start', wal.depth() as unknown as Record<string, unknown>);
        }
        await sink.close();
        await runCleanups();
        logger.info('handlog stopped', {});
      })();
      return stopped;
    };
    return {
      config,
      store,
      wal,
      sink,
      pipeline,
      alerts,
      metrics,
      listeners,
      addresses,
      reloadCertificates: () => listeners.reloadCertificates(),
      stop,
    };
  } catch (e: unknown) {
    await runCleanups();
    throw e;
  }
}

export async function runServe(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const o of SERVE_OPTIONS) options[o.flag] = { type: o.kind === 'boolean' ? 'boolean' : 'string' };
  const { values, positionals } = parseCommandArgs(argv, options);
  if (values['help'] === true) {
    process.stdout.write(serveHelp());
    return 0;
  }
  if (positionals.length > 0) throw new HandlogError('BAD_ARGUMENT', `unexpected argument "${positionals[0]}" (see handlog serve --help)`);
  const flags: Record<string, string | undefined> = {};
  for (const o of SERVE_OPTIONS) {
    const v = values[o.flag];
    if (typeof v === 'string') flags[o.flag] = v;
    else if (v === true) flags[o.flag] = 'true';
  }
  const config = loadServeConfig(flags, process.env);
  const logger = createLogger({ level: config.logLevel });
  // Signal handlers before the (seconds-long) start: a SIGHUP's default action would kill the process,
  // and a SIGTERM/SIGINT during the start is honoured once it is done (a second one forces exit).
  let service: Service | null = null;
  process.on('SIGHUP', () => {
    // A HUP from logrotate or a habit is harmless without TLS: nothing to reload is not an error.
    if (config.tls === null) {
      logger.info('SIGHUP: no TLS listener, nothing to reload', {});
      return;
    }
    if (service === null) {
      logger.info('SIGHUP during start-up: the TLS listener reads its certificates as it starts', {});
      return;
    }
    logger.info('SIGHUP: reloading TLS certificates', {});
    try {
      service.reloadCertificates();
    } catch (e: unknown) {
      logger.error('certificate reload failed; keeping the old ones', { err: errorMessage(e) });
    }
  });
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  service = await startService(config, { logger });
  const sig = await stopSignal;
  logger.info(`${sig}: shutting down`, {});
  // A second signal forces exit.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  await service.stop();
  return 0;
}

const MAX_REQUEST_HEAD_BYTES = 64 * 1024;

/**
 * A request Node's HTTP parser refused before the API saw it: answered with the API's JSON error
 * shape (Node's own answer is an empty 400/431) and the connection closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify({
    error: tooLarge
      ? { code: 'BAD_REQUEST', message: `request line and headers exceed ${MAX_REQUEST_HEAD_BYTES / 1024} KiB; use fewer filter values per request` }
      : { code: 'BAD_REQUEST', message: 'malformed HTTP request' },
  });
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
