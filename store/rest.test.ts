// The `rest` column (schema.ts REST_COLUMNS): pages read the fields no query filters on from one
// TSV column the engine writes; every field must read back exactly, whatever its characters, also
// from parts written before the column existed.
import { describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { StoredRecord } from '../core/record.js';
import { silentLogger } from '../core/logger.js';
import { useTempStore } from '../test/temp-store.js';
import { isRefusal } from './client.js';
import { exportLogs, getLog, searchLogs } from './queries.js';
import { parseRest, tsvUnescape } from './rows.js';
import { MIGRATIONS, REST_COLUMNS } from './schema.js';

const t = useTempStore('handlog-rest-');

const NOW = Date.now();
const iso = (ms: number): string => new Date(ms).toISOString();
const NASTY = 'tab\there, new\nline, cr\r, back\\slash, \\N, \\t literal, quote \' " , nul\0, Ünïcode ✓, \x07\x1b\b\f\v';

function record(i: number, over: Partial<StoredRecord> = {}): StoredRecord {
  const timeMs = NOW - 10_000 - i * 1000;
  const rec: StoredRecord = {
    id: randomUUID(),
    time: iso(timeMs),
    received_at: iso(timeMs + 1234),
    source_ip: '172.29.1.9',
    transport: 'tcp',
    session: i === 0 ? `s${NASTY}` : '',
    format: 'pivot',
    facility: i === 1 ? null : 16,
    severity: 3,
    severity_name: 'Error',
    // Earlier than `time`, and far from it: the offsets are signed and may be large.
    syslog_time: i === 1 ? null : iso(timeMs - 86_400_000 * 400 - 7),
    host: 'h1',
    tag: 'SipService',
    pid: i === 1 ? null : 4_294_967_295,
    tid: 0,
    mac: '00907a11baaa',
    device_time: i === 2 ? null : iso(timeMs + 999),
    uptime_ms: i === 1 ? null : 9_007_199_254_740_991,
    missed_events: i === 1 ? null : 4_294_967_295,
    message: `m${i}`,
    raw: `raw ${i}`,
    ...over,
  };
  if (i !== 1) {
    rec.battery = {
      level_pct: 12.5,
      voltage_mv: -1,
      temperature_c: -0.1,
      status: 2,
      status_name: 'Charging',
      health: 7,
      health_name: 'Cold',
      present: i === 0,
      plugged: 2,
      plugged_name: 'USB',
      technology: `Li${NASTY}`,
    };
  }
  if (i === 0) rec.event = { type: 'call', to: `sip:${NASTY}`, n: 1.5, ok: false };
  if (i !== 1) rec.parse_error = `bad ${NASTY}`;
  return rec;
}

async function search(mac: string): Promise<StoredRecord[]> {
  return (await searchLogs(t.store.client, { mac: [mac], limit: 100 })).rows;
}

describe('rest column', () => {
  test('TSV fields unescape as ClickHouse writes them', () => {
    expect(tsvUnescape('\\N')).toBeNull();
    expect(tsvUnescape('\\\\N')).toBe('\\N');
    expect(tsvUnescape('a\\tb\\nc\\\\d\\\'e')).toBe("a\tb\nc\\d'e");
    const row: Record<string, string | null> = { time: '2026-01-02 03:04:05.678', rest: ['-678', '\\N', ...REST_COLUMNS.slice(2).map(() => 'x')].join('\t') };
    parseRest(row);
    expect(row['received_at']).toBe('2026-01-02T03:04:05.000Z');
    expect(row['syslog_time']).toBeNull();
    expect(row['format']).toBe('x');
  });

  test('every field reads back exactly, through pages, field subsets, one row and export', async () => {
    const recs = [0, 1, 2, 3].map((i) => record(i));
    await t.store.insertLogs(recs, randomUUID());
    const byId = new Map((await search('00907a11baaa')).map((r) => [r.id, r]));
    for (const r of recs) expect(byId.get(r.id)).toEqual(r);
    for (const r of recs) expect(await getLog(t.store.client, r.id)).toEqual(r);
    const exported: StoredRecord[] = [];
    for await (const r of exportLogs(t.store.client, { mac: ['00907a11baaa'] })) exported.push(r);
    expect(new Map(exported.map((r) => [r.id, r]))).toEqual(new Map(recs.map((r) => [r.id, r])));
    // Few of the folded fields: read as their own columns; many: through `rest`; both the same.
    for (const fields of [['received_at'], ['received_at', 'session', 'battery', 'event', 'parse_error', 'device_time']]) {
      const page = await searchLogs(t.store.client, { mac: ['00907a11baaa'], fields });
      for (const row of page.rows) {
        const full = byId.get(row.id) as unknown as Record<string, unknown>;
        const want: Record<string, unknown> = { id: full['id'], time: full['time'] };
        for (const f of fields) if (full[f] !== undefined) want[f] = full[f];
        expect(row).toEqual(want);
      }
    }
  });

  test('rows written before the column existed read the same', async () => {
    const mig = MIGRATIONS.find((m) => m.version === 9);
    expect(mig).toBeDefined();
    await t.store.client.command({ query: 'ALTER TABLE logs DROP COLUMN rest' });
    const old = [0, 1, 2].map((i) => record(i, { mac: '00907a22cccc' }));
    await t.store.insertLogs(old, randomUUID());
    await mig?.up({
      exec: async (sql) => {
        await t.store.client.command({ query: sql });
      },
      retentionDays: 30,
      logger: silentLogger,
      isRefusal,
    });
    const got = new Map((await search('00907a22cccc')).map((r) => [r.id, r]));
    for (const r of old) expect(got.get(r.id)).toEqual(r);
    // A part written by the new schema beside it.
    const fresh = record(3, { mac: '00907a22cccc' });
    await t.store.insertLogs([fresh], randomUUID());
    expect(await getLog(t.store.client, fresh.id)).toEqual(fresh);
  });
});
