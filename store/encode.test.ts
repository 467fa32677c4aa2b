import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../core/record.js';
import { parseLine } from '../parsers/detect.js';
import { encodeLogRow, encodeLogRowTsv, tsvEscape, tsvValue } from './encode.js';
import { LOG_COLUMNS, toLogRow } from './schema.js';

function stored(rec: ReturnType<typeof parseLine>, raw: string): StoredRecord {
  return { ...rec, id: randomUUID(), time: rec.device_time ?? rec.syslog_time ?? '2026-03-10T12:00:00.000Z', received_at: '2026-03-10T12:00:00.123Z', source_ip: '10.0.0.1', transport: 'tcp', session: '', raw };
}

function slowOrError(rec: StoredRecord): unknown {
  try {
    return JSON.parse(JSON.stringify(toLogRow(rec, 0)));
  } catch (e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

function fastOrError(rec: StoredRecord): unknown {
  try {
    return JSON.parse(encodeLogRow(rec));
  } catch (e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

describe('encodeLogRow', () => {
  it('equals toLogRow on every fixture line', () => {
    const dir = join(import.meta.dirname, '..', 'parsers', 'fixtures');
    let n = 0;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        const rec = stored(parseLine(line, { receivedAtMs: Date.parse('2026-03-10T12:00:00Z'), tz: 'UTC' }), line);
        expect(fastOrError(rec), line).toEqual(slowOrError(rec));
        n++;
      }
    }
    expect(n).toBeGreaterThan(80);
  });
  it('equals toLogRow (or its error) on random records', () => {
    const time = fc.oneof(
      fc.date({ min: new Date('1800-01-01'), max: new Date('2400-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('2026-03-10T12:00:00Z', 'nope', '2026-03-10T12:00:00.000+01:00', ''),
    );
    const num = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double(), fc.constant(null), fc.constant(2 ** 40));
    fc.assert(
      fc.property(
        fc.record({
          time,
          dev: fc.option(time),
          sev: num,
          pid: num,
          msg: fc.string({ unit: 'binary' }),
          tag: fc.option(fc.string()),
          lvl: fc.option(num),
          temp: fc.option(fc.double()),
          present: fc.option(fc.boolean()),
          id: fc.oneof(fc.constant(randomUUID()), fc.string()),
          event: fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer()))),
        }),
        (x) => {
          const rec = stored(parseLine('<13>1 - - - - - - x', { receivedAtMs: 0, tz: 'UTC' }), 'x');
          rec.time = x.time;
          rec.device_time = x.dev;
          rec.severity = x.sev as number | null;
          rec.pid = x.pid as number | null;
          rec.message = x.msg;
          rec.tag = x.tag;
          rec.id = x.id;
          if (x.lvl !== null || x.temp !== null || x.present !== null)
            rec.battery = { level_pct: x.lvl as number, temperature_c: x.temp ?? undefined, present: x.present ?? undefined };
          if (x.event !== null) rec.event = { type: 't', ...x.event };
          expect(fastOrError(rec)).toEqual(slowOrError(rec));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

function tsvOrError(encode: () => string): unknown {
  try {
    return encode();
  } catch (e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

describe('encodeLogRowTsv', () => {
  const slow = (rec: StoredRecord) => () => {
    const row = toLogRow(rec, 0);
    return LOG_COLUMNS.map((c) => tsvValue(row[c])).join('\t');
  };
  it('escapes what TabSeparated needs escaped, and nothing else', () => {
    expect(tsvEscape('plain | text é')).toBe('plain | text é');
    expect(tsvEscape('a\tb\nc\\d\re\u0000f')).toBe('a\\tb\\nc\\\\d\\re\\0f');
    // Long strings take the native-search path: each special character alone is still escaped.
    const pad = 'x'.repeat(40);
    for (const [c, e] of [['\\', '\\\\'], ['\t', '\\t'], ['\n', '\\n'], ['\r', '\\r'], ['\u0000', '\\0']] as const) {
      expect(tsvEscape(pad + c + pad)).toBe(pad + e + pad);
    }
    expect(tsvEscape(pad + pad)).toBe(pad + pad);
  });
  it('equals the checked row on every fixture line and on random records', () => {
    const dir = join(import.meta.dirname, '..', 'parsers', 'fixtures');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        const rec = stored(parseLine(line, { receivedAtMs: Date.parse('2026-03-10T12:00:00Z'), tz: 'UTC' }), line);
        const fast = encodeLogRowTsv(rec);
        expect(fast, line).toBe(slow(rec)());
        expect(fast.split('\t')).toHaveLength(LOG_COLUMNS.length);
      }
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.option(fc.double()), fc.option(fc.integer({ min: -1, max: 300 })), (msg, temp, sev) => {
        const rec = stored(parseLine('<13>1 - - - - - - x', { receivedAtMs: 0, tz: 'UTC' }), msg);
        rec.message = msg;
        rec.severity = sev;
        if (temp !== null) rec.battery = { temperature_c: temp };
        const fast = tsvOrError(() => encodeLogRowTsv(rec));
        expect(fast).toEqual(tsvOrError(slow(rec)));
        if (typeof fast === 'string') expect(fast.split('\t')).toHaveLength(LOG_COLUMNS.length);
      }),
      { numRuns: 2000 },
    );
  });
});
