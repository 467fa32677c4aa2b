import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAutoFramer, createFramer, detectFraming, type FramingMode } from './detect.js';
import { chunked, collector, texts } from './test-helpers.js';

const octet = (msg: string): string => `${Buffer.byteLength(msg, 'latin1')} ${msg}`;

function run(mode: FramingMode, data: Buffer, sizes: number[], maxFrameBytes: number) {
  const c = collector();
  const f = createFramer(mode, c.onFrame, { maxFrameBytes, onError: c.onError });
  for (const chunk of chunked(data, sizes)) f.push(chunk);
  f.end();
  return c;
}

describe('detectFraming', () => {
  it('reads MSG-LEN SP as octet counting and anything else as LF framing', () => {
    expect(detectFraming(Buffer.from('123 <13>x'))).toBe('octet-counting');
    expect(detectFraming(Buffer.from('<13>Jan'))).toBe('newline');
    expect(detectFraming(Buffer.from('0 x'))).toBe('newline');
    expect(detectFraming(Buffer.from('2024-01-01 x'))).toBe('newline');
    expect(detectFraming(Buffer.from('1234567890 x'))).toBe('newline');
    expect(detectFraming(Buffer.from('12'))).toBeUndefined();
    expect(detectFraming(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('AutoFramer', () => {
  it('detects octet counting on a connection', () => {
    const c = collector();
    const f = createAutoFramer(c.onFrame, { onError: c.onError });
    f.push(Buffer.from(octet('<13>a\nb') + octet('<13>c')));
    expect(texts(c)).toEqual(['<13>a\nb', '<13>c']);
    expect(f.detected).toBe('octet-counting');
  });

  it('detects LF framing on a connection, without counting errors', () => {
    const c = collector();
    const f = createAutoFramer(c.onFrame, { onError: c.onError });
    f.push(Buffer.from('<13>a\n2024-05-01 raw text\n12345: a number\n'));
    expect(texts(c)).toEqual(['<13>a', '2024-05-01 raw text', '12345: a number']);
    expect(f.detected).toBe('newline');
    expect(c.errors).toEqual([]);
  });

  it('detects per message when a sender mixes both framings', () => {
    const input = Buffer.from(octet('<13>one\ntwo') + '<14>lf one\n' + octet('<15>three') + '<16>lf two\r\n' + octet('x'));
    for (const sizes of [[], [1], [2, 5]]) {
      const c = collector();
      const f = createAutoFramer(c.onFrame, { onError: c.onError });
      for (const chunk of chunked(input, sizes)) f.push(chunk);
      f.end();
      expect(texts(c)).toEqual(['<13>one\ntwo', '<14>lf one', '<15>three', '<16>lf two', 'x']);
      expect(f.detected).toBe('mixed');
      expect(c.errors).toEqual([]);
    }
  });

  it('reads an LF line that starts with "digits SP" as octet counting (the framing is ambiguous there)', () => {
    const c = collector();
    const f = createAutoFramer(c.onFrame, { onError: c.onError });
    f.push(Buffer.from('3 items\n<13>next\n'));
    expect(texts(c)).toEqual(['ite', 'ms', '<13>next']);
  });

  it('counts a digit run followed by SP that is not a valid MSG-LEN', () => {
    const c = collector();
    const f = createAutoFramer(c.onFrame, { onError: c.onError });
    f.push(Buffer.from('0123 x\n99999999999 y\n'));
    expect(texts(c)).toEqual(['0123 x', '99999999999 y']);
    expect(c.errors).toEqual(['bad_length', 'bad_length']);
  });

  it('emits a trailing digit-only line on end()', () => {
    const c = collector();
    const f = createAutoFramer(c.onFrame);
    f.push(Buffer.from('<13>a\n42'));
    f.end();
    expect(texts(c)).toEqual(['<13>a', '42']);
  });
});

describe('framer properties', () => {
  const messageArb = fc.oneof(
    // octet-counted: any bytes, LF and NUL included
    fc.uint8Array({ minLength: 1, maxLength: 80 }).map((b) => ({ kind: 'octet' as const, body: Buffer.from(b) })),
    // LF-framed: no delimiters inside, must not look like MSG-LEN SP
    fc
      .uint8Array({ minLength: 1, maxLength: 80 })
      .map((b) => Buffer.from(b.filter((x) => x !== 0x0a && x !== 0x00)))
      .filter((b) => b.length > 0 && !(b[0] !== undefined && b[0] >= 0x30 && b[0] <= 0x39) && b[b.length - 1] !== 0x0d)
      .map((body) => ({ kind: 'lf' as const, body })),
  );
  const chunkSizes = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 });

  it('random chunkings of a mixed stream give the frames that were sent', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 30 }), chunkSizes, (messages, sizes) => {
        const parts: Buffer[] = [];
        const expected: string[] = [];
        for (const m of messages) {
          if (m.kind === 'octet') {
            parts.push(Buffer.from(`${m.body.length} `), m.body);
            // A trailing LF / CRLF / NUL inside the count is stripped.
            let end = m.body.length;
            if (m.body[end - 1] === 0x00) end -= 1;
            else if (m.body[end - 1] === 0x0a) end -= end > 1 && m.body[end - 2] === 0x0d ? 2 : 1;
            if (end > 0) expected.push(m.body.subarray(0, end).toString('latin1'));
          } else {
            parts.push(m.body, Buffer.from('\n'));
            expected.push(m.body.toString('latin1'));
          }
        }
        const data = Buffer.concat(parts);
        const c = run('auto', data, sizes, 64 * 1024);
        expect(texts(c)).toEqual(expected);
        expect(c.errors).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw, frames stay under the limit, and chunking does not change the result', () => {
    const modes: FramingMode[] = ['auto', 'octet-counting', 'newline'];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
        fc.constantFrom(...modes),
        fc.integer({ min: 1, max: 64 }),
        chunkSizes,
        (data, mode, max, sizes) => {
          const whole = run(mode, data, [], max);
          const split = run(mode, data, sizes, max);
          expect(texts(split)).toEqual(texts(whole));
          expect(split.errors).toEqual(whole.errors);
          for (const f of whole.frames) expect(f.bytes.length).toBeLessThanOrEqual(max);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('digit-heavy streams (worst case for length detection) are chunk-invariant too', () => {
    const digitish = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b.map((x) => [0x30, 0x31, 0x39, 0x20, 0x0a, 0x0d, 0x00, 0x41][x % 8] as number)));
    fc.assert(
      fc.property(digitish, fc.constantFrom<FramingMode>('auto', 'octet-counting'), fc.integer({ min: 1, max: 16 }), chunkSizes, (data, mode, max, sizes) => {
        const whole = run(mode, data, [], max);
        const split = run(mode, data, sizes, max);
        expect(texts(split)).toEqual(texts(whole));
        expect(split.errors).toEqual(whole.errors);
      }),
      { numRuns: 1000 },
    );
  });
});
