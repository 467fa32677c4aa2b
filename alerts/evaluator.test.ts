import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../core/record.js';
import { randomUUID } from 'node:crypto';
import { Evaluator, MAX_GROUPS_PER_RULE, MAX_LOG_IDS, type AlertNotice } from './evaluator.js';
import { HandsetTable, packId, packUuid, unpackUuid, unpackUuids, WindowPool } from './windows.js';
import { compileRule, validateRule, type AlertRule } from './rules.js';
import { handsetLine, rng } from '../bench/corpus.js';
import { parseLine } from '../parsers/detect.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
let seq = 0;

function row(over: Partial<StoredRecord> = {}): StoredRecord {
  seq++;
  return {
    format: 'pivot', facility: 16, severity: 3, severity_name: 'Error', syslog_time: null, host: '172.29.4.17',
    tag: 'SipService', pid: 1, tid: null, mac: '00907a11baaa', device_time: null, uptime_ms: null, missed_events: null,
    message: `event ${seq}`, id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, time: new Date(T0).toISOString(),
    received_at: new Date(T0).toISOString(), source_ip: '172.29.4.17', transport: 'tcp', session: '', raw: '',
    ...over,
  };
}

function rule(body: Record<string, unknown>): AlertRule {
  return validateRule({ name: 'r', filter: { max_severity: 3 }, ...body }, new Date(T0).toISOString());
}

function setup(rules: AlertRule[]) {
  const out: AlertNotice[] = [];
  const ev = new Evaluator(rules, (n) => out.push(n));
  return { ev, out };
}

describe('grouping, cooldown and resolve (fake clock)', () => {
  it('folds a burst inside group_wait into one notice, then resolves with the total', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 500, cooldown_s: 60, resolve_after_s: 30 })]);
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = row();
      ids.push(r.id);
      ev.process(r, T0 + (i % 300));
    }
    ev.tick(T0 + 499);
    expect(out).toHaveLength(0);
    ev.tick(T0 + 500);
    expect(out.map((n) => [n.kind, n.count, n.total_count])).toEqual([['fired', 1000, 1000]]);
    // The first ones, in order (the list's buffer grew from 8 ids to MAX_LOG_IDS on the way).
    expect(out[0]?.log_ids.list()).toEqual(ids.slice(0, MAX_LOG_IDS));
    ev.tick(T0 + 299 + 29_999);
    expect(out).toHaveLength(1);
    ev.tick(T0 + 299 + 30_000);
    expect(out.map((n) => [n.kind, n.count])).toEqual([['fired', 1000], ['resolved', 1000]]);
    expect(out[1]?.incident_id).toBe(out[0]?.incident_id);
    expect(ev.openGroups()).toBe(0);
  });

  it('ticks handle the groups that are due, and every notice still comes on time', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 500, cooldown_s: 60, resolve_after_s: 120 })]);
    const kinds = () => out.map((n) => [n.kind, n.count]);
    ev.process(row(), T0);
    ev.process(row({ mac: '00907a11babb' }), T0 + 200);
    for (let t = 0; t < 500; t += 100) ev.tick(T0 + t);
    expect(kinds()).toEqual([]);
    ev.tick(T0 + 500);
    expect(kinds()).toEqual([['fired', 1]]);
    ev.tick(T0 + 700);
    expect(kinds()).toEqual([['fired', 1], ['fired', 1]]);
    // Nothing due until the first cooldown's end: these ticks find nothing to do.
    ev.process(row(), T0 + 1000);
    for (let t = 800; t < 60_500; t += 100) ev.tick(T0 + t);
    expect(out).toHaveLength(2);
    ev.tick(T0 + 60_500);
    expect(kinds()).toEqual([['fired', 1], ['fired', 1], ['update', 1]]);
    // A new group opening in a quiet time is waited for like the first.
    ev.process(row({ mac: '00907a11bacc' }), T0 + 70_000);
    ev.tick(T0 + 70_400);
    expect(out).toHaveLength(3);
    ev.tick(T0 + 70_500);
    expect(out).toHaveLength(4);
    // Resolutions: 120 s after each group's last match.
    for (let t = 70_600; t <= 200_000; t += 100) ev.tick(T0 + t);
    expect(out.slice(4).map((n) => [n.kind, n.mac, n.at_ms - T0])).toEqual([
      ['resolved', '00907a11babb', 120_200],
      ['resolved', '00907a11baaa', 121_000],
      ['resolved', '00907a11bacc', 190_000],
    ]);
    expect(ev.openGroups()).toBe(0);
  });

  it('ticks send what visiting every group at every tick would: random matches of 60 handsets over 20 s', () => {
    const r = rng(7);
    const { ev, out } = setup([rule({ group_wait_ms: 500, cooldown_s: 2, resolve_after_s: 3 })]);
    // The model: every group looked at on every tick.
    const model = new Map<string, { fired: boolean; dueMs: number; lastMs: number; pending: number; total: number }>();
    const want: string[] = [];
    for (let T = T0 + 100; T <= T0 + 30_000; T += 100) {
      const n = T <= T0 + 20_000 ? Math.floor(r() * 4) : 0;
      for (let k = 0; k < n; k++) {
        const mac = `00907a0000${Math.floor(r() * 60).toString(16).padStart(2, '0')}`;
        const t = T - 99 + Math.floor(r() * 99);
        ev.process(row({ mac }), t);
        let g = model.get(mac);
        if (g === undefined) model.set(mac, (g = { fired: false, dueMs: t + 500, lastMs: t, pending: 0, total: 0 }));
        g.pending++;
        g.total++;
        g.lastMs = Math.max(g.lastMs, t);
      }
      ev.tick(T);
      for (const [mac, g] of model) {
        if (!g.fired) {
          if (T < g.dueMs) continue;
          want.push(`${T} fired ${mac} ${g.pending}`);
          g.fired = true;
          g.pending = 0;
          g.dueMs = T + 2000;
          continue;
        }
        if (T >= g.dueMs && g.pending > 0) {
          want.push(`${T} update ${mac} ${g.pending}`);
          g.pending = 0;
          g.dueMs = T + 2000;
        }
        if (T - g.lastMs >= 3000) {
          want.push(`${T} resolved ${mac} ${g.total}`);
          model.delete(mac);
        }
      }
    }
    expect(want.length).toBeGreaterThan(150);
    expect(out.map((x) => `${x.at_ms} ${x.kind} ${x.mac} ${x.count}`).sort()).toEqual(want.sort());
    expect(ev.openGroups()).toBe(0);
  });

  it('group_wait 0 fires on the first match, synchronously', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 0 })]);
    ev.process(row({ severity: 0, message: 'boom' }), T0);
    expect(out.map((n) => [n.kind, n.count, n.message])).toEqual([['fired', 1, 'boom']]);
  });

  it('sends one update per cooldown with the events folded since the last notice', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 0, cooldown_s: 10, resolve_after_s: 60 })]);
    ev.process(row(), T0);
    for (let s = 1; s <= 25; s++) {
      ev.process(row(), T0 + s * 1000);
      ev.tick(T0 + s * 1000);
    }
    // fired at 0 (1), update at 10 s (10 folded: 1..10), update at 20 s (10 folded: 11..20)
    expect(out.map((n) => [n.kind, n.count, n.total_count])).toEqual([
      ['fired', 1, 1],
      ['update', 10, 11],
      ['update', 10, 21],
    ]);
    ev.tick(T0 + 25_000 + 60_000);
    expect(out.at(-1)).toMatchObject({ kind: 'resolved', count: 26, total_count: 26 });
  });

  it('a cooldown that ends with nothing folded sends nothing', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 0, cooldown_s: 5, resolve_after_s: 60 })]);
    ev.process(row(), T0);
    ev.tick(T0 + 6000);
    ev.tick(T0 + 20_000);
    expect(out.map((n) => n.kind)).toEqual(['fired']);
  });

  it('groups by rule, handset and tag', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 100 })]);
    ev.process(row({ mac: 'aaaaaaaaaaaa', tag: 'A' }), T0);
    ev.process(row({ mac: 'aaaaaaaaaaaa', tag: 'A' }), T0);
    ev.process(row({ mac: 'aaaaaaaaaaaa', tag: 'B' }), T0);
    ev.process(row({ mac: 'bbbbbbbbbbbb', tag: 'A' }), T0);
    ev.process(row({ severity: 6 }), T0); // no match
    ev.tick(T0 + 100);
    expect(out.map((n) => `${n.mac}/${n.tag}=${n.count}`).sort()).toEqual(['aaaaaaaaaaaa/A=2', 'aaaaaaaaaaaa/B=1', 'bbbbbbbbbbbb/A=1']);
  });

  it('threshold per handset fires when the window holds N matches, with the window count', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 0, condition: { type: 'threshold', count: 3, window_s: 10, per: 'handset' } })]);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + 2000);
    ev.process(row({ mac: 'bbbbbbbbbbbb' }), T0 + 2500);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + 11_000); // the first fell out of the window
    expect(out).toHaveLength(0);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + 11_500);
    expect(out.map((n) => [n.kind, n.mac, n.tag, n.count])).toEqual([['fired', 'aaaaaaaaaaaa', '', 3]]);
    expect(out[0]?.log_ids.list()).toHaveLength(3);
  });

  it('a threshold notice spans the matches it counts: first_ms is the first match in the window, not the last', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 500, cooldown_s: 60, resolve_after_s: 120, condition: { type: 'threshold', count: 3, window_s: 60, per: 'handset' } })]);
    ev.process(row(), T0); // falls out of the window before the threshold is crossed
    ev.process(row(), T0 + 70_000);
    ev.process(row(), T0 + 80_000);
    ev.process(row(), T0 + 90_000);
    ev.tick(T0 + 90_500);
    expect(out.map((n) => [n.kind, n.count, n.first_ms - T0, n.last_ms - T0])).toEqual([['fired', 3, 70_000, 90_000]]);
    // Later matches are reported from their own time; the resolved notice spans the whole episode.
    ev.process(row(), T0 + 100_000);
    ev.tick(T0 + 151_000);
    expect(out.slice(1).map((n) => [n.kind, n.count, n.first_ms - T0, n.last_ms - T0])).toEqual([['update', 1, 100_000, 100_000]]);
    ev.tick(T0 + 221_000);
    expect(out.slice(2).map((n) => [n.kind, n.count, n.first_ms - T0, n.last_ms - T0])).toEqual([['resolved', 4, 70_000, 100_000]]);
  });

  it('an overall threshold notice starts at the first counted match of any handset', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 0, condition: { type: 'threshold', count: 3, window_s: 60, per: 'overall' } })]);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + 1000);
    ev.process(row({ mac: 'bbbbbbbbbbbb' }), T0 + 2000);
    ev.process(row({ mac: 'cccccccccccc' }), T0 + 3000);
    expect(out.map((n) => [n.kind, n.count, n.first_ms - T0, n.last_ms - T0])).toEqual([['fired', 3, 1000, 3000]]);
  });

  it('flushPending (shutdown) reports every match not reported yet, once: group_wait fires and cooldown updates', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 500, cooldown_s: 60 })]);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0);
    ev.tick(T0 + 500);
    expect(out.map((n) => [n.kind, n.mac])).toEqual([['fired', 'aaaaaaaaaaaa']]);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + 600); // folded into the cooldown
    ev.process(row({ mac: 'bbbbbbbbbbbb' }), T0 + 700);
    ev.process(row({ mac: 'bbbbbbbbbbbb' }), T0 + 800);
    ev.flushPending(T0 + 900);
    expect(out.slice(1).map((n) => [n.kind, n.mac, n.count, n.first_ms - T0, n.at_ms - T0])).toEqual([
      ['update', 'aaaaaaaaaaaa', 1, 600, 900],
      ['fired', 'bbbbbbbbbbbb', 2, 700, 900],
    ]);
    ev.flushPending(T0 + 950);
    ev.tick(T0 + 1000);
    expect(out).toHaveLength(3);
  });

  it('saveGroups / restoreGroups carry fired groups across a restart: same incident, resolved when quiet', () => {
    const r = rule({ group_wait_ms: 0, cooldown_s: 60, resolve_after_s: 30 });
    const { ev, out } = setup([r]);
    ev.process(row({ message: 'one' }), T0);
    ev.process(row({ message: 'two' }), T0 + 1000);
    ev.flushPending(T0 + 2000);
    const saved = JSON.parse(JSON.stringify(ev.saveGroups())) as unknown[];
    expect(saved).toHaveLength(1);
    const after = setup([r]);
    expect(after.ev.restoreGroups([...saved, null, { rule_id: 'gone', mac: 'x', tag: 'y', incident_id: 'z', last_ms: 1, total: 1 }])).toBe(1);
    expect(after.ev.openGroups()).toBe(1);
    after.ev.process(row({ message: 'three' }), T0 + 5000); // folded: the cooldown carried over
    after.ev.tick(T0 + 6000);
    expect(after.out).toHaveLength(0);
    after.ev.tick(T0 + 5000 + 30_000);
    expect(after.out.map((n) => [n.kind, n.count, n.total_count, n.incident_id])).toEqual([['resolved', 3, 3, out[0]?.incident_id]]);
  });

  it('a threshold window reports the ids of the matches it counts, in order, any id form', () => {
    // count 20 makes the window grow past its first ring size; ids mix UUIDs and other strings.
    const { ev, out } = setup([rule({ group_wait_ms: 0, cooldown_s: 0, condition: { type: 'threshold', count: 20, window_s: 60, per: 'handset' } })]);
    const ids = Array.from({ length: 45 }, (_, i) => (i % 7 === 3 ? `not-a-uuid-${i}` : i % 11 === 5 ? randomUUID().toUpperCase() : randomUUID()));
    ids.forEach((id, i) => ev.process(row({ id }), T0 + i * 100));
    // 20 matches cross the threshold; each later match within the window is reported on its own.
    expect(out[0]?.count).toBe(20);
    expect(out[0]?.log_ids.list()).toEqual(ids.slice(0, 20));
    ev.tick(T0 + 10_000);
    const later = out.slice(1).filter((n) => n.kind === 'update');
    expect(later.reduce((a, n) => a + n.count, 0)).toBe(25);
    expect(later.flatMap((n) => n.log_ids.list())).toEqual(ids.slice(20));
  });

  it('packs lowercase UUIDs into 16 bytes and back, and refuses anything else', () => {
    const words = new Uint32Array(8);
    for (let i = 0; i < 200; i++) {
      const id = randomUUID();
      expect(packUuid(id, words, 4)).toBe(true);
      expect(unpackUuid(words, 4)).toBe(id);
    }
    const many = Array.from({ length: 150 }, () => randomUUID());
    const packed = new Uint32Array(many.length * 4);
    many.forEach((id, k) => packUuid(id, packed, k * 4));
    expect(unpackUuids(packed, 0, many.length)).toEqual(many);
    expect(unpackUuids(packed, 8, 3)).toEqual(many.slice(2, 5));
    expect(unpackUuids(packed, 0, 0)).toEqual([]);
    expect(packUuid('00000000-0000-0000-0000-000000000000', words, 0)).toBe(true);
    expect(unpackUuid(words, 0)).toBe('00000000-0000-0000-0000-000000000000');
    expect(packUuid('ffffffff-ffff-ffff-ffff-ffffffffffff', words, 0)).toBe(true);
    expect(unpackUuid(words, 0)).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
    for (const bad of ['', 'A0000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-00000000000g', '00000000x0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000000']) {
      expect(packUuid(bad, words, 0)).toBe(false);
    }
  });

  it('a rule change keeps the windows of per-handset thresholds that did not change (slots re-numbered)', () => {
    const a = rule({ group_wait_ms: 0, condition: { type: 'threshold', count: 3, window_s: 60, per: 'handset' } });
    const b = rule({ group_wait_ms: 0, condition: { type: 'threshold', count: 4, window_s: 60, per: 'handset' } });
    const { ev, out } = setup([a, b]);
    for (let i = 0; i < 2; i++) ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + i);
    for (let i = 0; i < 3; i++) ev.process(row({ mac: 'bbbbbbbbbbbb' }), T0 + i);
    expect(out.map((n) => [n.rule.id, n.mac, n.count])).toEqual([[a.id, 'bbbbbbbbbbbb', 3]]);
    expect(ev.stats().windows).toBe(4);
    // `a` goes: `b` moves to the first slot and keeps what it counted (2 and 3 matches).
    ev.setRules([b]);
    expect(ev.stats().windows).toBe(2);
    ev.process(row({ mac: 'bbbbbbbbbbbb' }), T0 + 10);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + 10);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0 + 11);
    expect(out.slice(1).map((n) => [n.rule.id, n.mac, n.count])).toEqual([[b.id, 'bbbbbbbbbbbb', 4], [b.id, 'aaaaaaaaaaaa', 4]]);
  });

  it('missed_events jumps are followed per handset alongside threshold windows', () => {
    const jump = rule({ kind: 'missed_events_jump', value: 5, filter: {}, group_wait_ms: 0 });
    const thr = rule({ group_wait_ms: 0, condition: { type: 'threshold', count: 100, window_s: 60, per: 'handset' } });
    const { ev, out } = setup([jump, thr]);
    ev.process(row({ mac: 'aaaaaaaaaaaa', missed_events: 10 }), T0); // first sight: no jump
    ev.process(row({ mac: 'bbbbbbbbbbbb', missed_events: 0 }), T0);
    ev.process(row({ mac: 'aaaaaaaaaaaa', missed_events: 12 }), T0 + 1);
    expect(out).toHaveLength(0);
    ev.process(row({ mac: 'bbbbbbbbbbbb', missed_events: 6 }), T0 + 2);
    expect(out.map((n) => [n.rule.id, n.mac])).toEqual([[jump.id, 'bbbbbbbbbbbb']]);
    expect(ev.stats().windows).toBe(2);
  });

  it('a window that went quiet is dropped at the next sweep', () => {
    const { ev } = setup([rule({ group_wait_ms: 0, condition: { type: 'threshold', count: 5, window_s: 10, per: 'handset' } })]);
    for (let h = 0; h < 30; h++) ev.process(row({ mac: h.toString(16).padStart(12, '0') }), T0);
    expect(ev.stats().windows).toBe(30);
    ev.tick(T0 + 5000);
    ev.tick(T0 + 20_000);
    expect(ev.stats().windows).toBe(0);
  });

  it('threshold overall counts every handset together', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 0, condition: { type: 'threshold', count: 3, window_s: 10, per: 'overall' } })]);
    ev.process(row({ mac: 'aaaaaaaaaaaa' }), T0);
    ev.process(row({ mac: 'bbbbbbbbbbbb' }), T0 + 1);
    ev.process(row({ mac: 'cccccccccccc' }), T0 + 2);
    expect(out.map((n) => [n.mac, n.count])).toEqual([['', 3]]);
  });

  it('missed_events_jump compares with the handset\'s previous value; a drop is a reboot', () => {
    const { ev, out } = setup([rule({ kind: 'missed_events_jump', value: 10, filter: {}, group_wait_ms: 0, cooldown_s: 0, resolve_after_s: 1 })]);
    const vals = [5, 8, 30, 2, 12, 40];
    vals.forEach((m, i) => {
      ev.process(row({ missed_events: m, message: `m${m}` }), T0 + i * 10_000);
      ev.tick(T0 + i * 10_000 + 5000);
    });
    expect(out.filter((n) => n.kind === 'fired').map((n) => n.message)).toEqual(['m30', 'm12', 'm40']);
  });

  it('battery kinds read the decoded battery values', () => {
    const rules = [
      rule({ name: 'low', kind: 'battery_level_below', value: 20, filter: {}, group_wait_ms: 0 }),
      rule({ name: 'hot', kind: 'battery_temperature_above', value: 45, filter: {}, group_wait_ms: 0 }),
      rule({ name: 'health', kind: 'battery_health_in', filter: {}, group_wait_ms: 0 }),
    ];
    const { ev, out } = setup(rules);
    ev.process(row({ mac: 'aaaaaaaaaaa1', battery: { level_pct: 19.5, temperature_c: 45 } }), T0);
    ev.process(row({ mac: 'aaaaaaaaaaa2', battery: { level_pct: 20, temperature_c: 45.1 } }), T0);
    ev.process(row({ mac: 'aaaaaaaaaaa3', battery: { health: 2 } }), T0);
    ev.process(row({ mac: 'aaaaaaaaaaa4', battery: { health: 4 } }), T0);
    expect(out.map((n) => `${n.rule.name}:${n.mac}`)).toEqual(['low:aaaaaaaaaaa1', 'hot:aaaaaaaaaaa2', 'health:aaaaaaaaaaa4']);
  });

  it('folds groups beyond MAX_GROUPS_PER_RULE into one overflow group per rule', () => {
    const { ev, out } = setup([rule({ group_wait_ms: 100 })]);
    for (let h = 0; h < MAX_GROUPS_PER_RULE + 50; h++) {
      const mac = h.toString(16).padStart(12, '0');
      ev.process(row({ mac }), T0);
      ev.process(row({ mac }), T0 + 1);
    }
    expect(ev.openGroups()).toBe(MAX_GROUPS_PER_RULE + 1);
    ev.tick(T0 + 100);
    expect(out).toHaveLength(MAX_GROUPS_PER_RULE + 1);
    const overflow = out.filter((n) => n.mac === '*');
    expect(overflow.map((n) => [n.tag, n.count])).toEqual([['*', 100]]);
    // Once groups resolve, new handsets get groups of their own again.
    ev.tick(T0 + 1 + 300_000);
    expect(ev.openGroups()).toBe(0);
    ev.process(row({ mac: 'ffffffffffff' }), T0 + 400_000);
    ev.tick(T0 + 400_100);
    expect(out.at(-1)).toMatchObject({ kind: 'fired', mac: 'ffffffffffff' });
  });


  it('finds a handset\'s groups through its group bits: a bit shared by two rules, table growth, a table started over, rule changes', () => {
    const M = '00907a11baaa';
    // Rules 0 and 32 share a bit; the 31 between match nothing.
    const a = rule({ name: 'a', filter: { tag: 'SipService', max_severity: 3 }, group_wait_ms: 0, cooldown_s: 3600, resolve_after_s: 60 });
    const b = rule({ name: 'b', filter: { tag: 'WifiStateMachine', max_severity: 3 }, group_wait_ms: 0, cooldown_s: 3600, resolve_after_s: 3600 });
    const filler = Array.from({ length: 31 }, (_, i) => rule({ name: `f${i}`, filter: { tag: 'NoSuchTag' } }));
    // A missed_events rule: every row's handset is looked up, so its bits are read.
    const missed = validateRule({ name: 'missed', kind: 'missed_events_jump', value: 5 }, new Date(T0).toISOString());
    const out: AlertNotice[] = [];
    const ev = new Evaluator([a, ...filler, b, missed], (n) => out.push(n), undefined, 1000);
    let t = T0;
    let bHits = 0;
    const hit = (tag: 'SipService' | 'WifiStateMachine') => {
      if (tag === 'WifiStateMachine') bHits++;
      ev.process(row({ mac: M, tag, missed_events: 0 }), t);
    };
    hit('SipService');
    hit('WifiStateMachine');
    expect(ev.openGroups()).toBe(2);
    // a's group resolves; the bit stays for b's.
    t += 30_000;
    hit('WifiStateMachine');
    t += 31_000;
    ev.tick(t);
    expect(out.filter((n) => n.kind === 'resolved').map((n) => n.rule.name)).toEqual(['a']);
    hit('WifiStateMachine');
    expect(ev.openGroups()).toBe(1);
    // 3,000 other handsets: the table (1,000 at most) grows and starts over, twice.
    for (let h = 0; h < 3000; h++) ev.process(row({ mac: `00907a${(0x200000 + h).toString(16)}`, tag: 'Other', missed_events: 0 }), t);
    hit('WifiStateMachine');
    expect(ev.openGroups()).toBe(1);
    // New indices: b is rule 1, a rule 33 (other bits).
    ev.setRules([missed, b, ...filler, a]);
    hit('WifiStateMachine');
    hit('SipService');
    expect(ev.openGroups()).toBe(2);
    ev.flushPending(t);
    const ofB = out.filter((n) => n.rule.name === 'b');
    expect(new Set(ofB.map((n) => n.incident_id)).size).toBe(1);
    expect(ofB.map((n) => n.kind)).toEqual(['fired', 'update']);
    expect(ofB.reduce((s, n) => s + n.count, 0)).toBe(bHits);
  });
  it('the tag index and severity range decide exactly as the full filter does', () => {
    const r = rng(7);
    const t0 = Date.UTC(2026, 0, 5);
    const rows = Array.from({ length: 5000 }, (_, i) => {
      const rec = parseLine(handsetLine(r, 50, t0 + i).line, { receivedAtMs: t0, tz: 'UTC' }) as StoredRecord;
      rec.id = `id${i}`;
      return rec;
    });
    const rules = [
      rule({ name: 'a', filter: { max_severity: 3 } }),
      rule({ name: 'b', filter: { severity: '3,4' } }),
      rule({ name: 'c', filter: { severity: '0,4' } }),
      rule({ name: 'd', filter: { tag: 'SipService|wpa_supplicant', max_severity: 6 } }),
      rule({ name: 'e', filter: { tag: 'wpa_supplicant', q: 'handshake' } }),
      rule({ name: 'f', filter: { tag_contains: 'SERVICE', severity: [6] } }),
      rule({ name: 'g', kind: 'battery_level_below', value: 30, filter: {} }),
      rule({ name: 'h', kind: 'battery_health_in', filter: { tag: 'battery_status' } }),
    ].map((x) => ({ ...x, group_wait_ms: 0, cooldown_s: 1, resolve_after_s: 1 }));
    const { ev, out } = setup(rules);
    for (const row of rows) ev.process(row, T0);
    ev.tick(T0 + 10_000);
    for (const x of rules) {
      const test = compileRule(x);
      const want = rows.filter((row) => test(row, null)).length;
      const got = out.filter((n) => n.rule.id === x.id && n.kind === 'resolved').reduce((s, n) => s + n.total_count, 0);
      expect(got, x.name).toBe(want);
      expect(want, x.name).toBeGreaterThan(0);
    }
  });

  it('candidate lists follow the store semantics: a row without severity, tags by substring, rule changes', () => {
    const anySev = rule({ name: 'any', filter: { tag_contains: 'sipserv' }, group_wait_ms: 0 });
    const withMax = rule({ name: 'max', filter: { tag_contains: 'sipserv', max_severity: 7 }, group_wait_ms: 0 });
    const { ev, out } = setup([anySev, withMax]);
    ev.process(row({ severity: null, tag: 'SipService' }), T0);
    ev.process(row({ severity: 6, tag: 'SipService' }), T0);
    ev.process(row({ severity: 6, tag: 'Other' }), T0);
    expect(out.map((n) => n.rule.name)).toEqual(['any', 'max']);
    // The lists are rebuilt when the rules change: the same tag now meets the new rule.
    ev.setRules([rule({ name: 'other', filter: { tag: 'Other' }, group_wait_ms: 0 })]);
    ev.process(row({ severity: 3, tag: 'Other' }), T0);
    ev.process(row({ severity: 3, tag: 'SipService' }), T0);
    expect(out.map((n) => n.rule.name)).toEqual(['any', 'max', 'other']);
  });

  it('groups kept across a rule change still fire and resolve, on their rule\'s new timings', () => {
    const r = rule({ group_wait_ms: 1000, resolve_after_s: 30 });
    const other = rule({ name: 'other', filter: { tag: 'Other' } });
    const { ev, out } = setup([r]);
    ev.process(row(), T0);
    // Another rule added before it (r keeps its group, its index moves) and r resolving sooner.
    ev.setRules([other, { ...r, resolve_after_s: 10 }]);
    ev.tick(T0 + 999);
    expect(out).toHaveLength(0);
    ev.tick(T0 + 1000);
    expect(out.map((n) => [n.kind, n.rule.id, n.count])).toEqual([['fired', r.id, 1]]);
    ev.tick(T0 + 9999);
    expect(out).toHaveLength(1);
    ev.tick(T0 + 10_000);
    expect(out.map((n) => n.kind)).toEqual(['fired', 'resolved']);
    expect(ev.openGroups()).toBe(0);
  });

  it('drops the groups of a rule that is disabled or removed', () => {
    const r = rule({ group_wait_ms: 1000 });
    const { ev, out } = setup([r]);
    ev.process(row(), T0);
    ev.setRules([{ ...r, enabled: false }]);
    ev.tick(T0 + 5000);
    expect(out).toHaveLength(0);
    expect(ev.openGroups()).toBe(0);
  });
});

describe('silences (decided per notice)', () => {
  function silencedSetup(rules: AlertRule[]) {
    const out: AlertNotice[] = [];
    let until = 0;
    const ev = new Evaluator(rules, (n) => out.push(n), (a, nowMs) => a.mac === '00907a11baaa' && nowMs < until);
    return { ev, out, silenceUntil: (ms: number) => (until = ms) };
  }
  const kinds = (out: AlertNotice[]) => out.map((n) => [n.kind, n.count, n.silenced]);

  it('an incident whose notices were all silenced resolves silently', () => {
    const { ev, out, silenceUntil } = silencedSetup([rule({ group_wait_ms: 0, cooldown_s: 60, resolve_after_s: 30 })]);
    silenceUntil(T0 + 10_000);
    ev.process(row(), T0);
    ev.tick(T0 + 40_000);
    expect(kinds(out)).toEqual([['fired', 1, true], ['resolved', 1, true]]);
  });

  it('when the silence ends, folded matches and the next ones are sent at once as fired, not at the end of the cooldown', () => {
    const { ev, out, silenceUntil } = silencedSetup([rule({ group_wait_ms: 0, cooldown_s: 300, resolve_after_s: 600 })]);
    silenceUntil(T0 + 10_000);
    ev.process(row(), T0);
    ev.process(row(), T0 + 5_000); // folded into the (silenced) incident's cooldown
    ev.tick(T0 + 9_000);
    expect(kinds(out)).toEqual([['fired', 1, true]]);
    ev.liftSilences(T0 + 10_000);
    ev.tick(T0 + 10_000);
    expect(kinds(out)).toEqual([['fired', 1, true], ['fired', 1, false]]);
    // Now notified: the cooldown applies again, then the resolved notice is sent.
    ev.process(row(), T0 + 11_000);
    ev.tick(T0 + 12_000);
    expect(out).toHaveLength(2);
    ev.tick(T0 + 10_000 + 300_000);
    ev.tick(T0 + 11_000 + 600_000);
    expect(kinds(out).slice(2)).toEqual([['update', 1, false], ['resolved', 3, false]]);
  });

  it('a silence lifted with nothing folded lets the next match through on the next tick', () => {
    const { ev, out, silenceUntil } = silencedSetup([rule({ group_wait_ms: 0, cooldown_s: 300, resolve_after_s: 600 })]);
    silenceUntil(T0 + 10_000);
    ev.process(row(), T0);
    ev.liftSilences(T0 + 10_000);
    ev.tick(T0 + 10_000);
    expect(out).toHaveLength(1);
    ev.process(row({ message: 'after' }), T0 + 20_000);
    ev.tick(T0 + 20_100);
    expect(out.slice(1).map((n) => [n.kind, n.count, n.silenced, n.message])).toEqual([['fired', 1, false, 'after']]);
  });

  it('a notified incident silenced later keeps its kinds; its resolved notice is silenced only while a silence holds', () => {
    const { ev, out, silenceUntil } = silencedSetup([rule({ group_wait_ms: 0, cooldown_s: 10, resolve_after_s: 60 })]);
    ev.process(row(), T0);
    silenceUntil(T0 + 20_000);
    ev.process(row(), T0 + 1_000);
    ev.tick(T0 + 10_000);
    ev.tick(T0 + 61_000);
    expect(kinds(out)).toEqual([['fired', 1, false], ['update', 1, true], ['resolved', 2, false]]);
  });
});

describe('HandsetTable', () => {
  const macOf = (i: number) => (0x00907a000000 + i * 7919).toString(16).padStart(12, '0');

  it('keeps each handset\'s state in one place, while it grows', () => {
    const t = new HandsetTable(200_000);
    for (let i = 0; i < 20_000; i++) {
      const p = t.find(macOf(i), true);
      expect(t.missed(p)).toBe(-1);
      t.setMissed(p, i);
    }
    for (let i = 0; i < 20_000; i++) expect(t.missed(t.find(macOf(i), false))).toBe(i);
    expect(t.find('ffffffffffff', false)).toBe(-1);
    t.setMissed(t.find('ffffffffffff', true), 7);
    t.setMissed(t.find('000000000000', true), 8);
    expect(t.missed(t.find('ffffffffffff', true))).toBe(7);
    expect(t.missed(t.find('000000000000', false))).toBe(8);
    expect(t.size).toBe(20_002);
    t.forgetMissed();
    expect(t.missed(t.find(macOf(5), false))).toBe(-1);
  });

  it('keeps MACs that are not 12 lowercase hex digits apart, and starts over when full', () => {
    const t = new HandsetTable(3);
    t.setMissed(t.find('00:90:7a:11:ba:aa', true), 1);
    t.setMissed(t.find('', true), 2);
    t.setMissed(t.find('00907a11baaa', true), 3);
    expect(t.missed(t.find('00:90:7a:11:ba:aa', false))).toBe(1);
    expect(t.missed(t.find('', false))).toBe(2);
    expect(t.missed(t.find('00907a11baaa', false))).toBe(3);
    // The fourth handset empties the full table: the others lose what was kept of them once.
    expect(t.missed(t.find(macOf(3), true))).toBe(-1);
    expect(t.size).toBe(1);
    expect(t.find('00907a11baaa', false)).toBe(-1);
    expect(t.find('', false)).toBe(-1);
    expect(t.missed(t.find('00907a11baaa', true))).toBe(-1);
  });

  it('holds windows by handset and slot, through growth, a change of slots and a sweep', () => {
    const t = new HandsetTable(100_000);
    t.reslot([{ keep: -1, max: 5 }, { keep: -1, max: 5 }]);
    const put = (mac: string, slot: number, ms: number): number => {
      const p = t.find(mac, true);
      const pool = t.pool(slot);
      const o = pool.push(pool.alloc(), ms, randomUUID(), 0);
      t.setRing(t.find(mac, false), slot, o);
      return p;
    };
    put(macOf(1), 1, 1000);
    put(macOf(2), 0, 5000);
    expect(t.held()).toBe(2);
    // Thousands of handsets more: the table grows, the windows stay with their handsets.
    for (let i = 10; i < 9000; i++) t.find(macOf(i), true);
    expect(t.pool(1).newest(t.ring(t.find(macOf(1), false), 1))).toBe(1000);
    expect(t.ring(t.find(macOf(1), false), 0)).toBe(-1);
    // Slot 1 becomes slot 0; old slot 0 is gone; a new slot 1 starts empty.
    const pool1 = t.pool(1);
    t.reslot([{ keep: 1, max: 5 }, { keep: -1, max: 7 }]);
    expect(t.pool(0)).toBe(pool1);
    expect(t.pool(1).max).toBe(7);
    expect(t.pool(0).newest(t.ring(t.find(macOf(1), false), 0))).toBe(1000);
    expect(t.ring(t.find(macOf(2), false), 0)).toBe(-1);
    expect(t.held()).toBe(1);
    put(macOf(3), 1, 5000);
    t.sweep(0, 999);
    expect(t.held()).toBe(2);
    t.sweep(0, 1000);
    expect(t.ring(t.find(macOf(1), false), 0)).toBe(-1);
    expect(t.pool(1).newest(t.ring(t.find(macOf(3), false), 1))).toBe(5000);
    expect(t.held()).toBe(1);
  });
});

describe('WindowPool', () => {
  class Ids {
    ids: string[] = [];
    full(): boolean {
      return this.ids.length >= 1000;
    }
    pushPacked(words: Uint32Array, at: number, odd: string | undefined): void {
      this.ids.push(odd ?? unpackUuid(words, at));
    }
  }

  it('a large window grows its ring within the pool and keeps ids and order; released rings are reused', () => {
    const pool = new WindowPool(100);
    const other = pool.alloc(); // a neighbour the growing window must not disturb
    pool.push(other, 1, 'neighbour', 0);
    let w = pool.alloc();
    const ids = Array.from({ length: 130 }, (_, i) => (i % 9 === 4 ? `odd-${i}` : randomUUID()));
    ids.forEach((id, i) => (w = pool.push(w, 1000 + i, id, 0)));
    // At most 100 kept: the oldest 30 dropped.
    expect(pool.unreported(w)).toBe(100);
    expect(pool.firstUnreportedMs(w)).toBe(1030);
    const got = new Ids();
    pool.report(w, got);
    expect(got.ids).toEqual(ids.slice(30));
    expect(pool.unreported(w)).toBe(0);
    w = pool.push(w, 2000, 'late', 1500); // everything before 1500 leaves the window
    expect(pool.newest(w)).toBe(2000);
    expect(pool.unreported(w)).toBe(0);
    const n = new Ids();
    pool.report(other, n);
    expect(pool.newest(other)).toBe(1);
    expect(pool.held).toBe(2);
    pool.release(w);
    expect(pool.held).toBe(1);
    const again = pool.alloc();
    expect(pool.newest(again)).toBe(0);
  });

  it('packs ids that share a prefix like any other UUID', () => {
    const words = new Uint32Array(4);
    const prefixes = [randomUUID().slice(0, 24), randomUUID().slice(0, 24)];
    for (let i = 0; i < 300; i++) {
      const id = `${prefixes[i % 3 === 0 ? 1 : 0] as string}${(i * 2_654_435_761).toString(16).padStart(12, '0').slice(-12)}`;
      expect(packId(id, words, 0)).toBe(true);
      expect(unpackUuid(words, 0)).toBe(id);
    }
    expect(packId(`${prefixes[0] as string}00000000000G`, words, 0)).toBe(false);
    expect(packId(`${prefixes[0] as string}0000000000000`, words, 0)).toBe(false);
  });
});
