// The alerting service: subscribes to the ingest pipeline, evaluates rules off the ingest path,
// applies silences, dispatches to channels, stores fired alerts, and owns the rule/channel/silence
// configuration the API edits.
//
// Rules are evaluated in the pipeline subscriber, as each row is accepted: compiled tests and O(1)
// grouping, no I/O (about 1 µs a row for 20 rules, see README). What
// costs — storing and sending notices — goes through a bounded queue drained on later event-loop
// turns (a full queue skips notices and counts them in handlog_alert_skipped_total{reason=
// "notice_queue_full"}). Rows themselves are not queued: holding every row until a later turn made
// V8 promote them to the old generation, and the garbage collection that caused cost ingest 3–4 µs
// a row, several times the evaluation itself (measured with bench/ingest, HANDLOG_BENCH_RULES).

import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/metrics.js';
import { HandlogError, errorMessage } from '../core/errors.js';
import type { StoredRecord } from '../core/record.js';
import type { Store } from '../store/client.js';
import { Dispatcher, type ChannelStatus } from './channels/index.js';
import { maskChannel, validateChannel, type Channel } from './channels/types.js';
import { startHttpClient, type RetryPolicy } from './channels/webhook.js';
import { loadAlertsConfig, loadChannelStatuses, saveAlertsConfig, saveChannelStatuses, saveOpenGroups, takeOpenGroups, type AlertsConfig } from './config-store.js';
import { eventFromNotice, testEvent, type AlertEvent, type ChannelResult } from './event.js';
import { acknowledge, countUnacknowledged, listEvents, writeEvents, type EventQuery } from './event-store.js';
import { Evaluator, type AlertNotice } from './evaluator.js';
import { DEFAULT_RULE_ID, validateRule, type AlertRule } from './rules.js';
import { findSilence, isActive, validateSilence, type Silence } from './silences.js';
import { testRule, type RuleTestResult } from './rule-test.js';
import { isObject } from './validate.js';
import { bad } from '../query-api/params.js';

export interface AlertServiceConfig {
  dataDir: string;
  /** `--alert-webhook URL`: a webhook channel bound to the default rule. */
  webhookUrl: string | null;
  /** Notices waiting to be stored and sent at most (default 10,000). */
  queueMax?: number;
  /** How often group timers are checked (default 100 ms). */
  tickMs?: number;
  retry?: RetryPolicy;
}

export interface AlertServiceDeps {
  store: Store;
  metrics: Registry;
  logger: Logger;
  pipeline: { subscribe(listener: (row: StoredRecord, receivedAtMs?: number) => void): () => void };
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

/**
 * Fired alerts are written at most this long after they fire (channels are not held back by it)
 * while alerts are rare. Every insert into the embedded engine makes a part, and a part costs the
 * engine ~15 ms of CPU (writing it, merging it later) however few rows it holds: in an alert storm
 * ten inserts a second measurably slowed ingest, and even one a second (events and deliveries:
 * two) was ~1 % of the 20-rule ingest bench. So after a write of STORM_ROWS rows or more the next
 * delay is twice the last, up to MAX_WRITE_DELAY_MS; after a smaller one it is WRITE_DELAY_MS again.
 */
const WRITE_DELAY_MS = 1000;
const MAX_WRITE_DELAY_MS = 4000;
const STORM_ROWS = 50;

export class AlertService {
  private cfg: AlertsConfig;
  private readonly evaluator: Evaluator;
  private readonly dispatcher: Dispatcher;
  private readonly now: () => number;
  private queue: AlertNotice[] = [];
  private readonly queueMax: number;
  private draining = false;
  /** Some rule is enabled: without one, rows are not even looked at. */
  private active = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private eventWrites: AlertEvent[] = [];
  private deliveryWrites: { event_id: string; result: ChannelResult }[] = [];
  private writeTimer: NodeJS.Timeout | undefined;
  /** How long the next batch of events and deliveries waits for more (see WRITE_DELAY_MS). */
  private writeDelayMs = WRITE_DELAY_MS;
  /** When the next silence ends: then incidents it kept quiet are let through (liftSilences). */
  private nextSilenceEndMs = Number.POSITIVE_INFINITY;
  private readonly skipped;
  private readonly suppressed;
  private readonly notices;

  constructor(
    private readonly config: AlertServiceConfig,
    private readonly deps: AlertServiceDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.queueMax = config.queueMax ?? 10_000;
    this.cfg = loadAlertsConfig(config.dataDir, this.iso());
    const m = deps.metrics;
    this.skipped = m.counter('handlog_alert_skipped_total', 'Alert notices or matches skipped, by reason (notice_queue_full, groups_full).');
    this.suppressed = m.counter('handlog_alert_suppressed_total', 'Alert notices not sent because a silence matched.');
    this.notices = m.counter('handlog_alert_notices_total', 'Alert notices produced, by kind (fired, update, resolved).');
    for (const reason of ['notice_queue_full', 'groups_full']) this.skipped.labels({ reason });
    this.suppressed.labels({});
    for (const kind of ['fired', 'update', 'resolved']) this.notices.labels({ kind });
    const depth = m.gauge('handlog_alert_backlog', 'Alert notices waiting to be stored and sent, and open alert groups.');
    depth.collect(() => {
      depth.set(this.queue.length, { what: 'notices' });
      depth.set(this.evaluator.openGroups(), { what: 'groups' });
    });
    this.dispatcher = new Dispatcher({ metrics: m, logger: deps.logger, now: this.now, ...(config.retry === undefined ? {} : { retry: config.retry }) });
    this.evaluator = new Evaluator(
      this.cfg.rules,
      (n) => this.enqueue(n),
      (alert, nowMs) => findSilence(this.cfg.silences, alert, nowMs) !== undefined,
    );
    this.active = this.cfg.rules.some((r) => r.enabled);
    if (config.webhookUrl !== null) this.bindCliWebhook(config.webhookUrl);
    const st = loadChannelStatuses(config.dataDir);
    if (st.problem !== null) deps.logger.warn('channel statuses of the last run not restored', { reason: st.problem });
    this.dispatcher.restoreStatuses(st.channels.filter((c) => this.cfg.channels.some((x) => isObject(c) && x.id === c['id'])));
    const open = takeOpenGroups(config.dataDir);
    if (open.problem !== null) deps.logger.warn('open alert groups of the last run not restored', { reason: open.problem });
    const restored = this.evaluator.restoreGroups(open.groups);
    if (restored > 0) deps.logger.info('open alert groups restored', { groups: restored });
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  start(): void {
    this.unsubscribe = this.deps.pipeline.subscribe((row, receivedAtMs) => this.onRow(row, receivedAtMs));
    let lastSkipped = 0;
    this.nextSilenceEndMs = this.silenceEnd();
    this.startClients();
    this.timer = setInterval(() => {
      const nowMs = this.now();
      if (nowMs >= this.nextSilenceEndMs) {
        this.evaluator.liftSilences(nowMs);
        this.nextSilenceEndMs = this.silenceEnd();
      }
      this.evaluator.tick(nowMs);
      const s = this.evaluator.stats().skipped;
      if (s > lastSkipped) this.skipped.inc({ reason: 'groups_full' }, s - lastSkipped);
      lastSkipped = s;
    }, this.config.tickMs ?? 100);
    this.timer.unref();
    this.deps.logger.info('alerts ready', { rules: this.cfg.rules.filter((r) => r.enabled).length, channels: this.cfg.channels.length });
  }

  /**
   * Reports every match not reported yet (group_wait and cooldown), saves the open groups for the
   * next start, sends what is queued (within the dispatcher's shutdown deadline), then writes what
   * is left to the store.
   */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.timer !== undefined) clearInterval(this.timer);
    try {
      this.evaluator.flushPending(this.now());
    } catch (e: unknown) {
      this.deps.logger.error('alert evaluation failed', { err: errorMessage(e) });
    }
    try {
      saveOpenGroups(this.config.dataDir, this.evaluator.saveGroups());
    } catch (e: unknown) {
      this.deps.logger.warn('open alert groups not saved: their resolved notices will not be sent', { err: errorMessage(e) });
    }
    this.drain();
    await this.dispatcher.close();
    try {
      saveChannelStatuses(this.config.dataDir, this.dispatcher.saveStatuses());
    } catch (e: unknown) {
      this.deps.logger.warn('channel statuses not saved', { err: errorMessage(e) });
    }
    await Promise.allSettled([...this.pending]);
    this.stopped = true;
    if (this.writeTimer !== undefined) clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.flushWrites();
  }

  // -- ingest side ---------------------------------------------------------------------------

  private onRow(row: StoredRecord, receivedAtMs?: number): void {
    // Imported captures are history, not news: alerting on them would page about last year.
    if (!this.active || row.transport === 'import') return;
    try {
      // A row is evaluated at the time it was received (the same event-loop turn: its chunk's
      // clock reading, not one Date.now() per row).
      this.evaluator.process(row, receivedAtMs ?? this.now());
    } catch (e: unknown) {
      this.deps.logger.error('alert evaluation failed', { err: errorMessage(e) });
    }
  }

  private enqueue(n: AlertNotice): void {
    if (this.queue.length >= this.queueMax) {
      this.skipped.inc({ reason: 'notice_queue_full' });
      return;
    }
    this.queue.push(n);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const notices = this.queue;
    this.queue = [];
    this.draining = false;
    for (const n of notices) {
      try {
        this.onNotice(n);
      } catch (e: unknown) {
        this.deps.logger.error('alert notice failed', { err: errorMessage(e) });
      }
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** Events and deliveries are written in batches: one insert each per write delay (above) at most. */
  private store(event: AlertEvent | null, delivery?: { event_id: string; result: ChannelResult }): void {
    if (event !== null) this.eventWrites.push(event);
    if (delivery !== undefined) this.deliveryWrites.push(delivery);
    if (this.writeTimer !== undefined || this.stopped) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      const rows = this.eventWrites.length + this.deliveryWrites.length;
      this.writeDelayMs = rows >= STORM_ROWS ? Math.min(this.writeDelayMs * 2, MAX_WRITE_DELAY_MS) : WRITE_DELAY_MS;
      void this.flushWrites();
    }, this.writeDelayMs);
  }

  private flushWrites(): Promise<void> {
    if (this.eventWrites.length === 0 && this.deliveryWrites.length === 0) return Promise.resolve();
    const events = this.eventWrites;
    const deliveries = this.deliveryWrites;
    this.eventWrites = [];
    this.deliveryWrites = [];
    return this.track(
      writeEvents(this.deps.store.client, events, deliveries).catch((err: unknown) =>
        this.deps.logger.warn('alert events not stored', { events: events.length, deliveries: deliveries.length, err: errorMessage(err) }),
      ),
    );
  }

  private onNotice(n: AlertNotice): void {
    const event = eventFromNotice(n);
    this.notices.inc({ kind: n.kind });
    if (n.silenced) {
      event.silenced = true;
      this.suppressed.inc();
      this.store(event);
      return;
    }
    this.store(event);
    // Each channel's outcome is stored when that channel answers: a hung webhook does not hold back
    // the record of the e-mail that went out.
    for (const c of this.channelsFor(n.rule)) {
      void this.track(this.dispatcher.sendOne(event, c).then((result) => this.store(null, { event_id: event.id, result })));
    }
  }

  private channelsFor(rule: AlertRule): Channel[] {
    const enabled = this.cfg.channels.filter((c) => c.enabled);
    return rule.channels.length === 0 ? enabled : enabled.filter((c) => rule.channels.includes(c.id));
  }

  private save(next: AlertsConfig): void {
    saveAlertsConfig(this.config.dataDir, next);
    const silencesChanged = next.silences !== this.cfg.silences;
    this.cfg = next;
    this.startClients();
    this.evaluator.setRules(next.rules);
    this.active = next.rules.some((r) => r.enabled);
    if (silencesChanged) {
      // A silence deleted, shortened or narrowed lets its incidents through now, not at their cooldown.
      this.evaluator.liftSilences(this.now());
      this.nextSilenceEndMs = this.silenceEnd();
    }
  }

  /** The HTTP client thread starts with the first webhook or Slack channel, not with its first POST. */
  private startClients(): void {
    if (this.cfg.channels.some((c) => c.enabled && (c.type === 'webhook' || c.type === 'slack'))) startHttpClient();
  }

  /** The end of the next silence to end after now (infinity when none will). */
  private silenceEnd(): number {
    const nowMs = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.cfg.silences) {
      const end = Date.parse(s.ends_at);
      if (end > nowMs && end < next) next = end;
    }
    return next;
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
    // The default rule is what `--alert-webhook` binds to: it is turned off, not deleted. A deleted
    // rule's silences go with it (they would silence nothing, and could not be edited: their
    // rule_id names no rule).
    removed: (id, cfg) => {
      if (id === DEFAULT_RULE_ID) {
        throw new HandlogError('CONFLICT', `the default rule cannot be deleted; turn it off instead: PUT /api/alerts/rules/${DEFAULT_RULE_ID} {"enabled": false}`);
      }
      return { ...cfg, silences: cfg.silences.filter((s) => s.rule_id !== id) };
    },
  });

  readonly channels: Collection<ChannelView> = this.collection('channels', 'alert channel', {
    validate: validateChannel,
    view: (c) => ({ ...maskChannel(c), status: this.dispatcher.status(c.id) }),
    // A channel some rule names cannot be deleted: dropping it from the rule's list would turn a
    // rule that sent only there into one that sends to every channel (an empty list = all).
    removed: (id, cfg) => {
      const users = cfg.rules.filter((r) => r.channels.includes(id));
      if (users.length > 0) {
        throw new HandlogError(
          'CONFLICT',
          `alert channel ${id} is used by ${users.length === 1 ? 'rule' : 'rules'} ${users.map((r) => `${r.id} (${JSON.stringify(r.name)})`).join(', ')}; remove it from their channels first`,
        );
      }
      this.dispatcher.forget(id);
      return cfg;
    },
  });

  readonly silences: Collection<SilenceView> = this.collection('silences', 'silence', {
    validate: validateSilence,
    view: (s) => ({ ...s, active: isActive(s, this.now()) }),
    // A silence for a rule that does not exist would silence nothing (a typo, a deleted rule).
    check: (s) => {
      if (s.rule_id !== null && !this.cfg.rules.some((r) => r.id === s.rule_id)) throw bad('rule_id', `no alert rule ${s.rule_id}`);
    },
    // Silences that ended over a week ago are dropped as new ones come in: the list stays short.
    prune: (list) => list.filter((x) => Date.parse(x.ends_at) > this.now() - 7 * 86_400_000),
  });

  /** What the rule would have fired over the last 24 h of stored logs. */
  testRule(body: unknown): Promise<RuleTestResult> {
    // A rule being edited may not have a name yet.
    const named = isObject(body) && body['name'] === undefined ? { ...body, name: 'rule under test' } : body;
    const rule = { ...validateRule(named, this.iso()), enabled: true };
    return testRule(this.deps.store.client, rule, this.now());
  }

  /** Sends a test notification through the channel (enabled or not; one attempt) and returns the outcome. */
  testChannel(id: string): Promise<ChannelResult> {
    const c = this.cfg.channels.find((x) => x.id === id);
    if (c === undefined) throw new HandlogError('NOT_FOUND', `no alert channel ${id}`);
    return this.dispatcher.test(testEvent(this.now()), c);
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
