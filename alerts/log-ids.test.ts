import { describe, expect, test } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { sequentialIds } from '../core/ids.js';
import { LogIds, packLogIds, packLogIdWords, unpackLogIds } from './log-ids.js';
import { packUuid } from './windows.js';

describe('log ids packed in one string', () => {
  test('ids of one process shrink to the steps between their counters and come back in order', () => {
    const next = sequentialIds();
    // A group's matches: every 1st to 5,000th row of the stream.
    const ids = Array.from({ length: 100 }, (_, i) => {
      for (let k = 0; k < (i * 7919) % 5000; k++) next();
      return next();
    });
    const packed = packLogIds(ids) as string;
    expect(packed.length).toBeLessThan(36 + 99 * 6); // the array: 100 * 39
    expect(packed.split(',').slice(1).every((t) => t.startsWith('+'))).toBe(true);
    expect(unpackLogIds(packed)).toEqual(ids);
  });

  test('counters that go down, repeat or are not hex are written whole', () => {
    const p = 'aaaaaaaa-bbbb-8ccc-8ddd-';
    const ids = [p + '00000000ffff', p + '000000010000', p + '000000000001', p + '000000000001', p + 'zzzzzzzzzzzz', p + '000000000002', p + 'fffffffffffe', p + 'ffffffffffff'];
    const packed = packLogIds(ids) as string;
    expect(packed.split(',').map((t) => t.length)).toEqual([36, 2, 36, 36, 36, 36, 13, 2]);
    expect(unpackLogIds(packed)).toEqual(ids);
  });

  test('ids of several prefixes (live ingest and imports mixed) keep each prefix', () => {
    const a = sequentialIds();
    const b = sequentialIds(() => randomBytes(10));
    const ids = [a(), a(), b(), b(), a(), randomUUID(), b()];
    expect(unpackLogIds(packLogIds(ids) as string)).toEqual(ids);
  });

  test('an id that is not 36 characters, or holds a comma, is not packed', () => {
    expect(packLogIds([randomUUID(), 'x1'])).toBeNull();
    expect(packLogIds([randomUUID(), 'aaaaaaaa-bbbb-8ccc-8ddd-eeeeeeeeee,e'])).toBeNull();
    expect(packLogIds([])).toBe('');
    expect(unpackLogIds('')).toEqual([]);
  });
});

describe('log ids of a notice', () => {
  function words(ids: readonly string[]): Uint32Array {
    const w = new Uint32Array(ids.length * 4);
    ids.forEach((id, k) => expect(packUuid(id, w, k * 4)).toBe(true));
    return w;
  }

  test('packed from the evaluator\'s words, they are the string packLogIds makes of the ids', () => {
    const a = sequentialIds();
    const b = sequentialIds(() => randomBytes(10));
    const p = 'aaaaaaaa-bbbb-8ccc-8ddd-';
    const lists = [
      Array.from({ length: 100 }, a),
      [a(), a(), b(), b(), a(), randomUUID(), b(), b()],
      [p + '00000000ffff', p + '000000010000', p + '000000000001', p + '000000000001', p + '000000000002', p + 'fffffffffffe', p + 'ffffffffffff'],
      [randomUUID()],
    ];
    for (const ids of lists) {
      expect(packLogIdWords(words(ids), 0, ids.length)).toBe(packLogIds(ids));
      expect(unpackLogIds(packLogIdWords(words(ids), 0, ids.length))).toEqual(ids);
    }
    // From an offset into a larger buffer.
    const ids = Array.from({ length: 5 }, a);
    expect(packLogIdWords(words(['00000000-0000-4000-8000-000000000000', ...ids]), 4, 5)).toBe(packLogIds(ids));
  });

  test('they list as written, packed or not, and serialize as the list', () => {
    const next = sequentialIds();
    const ids = Array.from({ length: 10 }, next);
    const packed = LogIds.of(ids);
    expect(packed.packed).toBe(packLogIds(ids));
    expect(packed.list()).toEqual(ids);
    expect(JSON.parse(JSON.stringify({ log_ids: packed }))).toEqual({ log_ids: ids });
    const odd = LogIds.of(['x1', ...ids]);
    expect(odd.packed).toBeNull();
    expect(odd.list()).toEqual(['x1', ...ids]);
    expect(JSON.stringify(LogIds.of([]))).toBe('[]');
    expect(LogIds.packedAs(packed.packed as string).list()).toEqual(ids);
  });
});
