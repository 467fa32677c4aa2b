import { describe, expect, it } from 'vitest';
import { NewlineFramer } from './newline.js';
import { chunked, collector, texts } from './test-helpers.js';

function run(input: string | Buffer, sizes: number[] = [], maxFrameBytes?: number, end = true): ReturnType<typeof collector> {
  const c = collector();
  const f = new NewlineFramer(c.onFrame, maxFrameBytes === undefined ? {} : { maxFrameBytes });
  const data = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  for (const chunk of chunked(data, sizes)) f.push(chunk);
  if (end) f.end();
  return c;
}

describe('NewlineFramer', () => {
  it('splits on LF, strips a CR before it, and ends frames at NUL too', () => {
    expect(texts(run('<13>one\n<13>two\r\n<13>three\0<13>four\n'))).toEqual(['<13>one', '<13>two', '<13>three', '<13>four']);
  });

  it('ignores empty frames', () => {
    expect(texts(run('\n\r\n\0\0a\n\n\nb\r\n\r\n'))).toEqual(['a', 'b']);
  });

  it('gives the same frames when fed one byte at a time', () => {
    const input = '<13>one\n<13>two\r\n\0three\nfour';
    expect(texts(run(input, [1]))).toEqual(texts(run(input)));
    expect(texts(run(input, [1]))).toEqual(['<13>one', '<13>two', 'three', 'four']);
  });

  it('keeps a CR that is not right before the delimiter', () => {
    expect(texts(run('a\rb\n\rc\n'))).toEqual(['a\rb', '\rc']);
  });

  it('flushes an unterminated last frame on end(), and discard() drops it', () => {
    expect(texts(run('a\nlast', [], undefined, true))).toEqual(['a', 'last']);
    const c = collector();
    const f = new NewlineFramer(c.onFrame);
    f.push(Buffer.from('a\npartial'));
    expect(f.discard()).toBe(true);
    f.end();
    expect(texts(c)).toEqual(['a']);
    expect(f.discard()).toBe(false);
  });

  it('cuts an oversize frame at maxFrameBytes, flags it, and skips the rest of it', () => {
    for (const sizes of [[], [1], [3, 7], [11]]) {
      expect(texts(run('0123456789abcdef\nok\n0123456789\n', sizes, 10))).toEqual(['0123456789[cut]', 'ok', '0123456789']);
    }
  });

  it('does not count a CR of CRLF against the limit', () => {
    expect(texts(run('0123456789\r\n01234567890\r\n', [1], 10))).toEqual(['0123456789', '0123456789[cut]']);
  });

  it('emits the head of an endless line as soon as it passes the limit, and buffers no more', () => {
    const c = collector();
    const f = new NewlineFramer(c.onFrame, { maxFrameBytes: 1024 });
    const block = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 160; i++) f.push(block); // 10 MiB without a delimiter
    expect(c.frames).toHaveLength(1);
    expect(c.frames[0]?.bytes.length).toBe(1024);
    expect(c.frames[0]?.truncated).toBe(true);
    expect(f.inFrame).toBe(true);
    f.push(Buffer.from('tail\nnext\n'));
    f.end();
    expect(texts(c).slice(1)).toEqual(['next']);
  });

  it('passes invalid UTF-8 and binary bytes through untouched', () => {
    const bin = Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28, 0x01, 0x7f, 0x0a, 0xf0, 0x9f, 0x92, 0x0a]);
    const c = run(bin, [1]);
    expect(c.frames.map((f) => [...f.bytes])).toEqual([
      [0xff, 0xfe, 0x80, 0xc3, 0x28, 0x01, 0x7f],
      [0xf0, 0x9f, 0x92],
    ]);
  });

  it('does not pin a large chunk for a small partial frame', () => {
    const c = collector();
    const f = new NewlineFramer(c.onFrame);
    const chunk = Buffer.from('x'.repeat(60_000) + '\nab');
    f.push(chunk);
    chunk.fill(0x5a); // the framer must have copied "ab", not kept a view
    f.push(Buffer.from('c\n'));
    expect(texts(c)[1]).toBe('abc');
  });
});
