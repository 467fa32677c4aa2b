import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function fakeStream(columns: number | undefined): { stream: NodeJS.WriteStream; out: string[] } {
  const out: string[] = [];
  const stream = { isTTY: true, columns, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
  return { stream, out };
}

describe('progress line on a terminal', () => {
  it('is cut to the terminal width', () => {
    const { stream, out } = fakeStream(40);
    createProgress(stream).update('x'.repeat(100));
    expect(out[0]).toBe('\r' + 'x'.repeat(39));
  });

  it('a terminal that reports 0 columns (script, some container consoles) gets the whole line, not 20 characters', () => {
    const { stream, out } = fakeStream(0);
    const line = '[########################] 100% 33.8 MiB/33.8 MiB  400,000 lines  75,887/s  big.txt';
    createProgress(stream).update(line);
    expect(out[0]?.trimEnd()).toBe('\r' + line);
  });
});
