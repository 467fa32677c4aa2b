// Test helpers for the framers: collect frames, push in given chunk sizes.

import type { FrameCallback, FramingError } from './types.js';

export interface Collected {
  frames: { text: string; bytes: Buffer; truncated: boolean; incomplete: boolean }[];
  errors: FramingError[];
  onFrame: FrameCallback;
  onError: (error: FramingError) => void;
}

export function collector(): Collected {
  const c: Collected = {
    frames: [],
    errors: [],
    onFrame: (frame, info) => {
      // Copy: a frame may be a view into a chunk the test reuses.
      const bytes = Buffer.from(frame);
      c.frames.push({ text: bytes.toString('latin1'), bytes, truncated: info.truncated, incomplete: info.incomplete === true });
    },
    onError: (error) => {
      c.errors.push(error);
    },
  };
  return c;
}

/** Cuts `data` at the given sizes (cycled), so every byte boundary can be exercised. */
export function chunked(data: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const n = Math.max(1, sizes.length === 0 ? data.length : (sizes[i++ % sizes.length] as number));
    out.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

export function texts(c: Collected): string[] {
  return c.frames.map((f) => `${f.text}${f.truncated ? '[cut]' : ''}${f.incomplete ? '[incomplete]' : ''}`);
}
