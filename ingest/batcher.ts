// The batcher decides when rows reach the disk and when the open WAL segment is sealed.
// Rows are queued as lines and written once per event-loop turn (setImmediate), or as soon as 4 MiB
// are queued, with one synchronous write per segment the write touches (one, unless it crosses a
// limit), so a kill -9 loses at most the rows of the current turn and the hot path does no per-row
// syscall or promise. A segment is sealed when it reaches maxRows, maxBytes, or
// maxAgeMs after its first row; the WAL owns the files, the batcher only the policy.

export interface BatchLimits {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
}

/** What the batcher drives: the WAL's open segment. */
export interface SegmentWriter {
  /** Append newline-terminated NDJSON holding `rows` rows to the open segment (created on demand). Throws on I/O failure. */
  write(data: Buffer, rows: number): void;
  /** Seal the open segment. Only called when it holds at least one row. Must not throw. */
  seal(): void;
}

export interface BatcherHooks {
  /** A write failed; the lines stay queued and the write is retried after WRITE_RETRY_MS. */
  onWriteError(e: unknown): void;
  /** A write succeeded after `onWriteError`. */
  onWriteRecovered(): void;
  /** Rows reached the open segment (for counters; called once per write, not per row). */
  onWritten(rows: number, bytes: number): void;
}

const WRITE_RETRY_MS = 1000;

const INITIAL_BUFFER_BYTES = 1024 * 1024;
/** A turn that needed more than this leaves a buffer that is given back after the write. */
const KEEP_BUFFER_BYTES = 8 * 1024 * 1024;
/**
 * Queued bytes that are written at once instead of at the end of the turn. A turn can carry tens of
 * thousands of rows (UDP batches queued behind a garbage collection, a big TCP read); growing the
 * buffer for them copied it again and again into fresh pages (in a UDP profile, Buffer copies and
 * writes took more time than parsing).
 */
const FLUSH_AT_BYTES = 4 * 1024 * 1024;

export class Batcher {
  // Queued lines are UTF-8 encoded straight into one reusable buffer: no join, no per-row
  // Buffer, exact byte counts for the budget. `cuts` are the offsets where a segment must end.
  private buf = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private used = 0;
  private pendingCount = 0;
  private cuts: { end: number; rows: number }[] = [];
  private rowsSinceCut = 0;
  /** Rows and bytes of the segment the next queued line lands in (written + queued). */
  private curRows = 0;
  private curBytes = 0;
  /** Rows and bytes already written to the open segment. */
  private segRows = 0;
  private segBytes = 0;
  /** performance.now() of the open segment's first written row. */
  private segStartedAt = 0;
  private immediate: NodeJS.Immediate | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failing = false;
  private closed = false;

  constructor(
    private readonly limits: BatchLimits,
    private readonly writer: SegmentWriter,
    private readonly hooks: BatcherHooks,
  ) {}

  /** Queue one NDJSON line (without its newline). Returns its size in bytes, newline included. */
  push(line: string): number {
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    const room = line.length * 3 + 1;
    if (this.buf.length - this.used < room) this.grow(room);
    const n = this.buf.write(line, this.used, 'utf8') + 1;
    this.buf[this.used + n - 1] = 0x0a;
    this.used += n;
    this.pendingCount++;
    this.rowsSinceCut++;
    this.curRows++;
    this.curBytes += n;
    if (this.curRows >= this.limits.maxRows || this.curBytes >= this.limits.maxBytes) {
      this.cuts.push({ end: this.used, rows: this.rowsSinceCut });
      this.rowsSinceCut = 0;
      this.curRows = 0;
      this.curBytes = 0;
    }
    if (this.retryTimer === undefined && !this.closed) {
      if (this.used >= FLUSH_AT_BYTES) this.flush();
      else if (this.immediate === undefined) this.immediate = setImmediate(this.onTurn);
    }
    return n;
  }

  get pendingRows(): number {
    return this.pendingCount;
  }
  get pendingBytes(): number {
    return this.used;
  }
  get openRows(): number {
    return this.segRows;
  }
  get openBytes(): number {
    return this.segBytes;
  }
  get writeFailing(): boolean {
    return this.failing;
  }

  /** Write every queued line now (one write per segment touched), sealing at the cuts. Returns false if a write failed. */
  flush(): boolean {
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    let start = 0;
    let rowsDone = 0;
    let cutsDone = 0;
    try {
      for (const cut of this.cuts) {
        this.writeChunk(start, cut.end, cut.rows);
        start = cut.end;
        rowsDone += cut.rows;
        cutsDone++;
        this.sealOpen();
      }
      if (start < this.used) {
        this.writeChunk(start, this.used, this.pendingCount - rowsDone);
        start = this.used;
        rowsDone = this.pendingCount;
      }
    } catch (e: unknown) {
      this.dropWritten(start, rowsDone, cutsDone);
      this.failing = true;
      this.hooks.onWriteError(e);
      this.scheduleRetry();
      return false;
    }
    this.used = 0;
    this.pendingCount = 0;
    this.rowsSinceCut = 0;
    this.cuts = [];
    if (this.buf.length > KEEP_BUFFER_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
    if (this.failing) {
      this.failing = false;
      this.hooks.onWriteRecovered();
    }
    return true;
  }

  /** Write what is queued and seal the open segment (age limit, flush, shutdown). Returns false if a write failed. */
  sealNow(): boolean {
    const ok = this.flush();
    if (this.segRows > 0) this.sealOpen();
    // The next queued line starts a new segment; after a failed write, that is the queued lines after the last cut.
    const lastCut = this.cuts[this.cuts.length - 1];
    this.curRows = this.rowsSinceCut;
    this.curBytes = this.used - (lastCut ? lastCut.end : 0);
    return ok;
  }

  /** Stop timers; the caller seals or abandons the open segment. */
  close(): void {
    this.closed = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.ageTimer !== undefined) clearTimeout(this.ageTimer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.immediate = this.ageTimer = this.retryTimer = undefined;
  }

  private readonly onTurn = (): void => {
    this.immediate = undefined;
    this.flush();
  };

  private writeChunk(from: number, to: number, rows: number): void {
    if (to <= from) return;
    // subarray shares memory: the writer must finish with it before returning (writeSync does).
    this.writer.write(this.buf.subarray(from, to), rows);
    if (this.segRows === 0) this.startAgeTimer();
    this.segRows += rows;
    this.segBytes += to - from;
    this.hooks.onWritten(rows, to - from);
  }

  /** After a failed write: keep only what did not reach the disk. */
  private dropWritten(offset: number, rows: number, cuts: number): void {
    if (offset > 0) this.buf.copy(this.buf, 0, offset, this.used);
    this.used -= offset;
    this.pendingCount -= rows;
    this.cuts = this.cuts.slice(cuts).map((c) => ({ end: c.end - offset, rows: c.rows }));
  }

  private grow(room: number): void {
    let size = this.buf.length * 2;
    while (size - this.used < room) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }

  /**
   * The limits were lowered (the WAL's sink went idle): seal the open segment now if it is over
   * them, else re-arm its age timer for the time it has left under the new age limit.
   */
  relimit(): void {
    if (this.closed || (this.segRows === 0 && this.pendingCount === 0)) return;
    const age = this.segRows > 0 ? performance.now() - this.segStartedAt : 0;
    if (this.cuts.length > 0 || this.curRows >= this.limits.maxRows || this.curBytes >= this.limits.maxBytes || age >= this.limits.maxAgeMs) {
      this.sealNow();
    } else if (this.segRows > 0) {
      this.armAgeTimer(this.limits.maxAgeMs - age);
    }
  }

  private sealOpen(): void {
    if (this.ageTimer !== undefined) {
      clearTimeout(this.ageTimer);
      this.ageTimer = undefined;
    }
    this.writer.seal();
    this.segRows = 0;
    this.segBytes = 0;
  }

  private startAgeTimer(): void {
    this.segStartedAt = performance.now();
    this.armAgeTimer(this.limits.maxAgeMs);
  }

  private armAgeTimer(ms: number): void {
    if (this.closed) return;
    if (this.ageTimer !== undefined) clearTimeout(this.ageTimer);
    this.ageTimer = setTimeout(() => {
      this.ageTimer = undefined;
      this.sealNow();
    }, ms);
    // The age limit must not keep a finished process alive; listeners do that while serving.
    this.ageTimer.unref();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, WRITE_RETRY_MS);
    this.retryTimer.unref();
  }
}
