// Fired alerts in ClickHouse (tables in ./schema.ts): write notices and channel outcomes, list with
// filters, acknowledge an incident, count what is unacknowledged. Values reach
// SQL only as query parameters.

import type { ClickHouseClient } from '@clickhouse/client';
import { HandlogError } from '../core/errors.js';
import { severityName } from '../core/record.js';
import { chToIso, num, select, text, type DbRow } from '../store/rows.js';
import { classifyStoreError } from '../store/client.js';
import { isoToCh } from '../store/schema.js';
import type { AlertEvent, ChannelResult, EventKind } from './event.js';
import { LogIds } from './log-ids.js';

/** `state` filter values of GET /api/alerts/events. */
export const EVENT_STATES = ['unacknowledged', 'acknowledged', 'silenced', 'fired', 'update', 'resolved'] as const;
export type EventState = (typeof EVENT_STATES)[number];

export interface EventQuery {
  state?: EventState;
  rule_id?: string;
  mac?: string;
  incident_id?: string;
  limit: number;
}

function toRow(e: AlertEvent): Record<string, unknown> {
  const packed = e.log_ids.packed;
  return {
    id: e.id,
    incident_id: e.incident_id,
    rule_id: e.rule_id,
    rule_name: e.rule_name,
    group_key: e.group_key,
    mac: e.mac,
    tag: e.tag,
    kind: e.kind,
    count: e.count,
    total_count: e.total_count,
    first_time: isoToCh(e.first_time),
    last_time: isoToCh(e.last_time),
    fired_at: isoToCh(e.fired_at),
    log_ids: packed === null ? e.log_ids.list() : [],
    log_ids_packed: packed ?? '',
    message: e.message,
    severity: e.severity,
    silenced: e.silenced ? 1 : 0,
  };
}

/** Fired notices and channel outcomes, each list in one insert. */
export async function writeEvents(
  client: ClickHouseClient,
  events: readonly AlertEvent[],
  deliveries: readonly { event_id: string; result: ChannelResult }[],
): Promise<void> {
  try {
    if (events.length > 0) await client.insert({ table: 'alert_events', values: events.map(toRow), format: 'JSONEachRow' });
    if (deliveries.length > 0) {
      await client.insert({
        table: 'alert_deliveries',
        values: deliveries.map(({ event_id, result: r }) => ({
          event_id,
          channel_id: r.channel_id,
          type: r.type,
          ok: r.ok ? 1 : 0,
          error: r.error ?? '',
          attempts: r.attempts,
          ms: Math.max(0, Math.round(r.ms)),
        })),
        format: 'JSONEachRow',
      });
    }
  } catch (e: unknown) {
    throw classifyStoreError(e, 'alert event insert failed');
  }
}

function fromRow(r: DbRow): AlertEvent {
  const sev = num(r['severity']);
  const ids = (r as Record<string, unknown>)['log_ids'];
  const packed = text(r['log_ids_packed']);
  const ackAt = chToIso(r['ack_at']);
  const acked = num(r['acked']) === 1;
  return {
    id: text(r['id']),
    incident_id: text(r['incident_id']),
    rule_id: text(r['rule_id']),
    rule_name: text(r['rule_name']),
    group_key: text(r['group_key']),
    mac: text(r['mac']),
    tag: text(r['tag']),
    kind: text(r['kind']) as EventKind,
    count: num(r['count']) ?? 0,
    total_count: num(r['total_count']) ?? 0,
    first_time: chToIso(r['first_time']) ?? '',
    last_time: chToIso(r['last_time']) ?? '',
    fired_at: chToIso(r['fired_at']) ?? '',
    log_ids: packed !== '' ? LogIds.packedAs(packed) : LogIds.of(Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : []),
    message: text(r['message']),
    severity: sev,
    severity_name: severityName(sev),
    silenced: num(r['silenced']) === 1,
    acknowledged: acked,
    acknowledged_at: acked ? ackAt : null,
    channels: [],
  };
}

const ACKS = `(SELECT incident_id, max(acknowledged_at) AS acknowledged_at FROM alert_acks GROUP BY incident_id)`;

/** Newest first. */
export async function listEvents(client: ClickHouseClient, q: EventQuery): Promise<AlertEvent[]> {
  const conds: string[] = [];
  const params: Record<string, unknown> = { limit: q.limit };
  switch (q.state) {
    case undefined:
      break;
    case 'unacknowledged':
      conds.push(`a.incident_id = '' AND e.silenced = 0 AND e.kind IN ('fired', 'update')`);
      break;
    case 'acknowledged':
      conds.push(`a.incident_id != ''`);
      break;
    case 'silenced':
      conds.push('e.silenced = 1');
      break;
    default:
      params['kind'] = q.state;
      conds.push('e.kind = {kind:String}');
  }
  if (q.rule_id !== undefined) {
    params['rule_id'] = q.rule_id;
    conds.push('e.rule_id = {rule_id:String}');
  }
  if (q.mac !== undefined) {
    params['mac'] = q.mac;
    conds.push('e.mac = {mac:String}');
  }
  if (q.incident_id !== undefined) {
    params['incident_id'] = q.incident_id;
    conds.push('e.incident_id = {incident_id:String}');
  }
  const rows = await select(
    client,
    `SELECT e.*, a.acknowledged_at AS ack_at, a.incident_id != '' AS acked
     FROM alert_events AS e
     LEFT JOIN ${ACKS} AS a ON a.incident_id = e.incident_id
     ${conds.length > 0 ? 'WHERE ' + conds.join(' AND ') : ''}
     ORDER BY e.fired_at DESC, e.id DESC
     LIMIT {limit:UInt32}`,
    params,
    'alert event list failed',
  );
  const events = rows.map(fromRow);
  if (events.length === 0) return events;
  const byId = new Map(events.map((e) => [e.id, e]));
  const delivered = await select(
    client,
    'SELECT * FROM alert_deliveries WHERE event_id IN {ids:Array(String)} ORDER BY event_id, channel_id',
    { ids: [...byId.keys()] },
    'alert delivery list failed',
  );
  for (const d of delivered) {
    byId.get(text(d['event_id']))?.channels.push({
      channel_id: text(d['channel_id']),
      type: text(d['type']),
      ok: num(d['ok']) === 1,
      error: text(d['error']) === '' ? null : text(d['error']),
      attempts: num(d['attempts']) ?? 0,
      ms: num(d['ms']) ?? 0,
    });
  }
  return events;
}

/** Acknowledges the incident of event `id`; returns the incident id. */
export async function acknowledge(client: ClickHouseClient, id: string, by: string, nowIso: string): Promise<string> {
  const rows = await select(client, 'SELECT incident_id FROM alert_events WHERE id = {id:String} LIMIT 1', { id }, 'alert event lookup failed');
  const incident = rows[0] === undefined ? '' : text(rows[0]['incident_id']);
  if (incident === '') throw new HandlogError('NOT_FOUND', `no alert event ${id}`);
  try {
    await client.insert({
      table: 'alert_acks',
      values: [{ incident_id: incident, acknowledged_at: isoToCh(nowIso), acknowledged_by: by }],
      format: 'JSONEachRow',
    });
  } catch (e: unknown) {
    throw classifyStoreError(e, 'alert acknowledgement failed');
  }
  return incident;
}

/** Incidents that fired, were not silenced, and nobody acknowledged. */
export async function countUnacknowledged(client: ClickHouseClient): Promise<number> {
  const rows = await select(
    client,
    `SELECT uniqExact(e.incident_id) AS n
     FROM alert_events AS e
     LEFT JOIN ${ACKS} AS a ON a.incident_id = e.incident_id
     WHERE e.kind = 'fired' AND e.silenced = 0 AND a.incident_id = ''`,
    {},
    'alert summary failed',
  );
  return num(rows[0]?.['n']) ?? 0;
}
