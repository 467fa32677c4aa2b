import { describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sequentialIds } from '../core/ids.js';
import { isoToCh } from '../store/schema.js';
import { useTempStore } from '../test/temp-store.js';
import type { AlertEvent } from './event.js';
import { listEvents, writeEvents } from './event-store.js';
import { LogIds } from './log-ids.js';

describe('alert events in the store', () => {
  const t = useTempStore('handlog-alert-events-');

  function event(mac: string, logIds: string[]): AlertEvent {
    const now = new Date().toISOString();
    return {
      id: randomUUID(), incident_id: randomUUID(), rule_id: 'default', rule_name: 'Fatal or Error', group_key: `default|${mac}|SipService`,
      mac, tag: 'SipService', kind: 'fired', count: logIds.length, total_count: logIds.length, first_time: now, last_time: now, fired_at: now,
      log_ids: LogIds.of(logIds), message: 'boom', severity: 3, severity_name: 'Error', silenced: false, acknowledged: false, acknowledged_at: null, channels: [],
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
    const byMac = new Map(listed.map((e) => [e.mac, e.log_ids.list()]));
    expect(byMac.get('00907a000001')).toEqual(packed.log_ids.list());
    expect(byMac.get('00907a000002')).toEqual(odd.log_ids.list());
    expect(byMac.get('00907a000003')).toEqual(old.log_ids.list());
  });
});
