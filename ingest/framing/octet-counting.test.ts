import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOctetCountingFramer } from './octet-counting.js';
import { createAutoFramer } from './detect.js';
import { chunked, collector, texts } from './test-helpers.js';

function run(input: string | Buffer, sizes: number[] = [], maxFrameBytes?: number): ReturnType<typeof collector> {
  const c = collector();
  const f = createOctetCountingFramer(c.onFrame, { ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }), onError: c.onError });
  const data = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  for (const chunk of chunked(data, sizes)) f.push(chunk);
  f.end();
  return c;
}

const octet = (msg: string): string => `${Buffer.byteLength(msg, 'latin1')} ${msg}`;

describe('OctetCountingFramer', () => {
  it('reads MSG-LEN SP SYSLOG-MSG frames back to back', () => {
    const c = run(octet('<13>hello') + octet('<14>world!'));
    expect(texts(c)).toEqual(['<13>hello', '<14>world!']);
    expect(c.errors).toEqual([]);
  });

  it('keeps LF inside an octet-counted message', () => {
    expect(texts(run(octet('<13>line one\nline two\n\nthree')))).toEqual(['<13>line one\nline two\n\nthree']);
  });

  it('gives the same frames at every chunk boundary, one byte at a time included', () => {
    const input = octet('<13>a\nb') + octet('<14>' + 'x'.repeat(300)) + octet('<15>c');
    const whole = texts(run(input));
    for (const sizes of [[1], [2], [3, 1, 4], [9], [100]]) expect(texts(run(input, sizes))).toEqual(whole);
  });

  it('strips a trailing LF, CRLF or NUL inside the count and skips LF between frames', () => {
    const c = run('6 hello\n' + '7 hello\r\n' + '6 hello\0' + '\n' + octet('x') + '\r\n');
    expect(texts(c)).toEqual(['hello', 'hello', 'hello', 'x']);
    expect(c.errors).toEqual([]);
  });

  it('cuts an oversize frame at maxFrameBytes, flags it, and resumes at the next frame', () => {
    for (const sizes of [[], [1], [4, 5]]) {
      const c = run(octet('abcdefghijklmno') + octet('xyz'), sizes, 10);
      expect(texts(c)).toEqual(['abcdefghij[cut]', 'xyz']);
      expect(c.errors).toEqual([]);
    }
  });

  describe('a 999999999 length prefix', () => {
    afterEach(() => vi.restoreAllMocks());

    it('costs maxFrameBytes of memory, not a gigabyte', () => {
      const sizes: number[] = [];
      const concat = Buffer.concat;
      vi.spyOn(Buffer, 'concat').mockImplementation((list: readonly Uint8Array[], total?: number) => {
        const out = concat(list, total);
        sizes.push(out.length);
        return out;
      });
      const c = collector();
      const f = createOctetCountingFramer(c.onFrame, { maxFrameBytes: 4096, onError: c.onError });
      f.push(Buffer.from('999999999 '));
      const block = Buffer.alloc(64 * 1024, 0x42);
      for (let i = 0; i < 160; i++) f.push(block); // 10 MiB of the announced gigabyte
      expect(c.frames).toHaveLength(1);
      expect(c.frames[0]?.bytes.length).toBe(4096);
      expect(c.frames[0]?.truncated).toBe(true);
      expect(Math.max(0, ...sizes)).toBeLessThanOrEqual(4096);
      // The sender dies mid-frame: nothing more is emitted, and the cut frame was already counted.
      expect(f.discard()).toBe(false);
      expect(c.errors).toEqual([]);
    });
  });

  it('falls back to LF framing for a frame that has no valid MSG-LEN, and counts it', () => {
    const c = run('<13>no length\n' + octet('<14>ok') + 'abc 5 hello\n' + octet('<15>fine'));
    expect(texts(c)).toEqual(['<13>no length', '<14>ok', 'abc 5 hello', '<15>fine']);
    expect(c.errors).toEqual(['bad_length', 'bad_length']);
  });

  it('treats a leading zero or a too long digit run as a framing error, not a length', () => {
    const c = run('05 hello\n' + '1234567890123 big\n' + octet('ok'));
    expect(texts(c)).toEqual(['05 hello', '1234567890123 big', 'ok']);
    expect(c.errors).toEqual(['bad_length', 'bad_length']);
    // 20+ digits never grow a buffer: the run is handed to LF framing.
    const d = run('9'.repeat(5000) + '\n' + octet('ok'), [7]);
    expect(texts(d)).toEqual(['9'.repeat(5000), 'ok']);
  });

  it('reports a frame cut short by the end of the stream and emits what came of it as incomplete', () => {
    const c = run(octet('<13>whole') + '20 <13>only part');
    expect(texts(c)).toEqual(['<13>whole', '<13>only part[incomplete]']);
    expect(c.errors).toEqual(['incomplete']);
    const d = run(octet('<13>whole') + '12');
    expect(texts(d)).toEqual(['<13>whole']);
    expect(d.errors).toEqual(['incomplete']);
  });

  it('abandon() (we close the connection) emits a partial frame of either framing as incomplete', () => {
    for (const [input, frames] of [
      [octet('<13>whole') + '20 <13>only part', ['<13>whole', '<13>only part[incomplete]']],
      [octet('<13>whole') + '<13>no newline yet', ['<13>whole', '<13>no newline yet[incomplete]']],
      [octet('<13>whole') + '<13>done\n', ['<13>whole', '<13>done']],
    ] as const) {
      const c = collector();
      const f = createAutoFramer(c.onFrame, { onError: c.onError });
      f.push(Buffer.from(input));
      f.abandon();
      expect(texts(c)).toEqual(frames);
      expect(c.errors).toEqual(frames.length === 2 && frames[1].endsWith('[incomplete]') ? ['incomplete'] : []);
    }
    // The peer's FIN ends an LF frame: it is complete (RFC 6587).
    const c = collector();
    const f = createAutoFramer(c.onFrame, { onError: c.onError });
    f.push(Buffer.from('<13>last line'));
    f.end();
    expect(texts(c)).toEqual(['<13>last line']);
    expect(c.errors).toEqual([]);
  });

  it('discard() reports a dropped partial frame', () => {
    const c = collector();
    const f = createOctetCountingFramer(c.onFrame);
    f.push(Buffer.from('10 <13>ab'));
    expect(f.discard()).toBe(true);
    f.push(Buffer.from(octet('<13>next')));
    expect(texts(c)).toEqual(['<13>next']);
  });

  it('passes invalid UTF-8 and binary bytes through untouched (vector: octet_decode_moves_past_invalid_utf8)', () => {
    const body = Buffer.from([0x3c, 0x31, 0x3e, 0xff, 0xfe, 0x0a, 0x00, 0xc3, 0x28, 0x80]);
    const input = Buffer.concat([Buffer.from(`${body.length} `), body, Buffer.from(octet('<13>after'))]);
    const c = run(input, [1]);
    expect([...(c.frames[0]?.bytes ?? [])]).toEqual([...body]);
    expect(c.frames[1]?.text).toBe('<13>after');
  });
});
