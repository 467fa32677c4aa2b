// The ClickHouse sink: takes the oldest sealed WAL segment, inserts its rows, and deletes the
// segment only after the insert resolved. Retry rules follow vector's ClickHouse sink: an
// unavailable store (network, 5xx, anything unexpected) is retried with capped exponential
// backoff and jitter, never dropping the segment; data the store refuses is not retried forever:
// the batch is bisected down to single rows so good rows still land, and the rows still refused
// go to the dead-letter directory. The split inserts are bounded: splitAttemptsPerBadRow x
// ceil(log2(rows)) attempts for the first bad row and as many more for every bad row isolated;
// parts left when that runs out are dead-lettered whole; never more than MAX_SPLIT_ATTEMPTS inserts
// for one segment.
// The dedup token is the segment's file name (plus a split path), so a segment inserted again
// after a crash between insert and delete is deduplicated by ClickHouse.

import fs from 'node:fs';
import type { Registry } from '../core/metrics.js';
import { snippet, type Logger } from '../core/logger.js';
import { HandlogError, errorMessage } from '../core/errors.js';
import type { SealedSegment, SegmentContent, Wal } from './wal.js';

/** The one store call the sink needs (store/ implements it). */
export interface LogInserter {
  /** Throws HandlogError('STORE_UNAVAILABLE') when retryable, HandlogError('STORE_REJECTED') for data the store refuses. */
  /** Insert a sealed WAL segment file as it is (the engine reads it; nothing is re-encoded in JS). */
  insertFile(filePath: string, dedupToken: string, format?: RowFormat): Promise<void>;
  /** Insert encoded row lines (a part of a segment, when a refused segment is split). */
  insertLines(lines: string[], dedupToken: string, format?: RowFormat): Promise<void>;
}

/** WAL rows are TabSeparated; segments written by versions before it hold JSON lines. */
export type RowFormat = 'JSONEachRow' | 'TabSeparated';

/** A segment's format, from its first byte (`{` starts a JSON row, a TSV row starts with its UUID). */
export function segmentFormat(filePath: string): RowFormat {
  const fd = fs.openSync(filePath, 'r');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 0);
    return b[0] === 0x7b ? 'JSONEachRow' : 'TabSeparated';
  } finally {
    fs.closeSync(fd);
  }
}

export interface SinkConfig {
  /** First retry delay. Default 100 ms. */
  retryBaseMs?: number;
  /** Retry delay cap. Default 30 s. */
  retryMaxMs?: number;
  /**
   * How many times a rejected batch may be halved to isolate bad rows before dead-lettering.
   * Default unlimited: bisect down to single rows (within the attempt budget below). 0: no split.
   */
  maxSplitDepth?: number;
  /**
   * Insert attempts a refused segment's split may use, per bad row, in units of ceil(log2(rows)):
   * isolating one bad row by bisection takes about 2 x log2(rows). Default 4.
   */
  splitAttemptsPerBadRow?: number;
  /** Segments inserted at once. Default 1. */
  concurrency?: number;
}

export interface SinkDeps {
  wal: Wal;
  store: LogInserter;
  metrics: Registry;
  logger: Logger;
  /** Jitter source, [0, 1). Default Math.random. */
  random?: () => number;
}

export interface SinkError {
  code: string;
  message: string;
  /** ISO-8601 time of the failure. */
  at: string;
}

export interface SinkStatus {
  /** False from a failed insert until the next insert the store answers. */
  storeHealthy: boolean;
  lastError: SinkError | null;
  /** Failed attempts in a row for the batch being retried. */
  consecutiveFailures: number;
}

export interface Sink {
  /** Start the insert loop(s). Idempotent. */
  start(): void;
  readonly storeHealthy: boolean;
  status(): SinkStatus;
  /** Seal the open segment and wait until it and every older segment are inserted. False on timeout. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Stop taking segments and stop retrying; waits up to timeoutMs for an insert in flight. Segments not inserted stay on disk. */
  close(timeoutMs?: number): Promise<void>;
}

/** Thrown inside the loop when close() interrupts a backoff; never escapes the sink. */
class SinkClosed extends Error {}

type Attempt = { ok: true } | { ok: false; error: HandlogError };

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createSink(config: SinkConfig, deps: SinkDeps): Sink {
  const retryBaseMs = config.retryBaseMs ?? 100;
  const retryMaxMs = config.retryMaxMs ?? 30_000;
  const maxSplitDepth = config.maxSplitDepth ?? Number.POSITIVE_INFINITY;
  const splitAttemptsPerBadRow = Math.max(1, config.splitAttemptsPerBadRow ?? 4);
  const concurrency = Math.max(1, config.concurrency ?? 1);
  const random = deps.random ?? Math.random;
  const { wal, store } = deps;
  const log = deps.logger.child({ component: 'sink' });
  const m = deps.metrics;
  const insertedRows = m.counter('handlog_inserted_rows_total', 'Rows inserted into the store');
  const batches = m.counter('handlog_insert_batches_total', 'Insert attempts by result (ok, retry, rejected)');
  const latency = m.histogram('handlog_insert_latency_seconds', 'Duration of insert calls', LATENCY_BUCKETS);

  let storeHealthy = true;
  let lastError: SinkError | null = null;
  let consecutiveFailures = 0;
  let started = false;
  let closing = false;
  let workers: Promise<void>[] = [];
  const sleepers = new Set<() => void>();
  let signalClosed: () => void = () => undefined;
  const closedPromise = new Promise<void>((r) => (signalClosed = r));

  function recordFailure(e: unknown): void {
    const code = e instanceof HandlogError ? e.code : 'INTERNAL';
    lastError = { code, message: snippet(errorMessage(e), 200), at: new Date().toISOString() };
    consecutiveFailures++;
  }

  async function backoff(attempt: number): Promise<void> {
    const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt, 30));
    // Equal jitter: at least half the delay, so a fleet of restarts does not hammer in step.
    const ms = delay / 2 + random() * (delay / 2);
    await sleep(ms);
  }

  function sleep(ms: number): Promise<void> {
    if (closing) return Promise.reject(new SinkClosed());
    return new Promise<void>((resolve, reject) => {
      const wakeUp = (): void => {
        clearTimeout(timer);
        sleepers.delete(wakeUp);
        reject(new SinkClosed());
      };
      const timer = setTimeout(() => {
        sleepers.delete(wakeUp);
        resolve();
      }, ms);
      sleepers.add(wakeUp);
    });
  }

  /** One batch until the store answers: ok, or rejected. Unavailable (or unexpected) errors are retried forever. */
  async function insertWithRetry(insert: () => Promise<void>, rowCount: number): Promise<Attempt> {
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      try {
        await insert();
        latency.observe((performance.now() - t0) / 1000);
        batches.inc({ result: 'ok' });
        insertedRows.inc({}, rowCount);
        if (!storeHealthy) log.info('store reachable again', { after_attempts: attempt });
        storeHealthy = true;
        consecutiveFailures = 0;
        return { ok: true };
      } catch (e: unknown) {
        latency.observe((performance.now() - t0) / 1000);
        if (e instanceof HandlogError && e.code === 'STORE_REJECTED') {
          batches.inc({ result: 'rejected' });
          storeHealthy = true;
          consecutiveFailures = 0;
          lastError = { code: e.code, message: snippet(e.message, 200), at: new Date().toISOString() };
          return { ok: false, error: e };
        }
        batches.inc({ result: 'retry' });
        recordFailure(e);
        if (storeHealthy) log.warn('insert failed; retrying with backoff', { error: snippet(errorMessage(e)), rows: rowCount });
        else log.debug('insert retry failed', { attempt, error: snippet(errorMessage(e)) });
        storeHealthy = false;
        await backoff(attempt);
      }
    }
  }

  /** The most insert attempts one refused segment's split may make, however many bad rows it has. */
  const MAX_SPLIT_ATTEMPTS = 500;

  /** What one refused segment's split collects, and the insert attempts it has left. */
  interface Split {
    rows: string[];
    errors: HandlogError[];
    /** Insert attempts left; grows by `perBadRow` with every bad row isolated. */
    budget: number;
    perBadRow: number;
    /** Insert attempts made. */
    spent: number;
  }

  function newSplit(rowCount: number): Split {
    const perBadRow = splitAttemptsPerBadRow * Math.max(1, Math.ceil(Math.log2(Math.max(2, rowCount))));
    return { rows: [], errors: [], budget: perBadRow, perBadRow, spent: 0 };
  }

  /**
   * Insert rows, bisecting refused batches to isolate bad rows; refused rows are collected in
   * `split`. `cause` is the refusal that led here, reported when the budget is spent before trying.
   */
  async function insertPart(rows: string[], token: string, depth: number, split: Split, format: RowFormat, cause: HandlogError): Promise<void> {
    if (split.budget <= 0) {
      for (const row of rows) split.rows.push(row);
      if (!split.errors.includes(cause)) split.errors.push(cause);
      return;
    }
    split.budget--;
    split.spent++;
    const r = await insertWithRetry(() => store.insertLines(rows, token, format), rows.length);
    if (r.ok) return;
    if (depth < maxSplitDepth && rows.length > 1) {
      const mid = Math.ceil(rows.length / 2);
      // Deterministic split and token: a re-run after a crash produces the same parts, so parts
      // that landed before the crash are deduplicated.
      await insertPart(rows.slice(0, mid), `${token}/0`, depth + 1, split, format, r.error);
      await insertPart(rows.slice(mid), `${token}/1`, depth + 1, split, format, r.error);
      return;
    }
    // One bad row isolated: room for the next, up to MAX_SPLIT_ATTEMPTS for the segment (a segment
    // the store refuses row by row, e.g. after a schema change, must not hold the sink for minutes).
    if (rows.length === 1 && split.spent + split.budget + split.perBadRow <= MAX_SPLIT_ATTEMPTS) split.budget += split.perBadRow;
    for (const row of rows) split.rows.push(row);
    split.errors.push(r.error);
  }

  /** Retry a WAL file operation (read, delete, move) until it works or the sink closes. */
  async function walIo<T>(what: string, seg: SealedSegment, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e: unknown) {
        log.error(`WAL ${what} failed; retrying`, { segment: seg.name, error: errorMessage(e) });
        await backoff(attempt);
      }
    }
  }

  async function processSegment(seg: SealedSegment): Promise<void> {
    // The common case: the engine reads the segment file itself. Only a refused segment is read
    // back here, to split it and isolate the rows the store will not take.
    if (!fs.existsSync(seg.path)) {
      log.error('WAL segment vanished before insert', { segment: seg.name, rows: seg.rows });
      await wal.ack(seg);
      return;
    }
    let format: RowFormat;
    try {
      format = segmentFormat(seg.path);
    } catch {
      format = 'TabSeparated';
    }
    const whole = await insertWithRetry(() => store.insertFile(seg.path, seg.name, format), seg.rows);
    if (whole.ok) {
      await walIo('delete', seg, () => wal.ack(seg));
      return;
    }
    let content: SegmentContent;
    try {
      content = await wal.read(seg);
    } catch (e: unknown) {
      if (e instanceof HandlogError && isErrno(e.cause, 'ENOENT')) {
        log.error('WAL segment vanished before insert', { segment: seg.name, rows: seg.rows });
        await wal.ack(seg);
        return;
      }
      content = await walIo('read', seg, () => wal.read(seg));
    }
    const refused = newSplit(content.rows.length);
    if (content.rows.length > 0) {
      if (content.badLines.length > 0) {
        // The file may have been refused for its corrupt lines alone: try the rows without them.
        await insertPart(content.rows, `${seg.name}/rows`, 0, refused, format, whole.error);
      } else if (content.rows.length === 1 || maxSplitDepth === 0) {
        refused.rows.push(...content.rows);
        refused.errors.push(whole.error);
      } else {
        const mid = Math.ceil(content.rows.length / 2);
        await insertPart(content.rows.slice(0, mid), `${seg.name}/0`, 1, refused, format, whole.error);
        await insertPart(content.rows.slice(mid), `${seg.name}/1`, 1, refused, format, whole.error);
      }
    } else refused.errors.push(whole.error);
    if (refused.rows.length === 0 && content.badLines.length === 0) {
      await walIo('delete', seg, () => wal.ack(seg));
      return;
    }
    const all = refused.rows.length === content.rows.length;
    const first = refused.errors[0];
    const reason = {
      code: first ? first.code : 'WAL_IO',
      message: first
        ? distinctMessages(refused.errors)
        : `${content.badLines.length} unparseable line(s) in WAL segment`,
      rows: refused.rows.length + content.badLines.length,
    };
    log.error('dead-lettering rows the store refused', {
      segment: seg.name,
      rows: reason.rows,
      inserted: content.rows.length - refused.rows.length,
      error: snippet(reason.message),
    });
    await walIo('dead-letter', seg, () =>
      wal.deadLetter(seg, reason, all ? undefined : { rows: refused.rows, badLines: content.badLines }),
    );
  }

  async function worker(): Promise<void> {
    while (!closing) {
      const seg = wal.take();
      if (!seg) {
        // A closed WAL seals nothing more, and its waitForSegment() resolves at once: waiting on it
        // again would loop on resolved promises forever, starving the event loop (timers, I/O and
        // so close() itself never ran again).
        if (wal.closed) return;
        await Promise.race([wal.waitForSegment(), closedPromise]);
        continue;
      }
      try {
        await processSegment(seg);
      } catch (e: unknown) {
        if (e instanceof SinkClosed) return;
        // Only a bug lands here; the segment stays on disk and is inserted after a restart.
        log.error('sink loop error', { segment: seg.name, error: errorMessage(e) });
      }
    }
  }

  return {
    start() {
      if (started || closing) return;
      started = true;
      workers = Array.from({ length: concurrency }, () => worker());
    },

    get storeHealthy() {
      return storeHealthy;
    },

    status() {
      return { storeHealthy, lastError, consecutiveFailures };
    },

    async flush(timeoutMs = 30_000) {
      const target = wal.seal();
      const deadline = Date.now() + timeoutMs;
      while (wal.hasSegmentsUpTo(target)) {
        if (Date.now() >= deadline) {
          log.warn('flush timed out; segments stay in the WAL', { depth: wal.depth() });
          return false;
        }
        await new Promise<void>((r) => setTimeout(r, 10));
      }
      return true;
    },

    async close(timeoutMs = 5_000) {
      if (closing) return;
      closing = true;
      signalClosed();
      for (const wakeUp of [...sleepers]) wakeUp();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
      await Promise.race([Promise.all(workers), timeout]);
      clearTimeout(timer);
    },
  };
}

/** The refusals' messages, each once, at most 20 (a split can isolate thousands of bad rows). */
function distinctMessages(errors: readonly HandlogError[]): string {
  const distinct = [...new Set(errors.map((e) => e.message))];
  const shown = distinct.slice(0, 20);
  if (distinct.length > shown.length) shown.push(`(${distinct.length - shown.length} more distinct messages)`);
  return shown.join('\n');
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}
