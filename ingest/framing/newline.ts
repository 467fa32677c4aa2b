// RFC 6587 §3.4.2 non-transparent framing: a frame ends at LF. Senders in the wild also end frames with
// CRLF (the CR is stripped) or NUL (rsyslog and some appliances), so NUL ends a frame as well.
// Empty frames are ignored. A frame longer than maxFrameBytes is emitted cut to maxFrameBytes with
// `truncated: true` as soon as the limit is passed, and the rest of it is skipped up to the next delimiter
// without being buffered.

import { ChunkQueue } from './chunk-queue.js';
import { excerpt, resolveMaxFrameBytes, type FrameCallback, type Framer, type FramerOptions, type FramingError } from './types.js';

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

export class NewlineFramer implements Framer {
  private readonly max: number;
  private readonly onError: ((error: FramingError, detail: string) => void) | undefined;
  /**
   * The current partial frame, joined once when the frame ends. It holds at most max + 1 bytes, the
   * extra byte being a CR that a following LF strips.
   */
  private readonly pending = new ChunkQueue();
  /** The current frame passed the limit: its head was emitted, drop bytes up to the next delimiter. */
  private skipping = false;

  // Delimiter search cache for the chunk being scanned: two indexOf scans per chunk instead of one per
  // frame, so a chunk holding many frames and no NUL is not rescanned for NUL from every frame start.
  private scanChunk: Buffer | undefined;
  private lfFrom = -1;
  private lfAt = -1;
  private nulFrom = -1;
  private nulAt = -1;

  constructor(
    private readonly onFrame: FrameCallback,
    opts: FramerOptions = {},
  ) {
    this.max = resolveMaxFrameBytes(opts.maxFrameBytes);
    this.onError = opts.onError;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const next = this.feed(chunk, pos);
      if (next < 0) break;
      pos = next;
    }
    this.endScan();
  }

  end(): void {
    const partial = !this.skipping && this.pending.length > 0;
    this.skipping = false;
    if (partial) this.finish(this.pending.take());
  }

  abandon(): void {
    const partial = !this.skipping && this.pending.length > 0;
    this.skipping = false;
    if (!partial) return;
    const frame = this.pending.take();
    this.onError?.('incomplete', excerpt(frame));
    this.finish(frame, true);
  }

  discard(): boolean {
    const dropped = !this.skipping && this.pending.length > 0;
    this.pending.clear();
    this.skipping = false;
    return dropped;
  }

  /** True while a partial frame is buffered or being skipped. */
  get inFrame(): boolean {
    return this.pending.length > 0 || this.skipping;
  }

  /**
   * Consumes `chunk` from `pos` through the first delimiter and returns the index just after it, or -1
   * when the rest of the chunk was consumed without ending the frame. Used by the octet-counting framer for
   * its LF-framed frames; callers call endScan() once they are done with `chunk`.
   */
  feed(chunk: Buffer, pos: number): number {
    const end = this.nextDelimiter(chunk, pos);
    if (end < 0) {
      this.take(chunk, pos, chunk.length, true);
      return -1;
    }
    if (this.skipping) {
      this.skipping = false;
    } else if (this.pending.length === 0) {
      this.finish(chunk.subarray(pos, end));
    } else {
      this.take(chunk, pos, end, false);
      if (this.skipping) this.skipping = false;
      else this.finish(this.pending.take());
    }
    return end + 1;
  }

  /** Forget the cached delimiter positions: the next feed() may pass a buffer whose bytes changed. */
  endScan(): void {
    this.scanChunk = undefined;
  }

  private nextDelimiter(chunk: Buffer, pos: number): number {
    if (chunk !== this.scanChunk) {
      this.scanChunk = chunk;
      this.lfFrom = -1;
      this.nulFrom = -1;
    }
    if (this.lfFrom < 0 || pos < this.lfFrom || (this.lfAt >= 0 && this.lfAt < pos)) {
      this.lfAt = chunk.indexOf(LF, pos);
      this.lfFrom = pos;
    }
    if (this.nulFrom < 0 || pos < this.nulFrom || (this.nulAt >= 0 && this.nulAt < pos)) {
      this.nulAt = chunk.indexOf(NUL, pos);
      this.nulFrom = pos;
    }
    if (this.lfAt < 0) return this.nulAt;
    if (this.nulAt < 0) return this.lfAt;
    return Math.min(this.lfAt, this.nulAt);
  }

  /** Adds chunk[from, to) to the partial frame; `retain` when the frame does not end in this chunk. */
  private take(chunk: Buffer, from: number, to: number, retain: boolean): void {
    if (this.skipping) return;
    const n = to - from;
    if (n === 0) return;
    if (n > this.max + 1 - this.pending.length) {
      // Over the limit: emit the head now and skip the rest, so an endless line costs max bytes, not more.
      const need = Math.max(0, this.max - this.pending.length);
      this.pending.append(chunk.subarray(from, from + need), true);
      const head = this.pending.take();
      this.skipping = true;
      this.onFrame(head.subarray(0, this.max), { truncated: true });
      return;
    }
    this.pending.append(chunk.subarray(from, to), !retain);
  }

  private finish(frame: Buffer, incomplete = false): void {
    let len = frame.length;
    if (len > 0 && frame[len - 1] === CR) len -= 1;
    if (len === 0) return;
    if (len > this.max) this.onFrame(frame.subarray(0, this.max), incomplete ? { truncated: true, incomplete } : { truncated: true });
    else this.onFrame(len === frame.length ? frame : frame.subarray(0, len), incomplete ? { truncated: false, incomplete } : { truncated: false });
  }
}

export function createNewlineFramer(onFrame: FrameCallback, opts: FramerOptions = {}): NewlineFramer {
  return new NewlineFramer(onFrame, opts);
}
