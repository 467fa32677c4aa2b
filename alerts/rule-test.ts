// "Test this rule against the last 24 h": the rule's filter runs as SQL (store/queries.ts, the same
// WHERE as the log search), the newest matching rows (at most TEST_MAX_ROWS) are replayed oldest
// first through a private evaluator whose clock is each row's time, and the notices it emits are
// what the rule would have fired. Nothing is sent or stored.

import type { ClickHouseClient } from '@clickhouse/client';
import type { StoredRecord } from '../core/record.js';
import { countLogs, exportLogs } from '../store/queries.js';
import { eventFromNotice, type AlertEvent } from './event.js';
import { Evaluator } from './evaluator.js';
import { compileRule, toLogFilters, type AlertRule } from './rules.js';

export const TEST_WINDOW_MS = 24 * 3_600_000;
export const TEST_MAX_ROWS = 20_000;
const SAMPLE_ROWS = 20;
const MAX_NOTICES = 200;

export interface RuleTestResult {
  from: string;
  to: string;
  /** Rows in the window matching the rule's filter (SQL count, uncapped). */
  filter_count: number;
  /** Rows replayed (the newest filter matches, at most TEST_MAX_ROWS). */
  scanned: number;
  truncated: boolean;
  /** Replayed rows that pass the whole rule (filter and kind). */
  matched: number;
  /** What would have been sent, oldest first (at most 200); `resolved` only for groups quiet by now. */
  notifications: Omit<AlertEvent, 'channels' | 'acknowledged' | 'acknowledged_at' | 'silenced' | 'log_ids'>[];
  notifications_total: number;
  /** The newest matching rows. */
  samples: StoredRecord[];
}

export async function testRule(client: ClickHouseClient, rule: AlertRule, nowMs: number): Promise<RuleTestResult> {
  const from = new Date(nowMs - TEST_WINDOW_MS).toISOString();
  const to = new Date(nowMs + 1).toISOString();
  const filters = { ...toLogFilters(rule.filter), from, to };
  const [filterCount, rows] = await Promise.all([countLogs(client, filters), newest(client, filters)]);
  rows.reverse();
  const notices: RuleTestResult['notifications'] = [];
  let total = 0;
  const ev = new Evaluator([rule], (n) => {
    total++;
    if (notices.length >= MAX_NOTICES) return;
    const { channels: _c, acknowledged: _a, acknowledged_at: _t, silenced: _s, log_ids: _l, ...e } = eventFromNotice(n);
    notices.push(e);
  });
  const test = compileRule(rule);
  const prev = new Map<string, number>();
  const samples: StoredRecord[] = [];
  let matched = 0;
  let last = nowMs - TEST_WINDOW_MS;
  for (const row of rows) {
    const t = Math.max(last, Date.parse(row.time));
    last = t;
    advance(ev, t);
    ev.process(row, t);
    // The evaluator keeps its own missed_events memory; this one only counts matches for the answer.
    const mac = row.mac ?? '';
    const p = mac === '' ? null : (prev.get(mac) ?? null);
    if (mac !== '' && row.missed_events !== null) prev.set(mac, row.missed_events);
    if (test(row, p)) {
      matched++;
      samples.push(row);
      if (samples.length > SAMPLE_ROWS) samples.shift();
    }
  }
  advance(ev, Math.max(nowMs, last + rule.group_wait_ms));
  return {
    from,
    to,
    filter_count: filterCount,
    scanned: rows.length,
    truncated: filterCount > rows.length,
    matched,
    notifications: notices,
    notifications_total: total,
    samples: samples.reverse(),
  };
}

/**
 * Moves the evaluator's clock to `t` through every moment a group was due in between: a group_wait
 * ending, a cooldown ending, a group going quiet are handled at their own time, as the service's
 * ticks do, not at the next row's (two incidents hours apart would otherwise merge into one).
 */
function advance(ev: Evaluator, t: number): void {
  for (let due = ev.nextDueMs(); due < t; due = ev.nextDueMs()) ev.tick(due);
  ev.tick(t);
}

async function newest(client: ClickHouseClient, filters: Parameters<typeof exportLogs>[1]): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const row of exportLogs(client, filters, { pageRows: 5000 })) {
    out.push(row);
    if (out.length >= TEST_MAX_ROWS) break;
  }
  return out;
}
