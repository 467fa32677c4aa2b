import { describe, expect, test } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { sequentialIds } from '../core/ids.js';
import { isoToCh } from '../store/schema.js';
import { useTempStore } from '../test/temp-store.js';
import type { AlertEvent } from './event.js';
import { listEvents, packLogIds, unpackLogIds, writeEvents } from './event-store.js';

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

describe('alert events in the store', () => {
  const t = useTempStore('handlog-alert-events-');

  function event(mac: string, logIds: string[]): AlertEvent {
    const now = new Date().toISOString();
    return {
      id: randomUUID(), incident_id: randomUUID(), rule_id: 'default', rule_name: 'Fatal or Error', group_key: `default|${mac}|SipService`,
      mac, tag: 'SipService', kind: 'fired', count: logIds.length, total_count: logIds.length, first_time: now, last_time: now, fired_at: now,
      log_ids: logIds, message: 'boom', severity: 3, severity_name: 'Error', silenced: false, acknowledged: false, acknowledged_at: null, channels: [],
    };
  }

  test('packed, unpackable and pre-migration ids all list as written', async () => {
    const next = sequentialIds();
    const packed = event('00907a000001', Array.from({ length: 100 }, next));
    const odd = event('00907a000002', ['not-a-uuid', next()]);
    await writeEvents(t.store.client, [packed, odd], []);
    const stored = await t.store.client.query({
      query: `SELECT mac, length(log_ids) AS array, length(log_ids_packed) > 0 AS packed FROM alert_events ORDER BY mac`,
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual([
      { mac: '00907a000001', array: 0, packed: 1 },
      { mac: '00907a000002', array: 2, packed: 0 },
    ]);
    // A row written before migration 10: ids in the array only.
    const old = event('00907a000003', [next(), next()]);
    await t.store.client.insert({
      table: 'alert_events',
      values: [{ ...old, first_time: isoToCh(old.first_time), last_time: isoToCh(old.last_time), fired_at: isoToCh(old.fired_at), silenced: 0 }],
      format: 'JSONEachRow',
      clickhouse_settings: { input_format_skip_unknown_fields: 1 },
    });
    const listed = await listEvents(t.store.client, { limit: 10 });
    const byMac = new Map(listed.map((e) => [e.mac, e.log_ids]));
    expect(byMac.get('00907a000001')).toEqual(packed.log_ids);
    expect(byMac.get('00907a000002')).toEqual(odd.log_ids);
    expect(byMac.get('00907a000003')).toEqual(old.log_ids);
  });
});
