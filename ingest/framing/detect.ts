// Which RFC 6587 framing a TCP/TLS sender uses is not negotiated, so it is detected: a frame start of
// `[1-9][0-9]* SP` is octet counting, anything else is LF (non-transparent) framing. Detection is done
// again at every frame start, like vector's and rsyslog's TCP inputs, because some relays mix the two.

import { NewlineFramer } from './newline.js';
import { OctetCountingFramer } from './octet-counting.js';
import type { FrameCallback, Framer, FramerOptions } from './types.js';

/** `auto` detects per message; the other two force one framing for the connection. */
export type FramingMode = 'auto' | 'octet-counting' | 'newline';
export type DetectedFraming = 'octet-counting' | 'newline';

const SP = 0x20;
const ZERO = 0x30;
const NINE = 0x39;
const MAX_LENGTH_DIGITS = 9;

/**
 * The framing the first bytes of a connection (or of a frame) announce, or undefined when they are
 * all digits so far and more bytes are needed to tell.
 */
export function detectFraming(head: Buffer): DetectedFraming | undefined {
  const first = head[0];
  if (first === undefined) return undefined;
  if (first <= ZERO || first > NINE) return 'newline';
  for (let i = 1; i < head.length; i++) {
    const b = head[i] as number;
    if (b === SP) return 'octet-counting';
    if (b < ZERO || b > NINE || i >= MAX_LENGTH_DIGITS) return 'newline';
  }
  return head.length > MAX_LENGTH_DIGITS ? 'newline' : undefined;
}

/** A framer that detects octet counting or LF framing at every frame start. */
export class AutoFramer implements Framer {
  private readonly inner: OctetCountingFramer;

  constructor(onFrame: FrameCallback, opts: FramerOptions = {}) {
    this.inner = new OctetCountingFramer(onFrame, { ...opts, nonOctet: 'newline' });
  }

  push(chunk: Buffer): void {
    this.inner.push(chunk);
  }

  end(): void {
    this.inner.end();
  }

  abandon(): void {
    this.inner.abandon();
  }

  discard(): boolean {
    return this.inner.discard();
  }

  /** What the connection has used so far: undefined before the first frame, `mixed` when both were seen. */
  get detected(): DetectedFraming | 'mixed' | undefined {
    const octet = this.inner.octetFrames > 0;
    const line = this.inner.lineFrames > 0;
    if (octet && line) return 'mixed';
    if (octet) return 'octet-counting';
    if (line) return 'newline';
    return undefined;
  }
}

export function createAutoFramer(onFrame: FrameCallback, opts: FramerOptions = {}): AutoFramer {
  return new AutoFramer(onFrame, opts);
}

export function createFramer(mode: FramingMode, onFrame: FrameCallback, opts: FramerOptions = {}): Framer {
  switch (mode) {
    case 'auto':
      return new AutoFramer(onFrame, opts);
    case 'octet-counting':
      return new OctetCountingFramer(onFrame, { ...opts, nonOctet: 'error' });
    case 'newline':
      return new NewlineFramer(onFrame, opts);
  }
}
