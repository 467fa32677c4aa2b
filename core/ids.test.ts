import { describe, expect, it } from 'vitest';
import { sequentialIds, uuidAt, uuidPrefix } from './ids.js';

const V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('row ids', () => {
  it('are version-8 UUIDs, unique and in counter order within a process', () => {
    const next = sequentialIds();
    const ids = Array.from({ length: 10_000 }, next);
    for (const id of ids.slice(0, 100)) expect(id).toMatch(V8);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]?.slice(0, 24)).toBe(ids[9_999]?.slice(0, 24));
    expect(ids[0]?.slice(24)).toBe('000000000000');
  });

  it('two processes (two generators) do not share a prefix', () => {
    expect(sequentialIds()().slice(0, 24)).not.toBe(sequentialIds()().slice(0, 24));
  });

  it('set the version and variant bits whatever the prefix bytes', () => {
    expect(uuidAt(uuidPrefix(Buffer.alloc(10, 0xff)), 2 ** 48 - 1)).toBe('ffffffff-ffff-8fff-bfff-ffffffffffff');
    expect(uuidAt(uuidPrefix(Buffer.alloc(16, 0)), 1)).toBe('00000000-0000-8000-8000-000000000001');
    expect(() => uuidPrefix(Buffer.alloc(4))).toThrow(RangeError);
  });

  it('draw a new prefix when the counter runs out', () => {
    let draws = 0;
    const next = sequentialIds((n) => Buffer.alloc(n, ++draws), 3);
    const ids = Array.from({ length: 7 }, next);
    expect(draws).toBe(3);
    expect(ids.map((id) => id.slice(24))).toEqual(['000000000000', '000000000001', '000000000002', '000000000000', '000000000001', '000000000002', '000000000000']);
    expect(new Set(ids).size).toBe(7);
    expect(ids[3]?.startsWith('02020202-0202-8202-8202-')).toBe(true);
  });
});
