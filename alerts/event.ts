// The fired-alert record: what the API lists, what is stored in alert_events, and the body every
// channel formats its notification from. Built from an evaluator notice.

import { randomUUID } from 'node:crypto';
import { severityName, type SeverityName } from '../core/record.js';
import type { AlertNotice, NoticeKind } from './evaluator.js';
import { LogIds } from './log-ids.js';

export type EventKind = NoticeKind | 'test';

/** Outcome of one channel for one event. */
export interface ChannelResult {
  channel_id: string;
  type: string;
  ok: boolean;
  error: string | null;
  attempts: number;
  ms: number;
}

export interface AlertEvent {
  id: string;
  incident_id: string;
  rule_id: string;
  rule_name: string;
  group_key: string;
  mac: string;
  tag: string;
  kind: EventKind;
  count: number;
  total_count: number;
  first_time: string;
  last_time: string;
  fired_at: string;
  /** The first 100 of the events it reports (a list in JSON). */
  log_ids: LogIds;
  message: string;
  severity: number | null;
  severity_name: SeverityName | null;
  /** A silence matched: stored, but sent to no channel. */
  silenced: boolean;
  acknowledged: boolean;
  acknowledged_at: string | null;
  /** Filled in as channels answer ([] until then, and for silenced events). */
  channels: ChannelResult[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function eventFromNotice(n: AlertNotice): AlertEvent {
  return {
    id: randomUUID(),
    incident_id: n.incident_id,
    rule_id: n.rule.id,
    rule_name: n.rule.name,
    group_key: n.group_key,
    mac: n.mac,
    tag: n.tag,
    kind: n.kind,
    count: n.count,
    total_count: n.total_count,
    first_time: iso(n.first_ms),
    last_time: iso(n.last_ms),
    fired_at: iso(n.at_ms),
    log_ids: n.log_ids,
    message: n.message,
    severity: n.severity,
    severity_name: severityName(n.severity),
    silenced: false,
    acknowledged: false,
    acknowledged_at: null,
    channels: [],
  };
}

/** The notification a channel's "send test" button sends. */
export function testEvent(nowMs: number): AlertEvent {
  const id = randomUUID();
  return {
    id,
    incident_id: id,
    rule_id: '',
    rule_name: 'handlog test notification',
    group_key: '',
    mac: '',
    tag: '',
    kind: 'test',
    count: 0,
    total_count: 0,
    first_time: iso(nowMs),
    last_time: iso(nowMs),
    fired_at: iso(nowMs),
    log_ids: LogIds.EMPTY,
    message: 'This is a test notification from handlog.',
    severity: null,
    severity_name: null,
    silenced: false,
    acknowledged: false,
    acknowledged_at: null,
    channels: [],
  };
}

const KIND_WORD: Record<EventKind, string> = { fired: 'FIRING', update: 'STILL FIRING', resolved: 'RESOLVED', test: 'TEST' };

/** One line: `[handlog] FIRING Fatal or Error from any handset — 00907a11baaa SipService ×1000`. */
export function subject(e: AlertEvent): string {
  // '*': the rule's overflow group (more handsets or tags at once than it keeps groups for).
  const who = e.mac === '*' ? 'further handsets and tags' : [e.mac, e.tag].filter((s) => s !== '').join(' ');
  const n = e.kind === 'test' ? '' : ` ×${e.count}`;
  return `[handlog] ${KIND_WORD[e.kind]} ${e.rule_name}${who === '' ? '' : ` — ${who}`}${n}`;
}

/** Plain-text body (e-mail, Slack fallback, syslog): log content is data, never markup. */
export function textBody(e: AlertEvent): string {
  const lines = [subject(e)];
  if (e.kind === 'resolved') lines.push(`Quiet again; ${e.total_count} event(s) in this incident.`);
  else if (e.kind !== 'test') lines.push(`${e.count} event(s) from ${e.first_time} to ${e.last_time} (${e.total_count} in this incident).`);
  if (e.severity_name !== null) lines.push(`Severity: ${e.severity_name}`);
  if (e.message !== '') lines.push(`Message: ${e.message.length > 500 ? e.message.slice(0, 500) + '…' : e.message}`);
  lines.push(`Incident: ${e.incident_id}`);
  return lines.join('\n');
}

/**
 * Subject of a delivery: the event's own, or for several sent together (a storm) how many and the
 * first: `[handlog] 57 notifications: FIRING Fatal or Error from any handset — 00907a11baaa … and 56 more`.
 */
export function batchSubject(events: readonly AlertEvent[]): string {
  const first = events[0];
  if (first === undefined) return batchHeading(0);
  if (events.length === 1) return subject(first);
  return `${batchHeading(events.length)}: ${subject(first).slice('[handlog] '.length)} and ${events.length - 1} more`;
}

/** The first line of a delivery of `n` notices: `[handlog] 57 notifications`. */
export function batchHeading(n: number): string {
  return `[handlog] ${n === 0 ? 'no' : n} notifications`;
}

/** Plain-text body of a delivery: each event's body, separated by a blank line. */
export function batchTextBody(events: readonly AlertEvent[]): string {
  return events.map(textBody).join('\n\n');
}

/**
 * The JSON body of a generic webhook: one event's payload, or for several sent together (notices
 * that queued up behind the channel's sends in flight — a storm) `{source, kind: "batch",
 * batch_size, text, notifications: [payload, …]}`.
 */
export function webhookBody(events: readonly AlertEvent[]): Record<string, unknown> {
  const first = events[0];
  if (events.length === 1 && first !== undefined) return webhookPayload(first);
  const notifications = events.map(webhookPayload);
  return {
    source: 'handlog',
    kind: 'batch',
    batch_size: events.length,
    text: [batchHeading(events.length), ...notifications.map((n) => n['text'])].join('\n'),
    notifications,
  };
}

/** The JSON body of a generic webhook for one event. */
export function webhookPayload(e: AlertEvent): Record<string, unknown> {
  return {
    source: 'handlog',
    kind: e.kind,
    event_id: e.id,
    incident_id: e.incident_id,
    rule: { id: e.rule_id, name: e.rule_name },
    mac: e.mac,
    tag: e.tag,
    count: e.count,
    total_count: e.total_count,
    first_time: e.first_time,
    last_time: e.last_time,
    fired_at: e.fired_at,
    severity: e.severity,
    severity_name: e.severity_name,
    message: e.message,
    log_ids: e.log_ids.list().slice(0, 100),
    text: subject(e),
  };
}
