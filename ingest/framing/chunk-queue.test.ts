import { describe, expect, it } from 'vitest';
import { ChunkQueue } from './chunk-queue.js';
import { createAutoFramer } from './detect.js';

describe('ChunkQueue', () => {
  it('joins pieces in order, whatever their sizes', () => {
    const q = new ChunkQueue();
    const pieces = [Buffer.from('a'), Buffer.alloc(3000, 0x62), Buffer.from('cd'), Buffer.alloc(1024, 0x65), Buffer.from('f')];
    for (const p of pieces) q.append(p, false);
    expect(q.length).toBe(4028);
    expect(q.take().equals(Buffer.concat(pieces))).toBe(true);
    expect(q.length).toBe(0);
  });

  it('packs a one-byte-per-read sender into a few blocks instead of one Buffer per byte', () => {
    const q = new ChunkQueue();
    for (let i = 0; i < 65_536; i++) q.append(Buffer.from([i & 0xff]), false);
    expect(q.segments).toBeLessThanOrEqual(8);
    const out = q.take();
    expect(out.length).toBe(65_536);
    expect(out[65_535]).toBe(0xff);
  });

  it('never writes over bytes of a frame it already handed out', () => {
    const q = new ChunkQueue();
    q.append(Buffer.from('first'), false);
    const first = q.take();
    q.append(Buffer.from('second'), false);
    q.clear();
    q.append(Buffer.from('third'), false);
    expect(q.take().toString()).toBe('third');
    expect(first.toString()).toBe('first');
  });

  it('copies a small part of a big read buffer instead of pinning the buffer', () => {
    const q = new ChunkQueue();
    const read = Buffer.alloc(65_536, 0x61);
    q.append(read.subarray(0, 2000), false);
    const out = q.take();
    expect(out.buffer).not.toBe(read.buffer);
    read.fill(0x7a);
    expect(out[0]).toBe(0x61);
  });

  it('lets a framer take a 64 KiB octet frame delivered one byte per read', () => {
    const frames: Buffer[] = [];
    const f = createAutoFramer((frame) => frames.push(frame));
    const body = Buffer.alloc(65_000, 0x78);
    const data = Buffer.concat([Buffer.from(`${body.length} `), body]);
    for (let i = 0; i < data.length; i++) f.push(Buffer.from([data[i] as number]));
    expect(frames).toHaveLength(1);
    expect(frames[0]?.equals(body)).toBe(true);
  });
});
