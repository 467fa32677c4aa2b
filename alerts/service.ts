// The alerting service: subscribes to the ingest pipeline, evaluates rules off the ingest path,
// applies silences, dispatches to channels, stores fired alerts, and owns the rule/channel/silence
// configuration the API edits.
//
// The pipeline subscriber only pushes the row into a bounded queue (a full queue skips the row and
// counts it in handlog_alert_skipped_total{reason="queue_full"}); the queue is drained in batches
// on later event-loop turns, so evaluation never lengthens an ingest call.

import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/metrics.js';
import { HandlogError, errorMessage } from '../core/errors.js';
import type { StoredRecord } from '../core/record.js';
import type { Store } from '../store/client.js';
import { Dispatcher, type ChannelStatus } from './channels/index.js';
import { maskChannel, validateChannel, type Channel } from './channels/types.js';
import type { RetryPolicy } from './channels/webhook.js';
import { loadAlertsConfig, saveAlertsConfig, type AlertsConfig } from './config-store.js';
import { eventFromNotice, testEvent, type AlertEvent, type ChannelResult } from './event.js';
import { acknowledge, countUnacknowledged, listEvents, writeEvents, type EventQuery } from './event-store.js';
import { Evaluator, type AlertNotice } from './evaluator.js';
import { DEFAULT_RULE_ID, validateRule, type AlertRule } from './rules.js';
import { findSilence, isActive, validateSilence, type Silence } from './silences.js';
import { testRule, type RuleTestResult } from './rule-test.js';

export interface AlertServiceConfig {
  dataDir: string;
  /** `--alert-webhook URL`: a webhook channel bound to the default rule. */
  webhookUrl: string | null;
  /** Rows waiting for evaluation at most (default 50,000). */
  queueMax?: number;
  /** How often group timers are checked (default 100 ms). */
  tickMs?: number;
  retry?: RetryPolicy;
}

export interface AlertServiceDeps {
  store: Store;
  metrics: Registry;
  logger: Logger;
  pipeline: { subscribe(listener: (row: StoredRecord) => void): () => void };
  now?: () => number;
}

export type ChannelView = Channel & { status: ChannelStatus };
export type SilenceView = Silence & { active: boolean };

/** One editable list of the alert configuration, as the API serves it. */
export interface Collection<V> {
  list(): V[];
  get(id: string): V;
  create(body: unknown): V;
  /** Merges the body over the stored item. */
  update(id: string, body: unknown): V;
  remove(id: string): void;
}

/** Rows evaluated per event-loop turn before yielding. */
const DRAIN_BATCH = 2000;
/** Fired alerts are written at most this long after they fire. */
const WRITE_DELAY_MS = 100;

export class AlertService {
  private cfg: AlertsConfig;
  private readonly evaluator: Evaluator;
  private readonly dispatcher: Dispatcher;
  private readonly now: () => number;
  private readonly queue: StoredRecord[] = [];
  private readonly queueMax: number;
  private draining = false;
  /** Some rule is enabled: without one, rows are not even queued. */
  private active = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly writes: { event: AlertEvent; version: 1 | 2 }[] = [];
  private writeTimer: NodeJS.Timeout | undefined;
  private readonly skipped;
  private readonly suppressed;
  private readonly notices;

  constructor(
    private readonly config: AlertServiceConfig,
    private readonly deps: AlertServiceDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.queueMax = config.queueMax ?? 50_000;
    this.cfg = loadAlertsConfig(config.dataDir, this.iso());
    const m = deps.metrics;
    this.skipped = m.counter('handlog_alert_skipped_total', 'Rows or matches alert evaluation had to skip, by reason (queue_full, groups_full).');
    this.suppressed = m.counter('handlog_alert_suppressed_total', 'Alert notices not sent because a silence matched.');
    this.notices = m.counter('handlog_alert_notices_total', 'Alert notices produced, by kind (fired, update, resolved).');
    const depth = m.gauge('handlog_alert_queue_rows', 'Rows waiting for alert evaluation, and open alert groups.');
    depth.collect(() => {
      depth.set(this.queue.length, { what: 'queue' });
      depth.set(this.evaluator.openGroups(), { what: 'groups' });
    });
    this.dispatcher = new Dispatcher({ metrics: m, logger: deps.logger, now: this.now, ...(config.retry === undefined ? {} : { retry: config.retry }) });
    this.evaluator = new Evaluator(this.cfg.rules, (n) => this.onNotice(n));
    this.active = this.cfg.rules.some((r) => r.enabled);
    if (config.webhookUrl !== null) this.bindCliWebhook(config.webhookUrl);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  start(): void {
    this.unsubscribe = this.deps.pipeline.subscribe((row) => this.enqueue(row));
    let lastSkipped = 0;
    this.timer = setInterval(() => {
      this.evaluator.tick(this.now());
      const s = this.evaluator.stats().skipped;
      if (s > lastSkipped) this.skipped.inc({ reason: 'groups_full' }, s - lastSkipped);
      lastSkipped = s;
    }, this.config.tickMs ?? 100);
    this.timer.unref();
    this.deps.logger.info('alerts ready', { rules: this.cfg.rules.filter((r) => r.enabled).length, channels: this.cfg.channels.length });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.dispatcher.close();
    await Promise.allSettled([...this.pending]);
    if (this.writeTimer !== undefined) {
      clearTimeout(this.writeTimer);
      this.writeTimer = undefined;
      await this.flushWrites();
    }
  }

  /** Resolves once queued rows are evaluated and stored writes are done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.draining || this.pending.size > 0 || this.writeTimer !== undefined) {
      await Promise.allSettled([...this.pending]);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // -- ingest side ---------------------------------------------------------------------------

  private enqueue(row: StoredRecord): void {
    if (!this.active) return;
    // Imported captures are history, not news: alerting on them would page about last year.
    if (row.transport === 'import') return;
    if (this.queue.length >= this.queueMax) {
      this.skipped.inc({ reason: 'queue_full' });
      return;
    }
    this.queue.push(row);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const rows = this.queue.splice(0, DRAIN_BATCH);
    const now = this.now();
    for (const row of rows) {
      try {
        this.evaluator.process(row, now);
      } catch (e: unknown) {
        this.deps.logger.error('alert evaluation failed', { err: errorMessage(e) });
      }
    }
    if (this.queue.length > 0) setImmediate(() => this.drain());
    else this.draining = false;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  /**
   * Events are written in batches (one insert per WRITE_DELAY_MS at most): an alert storm must not
   * turn into a storm of single-row inserts next to the log sink.
   */
  private store(event: AlertEvent, version: 1 | 2): void {
    this.writes.push({ event, version });
    if (this.writeTimer !== undefined) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      void this.flushWrites();
    }, WRITE_DELAY_MS);
  }

  private flushWrites(): Promise<void> {
    const batch = this.writes.splice(0);
    return this.track(
      writeEvents(this.deps.store.client, batch).catch((err: unknown) =>
        this.deps.logger.warn('alert events not stored', { events: batch.length, err: errorMessage(err) }),
      ),
    );
  }

  private onNotice(n: AlertNotice): void {
    const event = eventFromNotice(n);
    this.notices.inc({ kind: n.kind });
    if (findSilence(this.cfg.silences, event, n.at_ms) !== undefined) {
      event.silenced = true;
      this.suppressed.inc();
      this.store(event, 1);
      return;
    }
    const channels = this.channelsFor(n.rule);
    this.store(event, 1);
    if (channels.length === 0) return;
    void this.track(this.dispatcher.send(event, channels).then((results: ChannelResult[]) => this.store({ ...event, channels: results }, 2)));
  }

  private channelsFor(rule: AlertRule): Channel[] {
    const enabled = this.cfg.channels.filter((c) => c.enabled);
    return rule.channels.length === 0 ? enabled : enabled.filter((c) => rule.channels.includes(c.id));
  }

  private save(next: AlertsConfig): void {
    saveAlertsConfig(this.config.dataDir, next);
    this.cfg = next;
    this.evaluator.setRules(next.rules);
    this.active = next.rules.some((r) => r.enabled);
  }

  private bindCliWebhook(url: string): void {
    let ch = this.cfg.channels.find((c) => c.type === 'webhook' && c.config.url === url);
    const channels = [...this.cfg.channels];
    if (ch === undefined) {
      ch = validateChannel({ name: 'webhook (--alert-webhook)', type: 'webhook', config: { url } }, this.iso());
      channels.push(ch);
    }
    const id = ch.id;
    const rules = this.cfg.rules.map((r) =>
      r.id === DEFAULT_RULE_ID && r.channels.length > 0 && !r.channels.includes(id) ? { ...r, channels: [...r.channels, id] } : r,
    );
    if (!rules.some((r) => r.id === DEFAULT_RULE_ID)) this.deps.logger.warn('--alert-webhook: the default rule was deleted; the webhook gets every rule bound to all channels', {});
    this.save({ ...this.cfg, channels, rules });
  }

  // -- rules, channels, silences -------------------------------------------------------------

  /** List/get/create/update/remove over one list of the config file, each change saved at once. */
  private collection<K extends 'rules' | 'channels' | 'silences', V>(
    kind: K,
    what: string,
    o: {
      validate(body: unknown, nowIso: string, prev?: AlertsConfig[K][number]): AlertsConfig[K][number];
      view(item: AlertsConfig[K][number]): V;
      /** Extra checks against the rest of the configuration. */
      check?(item: AlertsConfig[K][number]): void;
      /** The list a new item is appended to (drop stale entries). */
      prune?(items: AlertsConfig[K][number][]): AlertsConfig[K][number][];
      /** The rest of the configuration after a removal. */
      removed?(id: string, cfg: AlertsConfig): AlertsConfig;
    },
  ): Collection<V> {
    type T = AlertsConfig[K][number];
    const items = (): T[] => this.cfg[kind] as T[];
    const find = (id: string): T => {
      const x = items().find((i) => i.id === id);
      if (x === undefined) throw new HandlogError('NOT_FOUND', `no ${what} ${id}`);
      return x;
    };
    const put = (list: T[], base: AlertsConfig = this.cfg) => this.save({ ...base, [kind]: list } as AlertsConfig);
    const checked = (x: T): T => {
      o.check?.(x);
      return x;
    };
    return {
      list: () => items().map((x) => o.view(x)),
      get: (id) => o.view(find(id)),
      create: (body) => {
        const x = checked(o.validate(body, this.iso()));
        put([...(o.prune?.(items()) ?? items()), x]);
        return o.view(x);
      },
      update: (id, body) => {
        const x = checked(o.validate(body, this.iso(), find(id)));
        put(items().map((i) => (i.id === id ? x : i)));
        return o.view(x);
      },
      remove: (id) => {
        find(id);
        put(items().filter((i) => i.id !== id), o.removed?.(id, this.cfg));
      },
    };
  }

  readonly rules: Collection<AlertRule> = this.collection('rules', 'alert rule', {
    validate: validateRule,
    view: (r) => r,
    check: (r) => {
      const unknown = r.channels.find((id) => !this.cfg.channels.some((c) => c.id === id));
      if (unknown !== undefined) throw new HandlogError('BAD_REQUEST', `channels: no channel ${unknown}`);
    },
  });

  readonly channels: Collection<ChannelView> = this.collection('channels', 'alert channel', {
    validate: validateChannel,
    view: (c) => ({ ...maskChannel(c), status: this.dispatcher.status(c.id) }),
    // Rules that named the channel no longer do.
    removed: (id, cfg) => {
      this.dispatcher.forget(id);
      return { ...cfg, rules: cfg.rules.map((r) => (r.channels.includes(id) ? { ...r, channels: r.channels.filter((x) => x !== id) } : r)) };
    },
  });

  readonly silences: Collection<SilenceView> = this.collection('silences', 'silence', {
    validate: validateSilence,
    view: (s) => ({ ...s, active: isActive(s, this.now()) }),
    // Silences that ended over a week ago are dropped as new ones come in: the list stays short.
    prune: (list) => list.filter((x) => Date.parse(x.ends_at) > this.now() - 7 * 86_400_000),
  });

  /** What the rule would have fired over the last 24 h of stored logs. */
  testRule(body: unknown): Promise<RuleTestResult> {
    const rule = { ...validateRule(body, this.iso()), enabled: true };
    return testRule(this.deps.store.client, rule, this.now());
  }

  /** Sends a test notification through the channel (enabled or not) and returns the outcome. */
  testChannel(id: string): Promise<ChannelResult> {
    const c = this.cfg.channels.find((x) => x.id === id);
    if (c === undefined) throw new HandlogError('NOT_FOUND', `no alert channel ${id}`);
    return this.dispatcher.sendOne(testEvent(this.now()), c);
  }

  // -- fired alerts --------------------------------------------------------------------------

  listEvents(q: EventQuery): Promise<AlertEvent[]> {
    return listEvents(this.deps.store.client, q);
  }

  async acknowledge(id: string, by: string): Promise<{ id: string; incident_id: string; acknowledged: true }> {
    const incident = await acknowledge(this.deps.store.client, id, by, this.iso());
    return { id, incident_id: incident, acknowledged: true };
  }

  async summary(): Promise<{ unacknowledged: number; open_groups: number; active_silences: number }> {
    return {
      unacknowledged: await countUnacknowledged(this.deps.store.client),
      open_groups: this.evaluator.openGroups(),
      active_silences: this.cfg.silences.filter((s) => isActive(s, this.now())).length,
    };
  }
}
