// RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN = NONZERO-DIGIT *DIGIT. The message
// may contain LF. Like vector's octet_counting codec, a frame start that is not a MSG-LEN is read as an
// LF-framed frame (the bytes are kept, never silently lost) and framing resumes at the next frame start.
//
// Memory is bounded whatever the prefix says: a body longer than maxFrameBytes is collected only up to
// maxFrameBytes, emitted with `truncated: true`, and the rest is counted down and skipped, so
// `999999999 ` costs maxFrameBytes, not a gigabyte.

import { ChunkQueue } from './chunk-queue.js';
import { NewlineFramer } from './newline.js';
import {
  excerpt,
  resolveMaxFrameBytes,
  type FrameCallback,
  type Framer,
  type FramerOptions,
  type FramingError,
} from './types.js';

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
const ZERO = 0x30;
const NINE = 0x39;

/** 999,999,999 bytes is far above any sane maxFrameBytes and stays an exact small integer. */
const MAX_LENGTH_DIGITS = 9;
/** How far a digit run at a frame start is followed to tell a broken MSG-LEN (`0123 `, `12345678901 `) from text. */
const PREFIX_SCAN = 20;

/**
 * What a frame start that is not `MSG-LEN SP` means:
 * - `error`: the connection is octet-counted, so it is a framing error (counted); trailing LF/CR/NUL
 *   between frames, which some senders add, are skipped silently.
 * - `newline`: the sender mixes framings per message (what vector and rsyslog accept); it is an LF frame.
 */
export type NonOctetPolicy = 'error' | 'newline';

export interface OctetCountingOptions extends FramerOptions {
  nonOctet?: NonOctetPolicy;
}

type State = 'start' | 'length' | 'body' | 'line';

export class OctetCountingFramer implements Framer {
  private readonly max: number;
  private readonly policy: NonOctetPolicy;
  private readonly onError: ((error: FramingError, detail: string) => void) | undefined;
  private readonly line: NewlineFramer;
  private state: State = 'start';

  // 'length': the digit run read so far (at most PREFIX_SCAN bytes, so it lives in a fixed buffer)
  private readonly prefix = Buffer.alloc(PREFIX_SCAN);
  private prefixLen = 0;

  // 'body'
  private msgLen = 0;
  /** Body bytes still to come, collected or skipped. */
  private remaining = 0;
  /** Body bytes kept so far: at most min(msgLen, max). */
  private readonly body = new ChunkQueue();
  /** The frame is longer than max: its head was emitted, the remaining bytes are skipped. */
  private cut = false;

  /** Frames seen of each kind, for auto-detection reporting. */
  octetFrames = 0;
  lineFrames = 0;

  constructor(
    private readonly onFrame: FrameCallback,
    opts: OctetCountingOptions = {},
  ) {
    this.max = resolveMaxFrameBytes(opts.maxFrameBytes);
    this.policy = opts.nonOctet ?? 'error';
    this.onError = opts.onError;
    this.line = new NewlineFramer(
      (frame, info) => {
        this.lineFrames += 1;
        this.onFrame(frame, info);
      },
      { maxFrameBytes: this.max, ...(opts.onError === undefined ? {} : { onError: opts.onError }) },
    );
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      switch (this.state) {
        case 'start': {
          const b = chunk[pos] as number;
          if (b >= ZERO && b <= NINE) {
            this.prefix[0] = b;
            this.prefixLen = 1;
            this.state = 'length';
            pos += 1;
          } else if (this.policy === 'error' && (b === LF || b === CR || b === NUL)) {
            pos += 1;
          } else {
            if (this.policy === 'error') this.error('bad_length', chunk.subarray(pos, pos + 32));
            this.state = 'line';
          }
          break;
        }
        case 'length': {
          // Digits are consumed one by one; a prefix is at most PREFIX_SCAN bytes, so this loop is short.
          while (pos < len && this.state === 'length') {
            const b = chunk[pos] as number;
            if (b >= ZERO && b <= NINE && this.prefixLen < PREFIX_SCAN) {
              this.prefix[this.prefixLen++] = b;
              pos += 1;
            } else if (b === SP && this.validLength()) {
              this.beginBody();
              pos += 1;
            } else {
              // Not a MSG-LEN: these bytes start an LF-framed frame; `b` is not consumed here.
              const digitsThenSpace = b === SP;
              if (this.policy === 'error' || digitsThenSpace) {
                this.error('bad_length', Buffer.concat([this.prefix.subarray(0, this.prefixLen), chunk.subarray(pos, pos + 8)]));
              }
              this.toLine();
            }
          }
          break;
        }
        case 'body':
          pos = this.readBody(chunk, pos);
          break;
        case 'line': {
          const next = this.line.feed(chunk, pos);
          if (next < 0) {
            pos = len;
          } else {
            pos = next;
            this.state = 'start';
          }
          break;
        }
      }
    }
    this.line.endScan();
  }

  end(): void {
    this.finish(false);
  }

  abandon(): void {
    this.finish(true);
  }

  /** The stream ended (`abandoned`: cut by us, so an open LF line is incomplete too). */
  private finish(abandoned: boolean): void {
    const endLine = () => (abandoned ? this.line.abandon() : this.line.end());
    switch (this.state) {
      case 'length':
        if (this.policy === 'newline') {
          this.toLine();
          endLine();
        } else {
          this.error('incomplete', this.prefix.subarray(0, this.prefixLen));
        }
        break;
      case 'body':
        this.endBody();
        break;
      case 'line':
        endLine();
        break;
      case 'start':
        break;
    }
    this.reset();
  }

  /** The connection ended inside an octet-counted body: report it, and emit what came of it as incomplete. */
  private endBody(): void {
    if (this.cut) return; // an oversize frame whose head was already emitted
    this.error('incomplete', Buffer.from(`${this.msgLen} `));
    if (this.body.length === 0) return;
    this.octetFrames += 1;
    this.onFrame(this.body.take(), { truncated: false, incomplete: true });
  }

  discard(): boolean {
    let dropped = false;
    if (this.state === 'length') dropped = this.prefixLen > 0;
    else if (this.state === 'body') dropped = !this.cut;
    else if (this.state === 'line') dropped = this.line.discard();
    this.reset();
    return dropped;
  }

  private reset(): void {
    this.state = 'start';
    this.prefixLen = 0;
    this.body.clear();
    this.remaining = 0;
    this.cut = false;
  }

  private validLength(): boolean {
    return this.prefixLen <= MAX_LENGTH_DIGITS && this.prefix[0] !== ZERO;
  }

  private beginBody(): void {
    let n = 0;
    for (let i = 0; i < this.prefixLen; i++) n = n * 10 + ((this.prefix[i] as number) - ZERO);
    this.prefixLen = 0;
    this.msgLen = n;
    this.remaining = n;
    this.body.clear();
    this.cut = false;
    this.state = 'body';
  }

  private toLine(): void {
    this.state = 'line';
    if (this.prefixLen > 0) {
      // A digit run holds no delimiter, so this only starts the LF frame.
      this.line.feed(Buffer.from(this.prefix.subarray(0, this.prefixLen)), 0);
      this.prefixLen = 0;
    }
  }

  private readBody(chunk: Buffer, pos: number): number {
    const n = Math.min(this.remaining, chunk.length - pos);
    this.remaining -= n;
    const done = this.remaining === 0;
    let frame: Buffer | undefined;
    if (!this.cut) {
      const target = Math.min(this.msgLen, this.max);
      const held = this.body.length;
      const keep = Math.min(n, target - held);
      const part = chunk.subarray(pos, pos + keep);
      if (held + keep === target) {
        // Complete, or the kept head of an oversize frame is: emit it. A frame (or head) that lies in
        // this chunk alone is emitted as a view, without a copy.
        if (held === 0) {
          frame = part;
        } else {
          this.body.append(part, true);
          frame = this.body.take();
        }
        // An oversize frame's remaining bytes are counted down and skipped, never buffered.
        this.cut = !done;
      } else {
        this.body.append(part, false);
      }
    }
    if (done) {
      this.state = 'start';
      this.cut = false;
    }
    if (frame !== undefined) this.emitOctet(frame, this.msgLen > this.max);
    return pos + n;
  }

  private emitOctet(frame: Buffer, truncated: boolean): void {
    let len = frame.length;
    if (!truncated) {
      // A trailing LF / CRLF / NUL inside the count is a line ending, not content (as on UDP).
      const last = frame[len - 1];
      if (last === NUL) len -= 1;
      else if (last === LF) len -= len > 1 && frame[len - 2] === CR ? 2 : 1;
      if (len === 0) return;
    }
    this.octetFrames += 1;
    this.onFrame(len === frame.length ? frame : frame.subarray(0, len), { truncated });
  }

  private error(error: FramingError, bytes: Buffer): void {
    this.onError?.(error, excerpt(bytes));
  }
}

/** A framer for a connection known to be octet-counted (RFC 5425 TLS senders, for instance). */
export function createOctetCountingFramer(onFrame: FrameCallback, opts: FramerOptions = {}): OctetCountingFramer {
  return new OctetCountingFramer(onFrame, { ...opts, nonOctet: 'error' });
}
