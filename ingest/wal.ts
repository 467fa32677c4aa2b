// Write-ahead log: every stored row reaches local disk before ClickHouse sees it, and leaves the
// disk only after ClickHouse confirmed the insert (the sink calls ack). Layout under `dir`:
//   seg-<seq>-<run>.open   the segment being written (at most one)
//   seg-<seq>-<run>.wal    sealed segments, a FIFO queue ordered by seq
// <seq> is zero-padded and grows across restarts (the next run starts after the highest file
// left). <run> is random per process: the sink's dedup token is the file's base name, and without
// it a drained directory would restart at seq 1 and ClickHouse would drop new data as duplicates
// of yesterday's seg-1. Dead letters go to `<dir>/../dead-letter/`.
// Durability: writes survive a kill -9 (page cache); there is no fsync, so a power loss can lose
// the last seconds of data.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Counter, Registry } from '../core/metrics.js';
import type { Logger } from '../core/logger.js';
import { HandlogError, errorMessage } from '../core/errors.js';
import { Batcher } from './batcher.js';
import { LOG_COLUMNS } from '../store/schema.js';

export interface WalConfig {
  dir: string;
  /** Disk budget for all segments; over it, append refuses rows unless forced. Default 1 GiB. */
  budgetBytes?: number;
  /** Seal the open segment at this many rows. Default 10,000. */
  maxRows?: number;
  /** Seal the open segment at this size. Default 16 MiB. */
  maxBytes?: number;
  /** Seal the open segment this long after its first row. Default 200 ms. */
  maxAgeMs?: number;
  /** Leave the full state when usage falls to this fraction of the budget. Default 0.9. */
  resumeRatio?: number;
}

export interface WalDeps {
  metrics: Registry;
  logger: Logger;
  /** The service-wide `handlog_dropped_total` counter, when another module already registered it. */
  dropped?: Counter;
}

export interface SealedSegment {
  /** File base name without extension; stable across restarts (the sink's dedup token). */
  readonly name: string;
  readonly path: string;
  readonly seq: number;
  readonly bytes: number;
  readonly rows: number;
}

export interface SegmentContent {
  /** The segment's rows as stored: one JSON object per line, in the `logs` table's column shape. */
  rows: string[];
  /** Lines of a sealed segment that are not a JSON row (disk corruption): never inserted, dead-lettered. */
  badLines: string[];
}

export interface WalDepth {
  segments: number;
  bytes: number;
  rows: number;
}

export interface AppendOptions {
  /**
   * Keep the row even when the WAL is over budget. For TCP/TLS, whose bytes were already read off
   * a socket that is about to be paused (see onPressure); UDP leaves it unset and counts the drop.
   */
  force?: boolean;
}

export interface Wal {
  /** Create the directory, repair and seal segments left by a crash, queue them oldest first. */
  open(): Promise<void>;
  /**
   * Queue a row for disk (written on this event-loop turn). Returns false, and does not keep the
   * row, when the WAL is full (over budget or unable to write) and `force` is not set, or after
   * close(). Throws before open() (a start-up ordering bug).
   */
  append(line: string, opts?: AppendOptions): boolean;
  /** True from crossing the budget until usage falls below resumeRatio × budget. */
  readonly full: boolean;
  /** Called with true when the WAL becomes full and false when it has room again. Returns an unsubscribe function. */
  onPressure(listener: (full: boolean) => void): () => void;
  /** Rows and bytes not yet confirmed by ClickHouse, including queued and open segments. */
  depth(): WalDepth;
  /** Write queued rows and seal the open segment. Returns the highest sealed seq (every row appended so far is in a segment ≤ it). */
  seal(): number;
  /** The oldest sealed segment not already taken, marked in flight. */
  take(): SealedSegment | undefined;
  /** Resolves when a sealed segment is available to take, or the WAL is closed (then at once, every time). */
  waitForSegment(): Promise<void>;
  /** True after close(): no segment is sealed any more; those already queued can still be taken. */
  readonly closed: boolean;
  /** True while a queued or in-flight segment has seq ≤ `seq`. */
  hasSegmentsUpTo(seq: number): boolean;
  /** Read and parse a taken segment. Throws HandlogError('WAL_IO') (cause: the fs error) when it cannot be read. */
  read(seg: SealedSegment): Promise<SegmentContent>;
  /** The segment is in ClickHouse: delete it. */
  ack(seg: SealedSegment): Promise<void>;
  /**
   * Move a segment to the dead-letter directory with a `.reason` file. With `subset`, only those
   * rows/lines are kept there (the rest was inserted); otherwise the file moves as it is.
   */
  deadLetter(seg: SealedSegment, reason: DeadLetterReason, subset?: SegmentContent): Promise<void>;
  /** Write queued rows, seal the open segment, stop timers. */
  close(): Promise<void>;
}

export interface DeadLetterReason {
  code: string;
  message: string;
  rows: number;
}

const SEQ_DIGITS = 12;
const BACKLOG_FACTOR = 5;
const SEGMENT_RE = /^seg-(\d+)(?:-([0-9a-f]+))?\.(open|wal)$/;
const PARSE_YIELD_LINES = 2000;

export function createWal(config: WalConfig, deps: WalDeps): Wal {
  const dir = path.resolve(config.dir);
  const deadDir = path.join(dir, '..', 'dead-letter');
  const budgetBytes = config.budgetBytes ?? 1024 ** 3;
  const resumeBytes = budgetBytes * (config.resumeRatio ?? 0.9);
  const base = {
    maxRows: config.maxRows ?? 10_000,
    maxBytes: config.maxBytes ?? 16 * 1024 ** 2,
    maxAgeMs: config.maxAgeMs ?? 200,
  };
  // The batcher reads these on every row. While the sink is busy (a segment being inserted or
  // waiting), the open segment may grow BACKLOG_FACTOR times larger: its rows would wait anyway, and
  // fewer, larger inserts are what lets ClickHouse keep up. Per row, an insert of 50,000 rows cost
  // half as much engine CPU as inserts of 10,000 (merges included: 11.7 vs 23–24 µs on chdb 26.7),
  // mostly because small parts are merged again and again. When the sink goes idle, the base
  // limits apply again at once (relimit), so a quiet service still inserts within maxAgeMs.
  const limits = { ...base };
  let factor = 1;
  const adapt = (): void => {
    const f = queue.length > 0 || inFlight.size > 0 ? BACKLOG_FACTOR : 1;
    if (f === factor) return;
    factor = f;
    limits.maxRows = base.maxRows * f;
    limits.maxBytes = base.maxBytes * f;
    limits.maxAgeMs = base.maxAgeMs * f;
    if (f === 1) batcher.relimit();
  };
  const log = deps.logger.child({ component: 'wal' });
  const m = deps.metrics;
  const tornLines = m.counter('handlog_wal_torn_lines_total', 'Torn or invalid trailing lines cut from crashed WAL segments');
  const writeErrors = m.counter('handlog_wal_write_errors_total', 'Failed writes to the WAL (retried)');
  const appended = m.counter('handlog_wal_appended_rows_total', 'Rows written to the WAL');
  const walBytes = m.gauge('handlog_wal_bytes', 'Bytes in the WAL not yet confirmed by the store');
  const walSegments = m.gauge('handlog_wal_segments', 'WAL segments not yet confirmed by the store, including the open one');
  const dropped = deps.dropped ?? m.counter('handlog_dropped_total', 'Messages dropped, by reason');

  const run = randomBytes(6).toString('hex');
  let nextSeq = 1;
  let lastSealedSeq = 0;
  const queue: SealedSegment[] = [];
  const inFlight = new Set<SealedSegment>();
  let queuedBytes = 0;
  let queuedRows = 0;
  let fd: number | undefined;
  let openName = '';
  let openPath = '';
  let openSeq = 0;
  let isFull = false;
  let opened = false;
  let ready = false;
  let closed = false;
  let warnedClosed = false;
  const pressureListeners = new Set<(full: boolean) => void>();
  let waiters: (() => void)[] = [];

  const writer = {
    write(data: Buffer, _rows: number): void {
      if (fd === undefined) {
        openSeq = nextSeq++;
        openName = `seg-${String(openSeq).padStart(SEQ_DIGITS, '0')}-${run}`;
        openPath = path.join(dir, openName + '.open');
        fd = fs.openSync(openPath, 'wx');
      }
      const at = batcher.openBytes;
      let off = 0;
      try {
        while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off, at + off);
      } catch (e: unknown) {
        // Cut a partial write back so the segment never holds half a line.
        try {
          fs.ftruncateSync(fd, at);
        } catch {
          // Recovery on the next start cuts the torn line instead.
        }
        throw e;
      }
    },
    seal(): void {
      if (fd === undefined) return;
      const seg: SealedSegment = {
        name: openName,
        path: path.join(dir, openName + '.wal'),
        seq: openSeq,
        bytes: batcher.openBytes,
        rows: batcher.openRows,
      };
      try {
        fs.closeSync(fd);
      } catch (e: unknown) {
        log.error('closing WAL segment failed', { segment: openName, error: errorMessage(e) });
      }
      fd = undefined;
      let sealed = seg;
      try {
        fs.renameSync(openPath, seg.path);
      } catch (e: unknown) {
        // The data is on disk under the .open name: queue it from there; a restart would seal it too.
        log.error('sealing WAL segment failed', { segment: openName, error: errorMessage(e) });
        sealed = { ...seg, path: openPath };
      }
      enqueue(sealed);
    },
  };

  const batcher = new Batcher(limits, writer, {
    onWriteError(e) {
      writeErrors.inc();
      log.error('WAL write failed; rows kept in memory and retried', { error: errorMessage(e) });
      checkPressure();
    },
    onWriteRecovered() {
      log.info('WAL writes recovered');
      checkPressure();
    },
    onWritten(rows) {
      appended.inc({}, rows);
    },
  });

  function totalBytes(): number {
    return queuedBytes + batcher.openBytes + batcher.pendingBytes;
  }

  function checkPressure(): void {
    const total = totalBytes();
    if (!isFull && (total >= budgetBytes || batcher.writeFailing)) {
      isFull = true;
      log.warn('WAL full: refusing UDP rows, pausing TCP/TLS', { bytes: total, budget_bytes: budgetBytes });
      emitPressure(true);
    } else if (isFull && total <= resumeBytes && !batcher.writeFailing) {
      isFull = false;
      log.info('WAL has room again', { bytes: total, budget_bytes: budgetBytes });
      emitPressure(false);
    }
  }

  function emitPressure(full: boolean): void {
    for (const fn of pressureListeners) {
      try {
        fn(full);
      } catch (e: unknown) {
        log.error('pressure listener threw', { error: errorMessage(e) });
      }
    }
  }

  function enqueue(seg: SealedSegment): void {
    queue.push(seg);
    adapt();
    queuedBytes += seg.bytes;
    queuedRows += seg.rows;
    if (seg.seq > lastSealedSeq) lastSealedSeq = seg.seq;
    wake();
  }

  function forget(seg: SealedSegment): void {
    if (!inFlight.delete(seg)) {
      const i = queue.indexOf(seg);
      if (i < 0) return;
      queue.splice(i, 1);
    }
    queuedBytes -= seg.bytes;
    queuedRows -= seg.rows;
    checkPressure();
    adapt();
  }

  function wake(): void {
    const w = waiters;
    waiters = [];
    for (const fn of w) fn();
  }

  async function recover(): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
    const found: { seq: number; file: string; base: string; ext: string }[] = [];
    for (const file of await fsp.readdir(dir)) {
      const mm = SEGMENT_RE.exec(file);
      if (!mm) continue;
      found.push({ seq: Number(mm[1]), file, base: file.slice(0, file.lastIndexOf('.')), ext: mm[3] as string });
    }
    found.sort((a, b) => a.seq - b.seq || (a.file < b.file ? -1 : 1));
    let torn = 0;
    for (const f of found) {
      const p = path.join(dir, f.file);
      const buf = await fsp.readFile(p);
      let end = buf.length;
      if (f.ext === 'open') {
        const cut = repairEnd(buf);
        torn += cut.torn;
        end = cut.end;
        if (end === 0) {
          await fsp.unlink(p);
          if (f.seq >= nextSeq) nextSeq = f.seq + 1;
          continue;
        }
        if (end < buf.length) await fsp.truncate(p, end);
        await fsp.rename(p, path.join(dir, f.base + '.wal'));
      }
      let rows = 0;
      for (let i = buf.indexOf(0x0a); i >= 0 && i < end; i = buf.indexOf(0x0a, i + 1)) rows++;
      enqueue({ name: f.base, path: path.join(dir, f.base + '.wal'), seq: f.seq, bytes: end, rows });
      if (f.seq >= nextSeq) nextSeq = f.seq + 1;
    }
    if (torn > 0) {
      tornLines.inc({}, torn);
      log.warn('cut torn lines from WAL segments left by a crash', { lines: torn });
    }
    if (queue.length > 0) log.info('WAL recovered segments', { segments: queue.length, rows: queuedRows, bytes: queuedBytes });
  }

  const wal: Wal = {
    async open() {
      if (opened) return;
      opened = true;
      try {
        await recover();
      } catch (e: unknown) {
        throw new HandlogError('WAL_IO', `cannot open WAL in ${dir}: ${errorMessage(e)}`, { cause: e });
      }
      ready = true;
      walBytes.collect(() => walBytes.set(totalBytes()));
      walSegments.collect(() => walSegments.set(wal.depth().segments));
      checkPressure();
    },

    append(line, opts) {
      if (!ready) throw new HandlogError('INTERNAL', 'WAL append before open(): leftover segments must be queued first');
      if (closed) {
        // A listener still delivering during shutdown: refuse rather than queue rows nobody writes.
        if (!warnedClosed) log.error('WAL append after close; rows refused');
        warnedClosed = true;
        return false;
      }
      if (isFull && opts?.force !== true) return false;
      batcher.push(line);
      if (!isFull && queuedBytes + batcher.openBytes + batcher.pendingBytes >= budgetBytes) checkPressure();
      return true;
    },

    get full() {
      return isFull;
    },

    onPressure(listener) {
      pressureListeners.add(listener);
      return () => pressureListeners.delete(listener);
    },

    depth() {
      const open = batcher.openRows > 0 || batcher.pendingRows > 0 ? 1 : 0;
      return {
        segments: queue.length + inFlight.size + open,
        bytes: totalBytes(),
        rows: queuedRows + batcher.openRows + batcher.pendingRows,
      };
    },

    seal() {
      batcher.sealNow();
      return lastSealedSeq;
    },

    take() {
      const seg = queue.shift();
      if (seg) inFlight.add(seg);
      adapt();
      return seg;
    },

    waitForSegment() {
      if (queue.length > 0 || closed) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },

    get closed() {
      return closed;
    },

    hasSegmentsUpTo(seq) {
      for (const s of inFlight) if (s.seq <= seq) return true;
      return queue.length > 0 && (queue[0] as SealedSegment).seq <= seq;
    },

    async read(seg) {
      let buf: Buffer;
      try {
        buf = await fsp.readFile(seg.path);
      } catch (e: unknown) {
        throw new HandlogError('WAL_IO', `cannot read WAL segment ${seg.name}: ${errorMessage(e)}`, { cause: e });
      }
      const rows: string[] = [];
      const badLines: string[] = [];
      let start = 0;
      let n = 0;
      while (start < buf.length) {
        let nl = buf.indexOf(0x0a, start);
        if (nl < 0) nl = buf.length;
        if (nl > start) {
          // Decoding line by line keeps each string small and flat (one big decoded string costs more).
          const line = buf.toString('utf8', start, nl);
          if (isRowLine(line)) rows.push(line);
          else badLines.push(line);
        }
        start = nl + 1;
        // A 16 MiB segment is tens of milliseconds of JSON.parse: let sockets breathe in between.
        if (++n % PARSE_YIELD_LINES === 0) await new Promise<void>((r) => setImmediate(r));
      }
      return { rows, badLines };
    },

    async ack(seg) {
      try {
        await unlinkIfExists(seg.path);
      } catch (e: unknown) {
        throw new HandlogError('WAL_IO', `cannot delete WAL segment ${seg.name}: ${errorMessage(e)}`, { cause: e });
      }
      forget(seg);
    },

    async deadLetter(seg, reason, subset) {
      try {
        await fsp.mkdir(deadDir, { recursive: true });
        const target = path.join(deadDir, seg.name + '.wal');
        if (subset) {
          const lines = subset.rows.concat(subset.badLines);
          const tmp = target + '.tmp';
          await fsp.writeFile(tmp, lines.length > 0 ? lines.join('\n') + '\n' : '');
          await fsp.rename(tmp, target);
        } else {
          await moveFile(seg.path, target);
        }
        const info = { segment: seg.name, code: reason.code, message: reason.message, rows: reason.rows, at: new Date().toISOString() };
        await fsp.writeFile(path.join(deadDir, seg.name + '.reason'), JSON.stringify(info, null, 2) + '\n');
        if (subset) await unlinkIfExists(seg.path);
      } catch (e: unknown) {
        throw new HandlogError('WAL_IO', `cannot dead-letter WAL segment ${seg.name}: ${errorMessage(e)}`, { cause: e });
      }
      dropped.inc({ reason: 'dead_letter' }, reason.rows);
      forget(seg);
    },

    async close() {
      if (closed) return;
      batcher.sealNow();
      batcher.close();
      closed = true;
      wake();
    },
  };
  return wal;
}

/** Where a crashed `.open` segment's good data ends: a tail without newline, then any trailing line that is not a JSON row, is cut. */
export function repairEnd(buf: Buffer): { end: number; torn: number } {
  let end = buf.length;
  let torn = 0;
  if (end > 0 && buf[end - 1] !== 0x0a) {
    end = buf.lastIndexOf(0x0a, end - 1) + 1;
    torn++;
  }
  while (end > 0) {
    const start = end >= 2 ? buf.lastIndexOf(0x0a, end - 2) + 1 : 0;
    if (isRowLine(buf.toString('utf8', start, end - 1))) break;
    end = start;
    torn++;
  }
  return { end, torn };
}

/** Fields of a TabSeparated `logs` row. */
const TSV_FIELDS = LOG_COLUMNS.length;

/**
 * A WAL line is one encoded row the pipeline appended: TabSeparated with every column and a UUID
 * first, or (segments of earlier versions) one JSON object with a string `id`.
 */
function isRowLine(line: string): boolean {
  if (line.charCodeAt(0) !== 0x7b) {
    if (line.length < 37 || line.charCodeAt(36) !== 9 || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(line.slice(0, 36))) return false;
    let tabs = 0;
    for (let i = line.indexOf('\t'); i >= 0; i = line.indexOf('\t', i + 1)) tabs++;
    return tabs === TSV_FIELDS - 1;
  }
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return false;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { id?: unknown }).id === 'string';
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

async function unlinkIfExists(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (e: unknown) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (e: unknown) {
    if (!isErrno(e, 'EXDEV')) throw e;
    await fsp.copyFile(from, to);
    await fsp.unlink(from);
  }
}
