import { HandlogError } from '../../core/errors.js';

// Shared shapes of the RFC 6587 framers. A framer is a per-connection state machine: bytes in through
// push(), whole frames out through a callback. Untrusted bytes never make it throw.

/** 64 KiB: RFC 5425 §4.3.1 asks receivers to accept at least 2 KiB and SHOULD accept 8 KiB; senders rarely exceed 64 KiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

export interface FrameInfo {
  /** The frame was longer than maxFrameBytes: this is its first maxFrameBytes bytes, the rest was skipped. */
  readonly truncated: boolean;
  /**
   * The connection ended before the frame did: an octet-counted frame short of its MSG-LEN, or an
   * LF-framed line without its LF when we closed the connection (shutdown, idle timeout). These are
   * the bytes received of it.
   */
  readonly incomplete?: boolean;
}

/**
 * Receives each frame. The buffer may be a view into a chunk passed to push(); it is never written
 * to afterwards by the framer.
 */
export type FrameCallback = (frame: Buffer, info: FrameInfo) => void;

/**
 * - `bad_length`: a frame start that should have been an octet-counting MSG-LEN was not one
 *   (not digits, leading zero, too many digits, no SP); the frame is read as LF-framed instead.
 * - `incomplete`: the connection ended inside a frame (an octet-counted frame or its length prefix;
 *   an LF frame when we closed it); what was received of the frame is emitted with `incomplete: true`.
 */
export type FramingError = 'bad_length' | 'incomplete';

export interface FramerOptions {
  /** Largest frame kept, in bytes; longer frames are cut to this size and flagged `truncated`. */
  maxFrameBytes?: number;
  /** Called for framing errors so the caller can count them; `detail` is a short, escaped excerpt. */
  onError?: (error: FramingError, detail: string) => void;
}

export interface Framer {
  push(chunk: Buffer): void;
  /**
   * The peer finished sending: emit an unterminated trailing LF frame (complete, RFC 6587), and an
   * unfinished octet frame flagged `incomplete` (reported as an `incomplete` error too).
   */
  end(): void;
  /**
   * We close the connection before the peer finished (shutdown, idle timeout): emit any partial frame,
   * LF-framed or octet-counted, flagged `incomplete` and reported as an `incomplete` error.
   */
  abandon(): void;
  /**
   * The connection broke (reset, error): forget any partial frame without emitting it.
   * Returns true when a partial frame was dropped, so the caller can count it.
   */
  discard(): boolean;
}

export function resolveMaxFrameBytes(value: number | undefined): number {
  const max = value ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new HandlogError('CONFIG_INVALID', `maxFrameBytes must be a positive integer, got ${String(value)}`);
  }
  return max;
}

/** A printable, bounded excerpt of untrusted bytes for logs. */
export function excerpt(bytes: Buffer, max = 32): string {
  return JSON.stringify(bytes.subarray(0, max).toString('latin1')) + (bytes.length > max ? '…' : '');
}
