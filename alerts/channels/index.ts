// Dispatch of one event to its channels. Every channel sends on its own promise: none awaits
// another, so a webhook that never answers does not delay the e-mail. Each channel has its own
// lane: at most MAX_IN_FLIGHT sends at once and MAX_BACKLOG waiting, beyond which notifications
// for that channel are dropped and counted (result="dropped") — an alert storm or a hung receiver
// costs bounded memory and sockets, and other channels do not notice. Notices that wait go
// together, up to BATCH_MAX per delivery (the 20-rule ingest bench's ~3,200 notices: ~100 POSTs).
// Outcomes are counted per notice in `handlog_alert_notifications_total{channel_type,result}` (the
// type, never a name or URL) and kept per channel for the API (last success, last error, failed
// deliveries since the last success).

import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Registry } from '../../core/metrics.js';
import type { AlertEvent, ChannelResult } from '../event.js';
import { slackSender } from './slack.js';
import { smtpSender } from './smtp.js';
import { syslogSender } from './syslog.js';
import { CHANNEL_TYPES, type Channel, type ChannelType, type Sender } from './types.js';
import { DEFAULT_RETRY, webhookSender, type RetryPolicy } from './webhook.js';
import { setMaxListeners } from 'node:events';

export interface ChannelStatus {
  last_ok: string | null;
  last_error: string | null;
  last_error_at: string | null;
  /** Failures since the last success. */
  failures: number;
  sent: number;
}

export interface DispatcherDeps {
  metrics: Registry;
  logger: Logger;
  now: () => number;
  /** Webhook and Slack retry policy (tests shorten it). */
  retry?: RetryPolicy;
}

export function senderFor(c: Channel, retry: RetryPolicy = DEFAULT_RETRY): Sender {
  switch (c.type) {
    case 'webhook':
      return webhookSender(c.config, retry);
    case 'slack':
      return slackSender(c.config, retry);
    case 'smtp':
      return smtpSender(c.config);
    case 'syslog':
      return syslogSender(c.config);
  }
}

export const MAX_IN_FLIGHT = 4;
/**
 * Waiting notifications per channel. A storm's worst burst is every rule's 100 groups plus its
 * overflow group at once (20 rules: ~2,000); a hung receiver holds at most this many (~2 KB each).
 */
export const MAX_BACKLOG = 5000;
/**
 * Notices sent together in one delivery when they queue up (a storm), per channel type: one webhook
 * POST `{kind: "batch", notifications}`, one Slack message (a block each, 50 blocks at most), one
 * e-mail, one syslog connection (still a line each). A lone notice goes alone, as always.
 */
export const BATCH_MAX: Record<ChannelType, number> = { webhook: 50, slack: 20, smtp: 50, syslog: 100 };

interface Pending {
  event: AlertEvent;
  started: number;
  resolve: (r: ChannelResult) => void;
}

interface Lane {
  /** The channel as last configured (a lane outlives edits; `forget` drops it). */
  channel: Channel;
  active: number;
  waiting: Pending[];
  /** A pump is due at the end of this turn of the event loop. */
  scheduled: boolean;
}

export class Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  private readonly statuses = new Map<string, ChannelStatus>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private readonly counter;
  private readonly retry: RetryPolicy;

  constructor(private readonly deps: DispatcherDeps) {
    this.counter = deps.metrics.counter('handlog_alert_notifications_total', 'Alert notifications, by channel type and result (ok, failed, or dropped when the channel backlog was full).');
    // Every series from the start at 0: a rate or an alert on failures works before the first one.
    for (const channel_type of CHANNEL_TYPES) for (const result of ['ok', 'failed', 'dropped']) this.counter.labels({ channel_type, result });
    this.retry = deps.retry ?? DEFAULT_RETRY;
    // Every send under way (up to 4 per channel, waiting out the deadline at shutdown) listens on it.
    setMaxListeners(0, this.abort.signal);
  }

  status(id: string): ChannelStatus {
    return this.statuses.get(id) ?? { last_ok: null, last_error: null, last_error_at: null, failures: 0, sent: 0 };
  }

  /** Every channel's status that has one, for a restart. */
  saveStatuses(): (ChannelStatus & { id: string })[] {
    return [...this.statuses].map(([id, s]) => ({ id, ...s }));
  }

  /** Takes back statuses saved at the last stop (entries that are not one are skipped); returns how many. */
  restoreStatuses(saved: readonly unknown[]): number {
    let n = 0;
    const strOrNull = (v: unknown) => v === null || typeof v === 'string';
    const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
    for (const x of saved) {
      if (typeof x !== 'object' || x === null) continue;
      const o = x as Record<string, unknown>;
      if (typeof o['id'] !== 'string' || !strOrNull(o['last_ok']) || !strOrNull(o['last_error']) || !strOrNull(o['last_error_at']) || !count(o['failures']) || !count(o['sent'])) continue;
      this.statuses.set(o['id'], {
        last_ok: o['last_ok'] as string | null,
        last_error: o['last_error'] as string | null,
        last_error_at: o['last_error_at'] as string | null,
        failures: o['failures'] as number,
        sent: o['sent'] as number,
      });
      n++;
    }
    return n;
  }

  forget(id: string): void {
    this.statuses.delete(id);
    this.lanes.delete(id);
  }

  /**
   * Send to one channel; resolves with its outcome, never rejects. Sends start at the end of the
   * current turn of the event loop, so that the notices of one evaluator tick that find the channel
   * busy travel together (up to BATCH_MAX per delivery).
   */
  sendOne(event: AlertEvent, c: Channel): Promise<ChannelResult> {
    const started = this.deps.now();
    let lane = this.lanes.get(c.id);
    if (lane === undefined) this.lanes.set(c.id, (lane = { channel: c, active: 0, waiting: [], scheduled: false }));
    const l = lane;
    l.channel = c;
    if (l.waiting.length >= MAX_BACKLOG) {
      const error = `channel backlog full (${MAX_BACKLOG} notifications waiting)`;
      this.record(c, 'dropped', error, 1);
      return Promise.resolve({ channel_id: c.id, type: c.type, ok: false, error, attempts: 0, ms: 0 });
    }
    const run = new Promise<ChannelResult>((resolve) => l.waiting.push({ event, started, resolve }));
    if (!l.scheduled) {
      l.scheduled = true;
      setImmediate(() => {
        l.scheduled = false;
        this.pump(l);
      });
    }
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run));
    return run;
  }

  /**
   * A test notification ("send test"): one attempt within the retry policy's timeout, no retries —
   * the admin waiting for the answer learns at once that the receiver is down — and not queued
   * behind the channel's backlog. Its outcome counts like any delivery's.
   */
  async test(event: AlertEvent, c: Channel): Promise<ChannelResult> {
    const started = this.deps.now();
    const { ok, error, attempts } = await this.send(c, [event], { ...this.retry, retries: 0 });
    this.record(c, ok ? 'ok' : 'failed', error, 1);
    return { channel_id: c.id, type: c.type, ok, error, attempts, ms: this.deps.now() - started };
  }

  /** One delivery through the channel's sender; never rejects. */
  private async send(c: Channel, events: AlertEvent[], retry: RetryPolicy): Promise<{ ok: boolean; error: string | null; attempts: number }> {
    try {
      const r = await senderFor(c, retry)(events, this.abort.signal);
      return { ok: r.ok, error: r.error, attempts: r.attempts };
    } catch (e: unknown) {
      return { ok: false, error: errorMessage(e), attempts: 0 };
    }
  }

  /** Starts deliveries while the lane has room: each takes what waits, up to the type's batch size. */
  private pump(l: Lane): void {
    while (l.active < MAX_IN_FLIGHT && l.waiting.length > 0) {
      const batch = l.waiting.splice(0, BATCH_MAX[l.channel.type]);
      l.active++;
      void this.deliver(l, l.channel, batch);
    }
  }

  private async deliver(l: Lane, c: Channel, batch: Pending[]): Promise<void> {
    const { ok, error, attempts } = await this.send(c, batch.map((p) => p.event), this.retry);
    l.active--;
    this.record(c, ok ? 'ok' : 'failed', error, batch.length);
    const now = this.deps.now();
    for (const p of batch) p.resolve({ channel_id: c.id, type: c.type, ok, error, attempts, ms: now - p.started });
    this.pump(l);
  }

  /** Outcome of one delivery of `n` notices (or of one dropped notice). */
  private record(c: Channel, result: 'ok' | 'failed' | 'dropped', error: string | null, n: number): void {
    const s = this.status(c.id);
    const at = new Date(this.deps.now()).toISOString();
    if (result === 'ok') {
      s.last_ok = at;
      s.failures = 0;
      s.sent += n;
    } else {
      s.last_error = error;
      s.last_error_at = at;
      s.failures++;
      // A backlog drop happens per notification in a storm: the status and the counter say it.
      if (result === 'failed') this.deps.logger.warn('alert notification failed', { channel: c.name, type: c.type, notifications: n, err: error });
    }
    this.statuses.set(c.id, s);
    this.counter.inc({ channel_type: c.type satisfies ChannelType, result }, n);
  }

  /**
   * Waits (at most `timeoutMs`) for sends under way — the notices fired at shutdown among them —,
   * then aborts what is left (attempts and retries) and gives the aborted sends a moment to settle.
   */
  async close(timeoutMs = 2000): Promise<void> {
    const settled = (ms: number) => Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, ms).unref())]);
    await settled(timeoutMs);
    this.abort.abort();
    await settled(250);
  }
}
