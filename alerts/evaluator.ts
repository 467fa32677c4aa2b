// In-stream rule evaluation with grouping. Pure state machine: rows and clock ticks in, notices out;
// no timers, no I/O (the service drives it), so the semantics are testable with a fake clock.
//
// A group is (rule, handset, tag) for `every` rules, (rule, handset) for per-handset thresholds and
// (rule) for overall thresholds. Its life:
//   first match        → the group opens and collects for `group_wait_ms`
//   group_wait over    → `fired` notice carrying every event collected so far (count)
//   cooldown_s         → further matches are folded; at its end, if any were folded, one `update`
//                        notice with their count (and the cooldown starts again)
//   quiet resolve_after_s after the last match (once fired) → `resolved` notice with the total
// Silences are decided here, once per notice (`silenced` on it): an incident whose notices were all
// silenced was never seen by a receiver, so its resolved notice is silenced too, and when a silence
// ends (liftSilences) its next match is sent at once as `fired` instead of waiting for the cooldown.
// So a handset looping 1,000 Errors inside group_wait yields one notice with count 1,000, then one
// resolved notice.
//
// Storm control: a rule keeps at most MAX_GROUPS_PER_RULE groups open. When a fleet-wide outage
// makes more handsets or tags match at once, the further ones fold into the rule's one overflow
// group (mac and tag '*'), so an outage pages once per rule and cooldown, not once per handset.

import { randomUUID } from 'node:crypto';
import type { StoredRecord } from '../core/record.js';
import { compileFilters, type RowMatcher } from '../query-api/match.js';
import { compileRule, splitFilter, type AlertRule, type RuleTest } from './rules.js';
import { LogIds, packLogIdWords } from './log-ids.js';
import { HandsetTable, packId, unpackUuids, WindowPool, type IdSink } from './windows.js';

export type NoticeKind = 'fired' | 'update' | 'resolved';

export interface AlertNotice {
  kind: NoticeKind;
  /** Shared by the fired, update and resolved notices of one group episode. */
  incident_id: string;
  rule: AlertRule;
  group_key: string;
  /** '' when the group spans handsets (overall threshold); '*' in the overflow group. */
  mac: string;
  /** '' when the group spans tags (threshold rules); '*' in the overflow group. */
  tag: string;
  /** Events this notice reports (resolved: the episode's total). */
  count: number;
  /** Events of the whole episode so far. */
  total_count: number;
  first_ms: number;
  last_ms: number;
  at_ms: number;
  /** Ids of the reported events (at most MAX_LOG_IDS). */
  log_ids: LogIds;
  /** A sample event of this notice. */
  message: string;
  severity: number | null;
  /** A silence matched (decided when the notice was made): stored, sent nowhere. */
  silenced: boolean;
}

/** A fired group as saved at a stop and restored at the next start (pending matches were flushed). */
export interface SavedGroup {
  rule_id: string;
  mac: string;
  tag: string;
  incident_id: string;
  notified: boolean;
  due_ms: number;
  first_ms: number;
  last_ms: number;
  total: number;
  message: string;
  severity: number | null;
}

/** Whether an active silence at `nowMs` matches alerts of (rule, mac, tag). */
export type SilencedFn = (alert: { rule_id: string; mac: string; tag: string }, nowMs: number) => boolean;

/** Log ids kept per notice (the first ones of what it reports). */
export const MAX_LOG_IDS = 100;
/** Open groups of one rule; further matches of new groups fold into its overflow group. */
export const MAX_GROUPS_PER_RULE = 100;
/** Open groups and threshold windows kept at most; beyond, new ones are skipped and counted. */
export const MAX_GROUPS = 50_000;
/** How often threshold windows that went quiet are dropped. */
const WINDOW_SWEEP_MS = 10_000;
/** The mac and tag of a rule's overflow group. */
export const OVERFLOW = '*';
/** Handsets whose state (last missed_events count, threshold windows) is remembered. */
export const MAX_HANDSETS_TRACKED = 200_000;

interface Group {
  mac: string;
  tag: string;
  incidentId: string;
  fired: boolean;
  /** Some notice of this incident was sent (not silenced). */
  notified: boolean;
  /** waiting: the group_wait end; fired: the cooldown end. */
  dueMs: number;
  firstMs: number;
  lastMs: number;
  pending: number;
  /** Ids of the pending events, packed (strings only when a notice is made). */
  pendingIds: IdList;
  pendingFirstMs: number;
  total: number;
  message: string;
  severity: number | null;
  /** Its rule's state (set again when the rules change). */
  st: RuleState;
  /** When its entry in the evaluator's DueGroups is due (Infinity: none; -1: the group is closed). */
  scheduledMs: number;
}

/**
 * Open groups by when they next need a tick: a binary min-heap of (time, group), ties in the order
 * they were scheduled. A group has one live entry (its `scheduledMs`); an entry a group was
 * rescheduled past, or of a closed group, is stale and skipped when it comes up. A tick handles the
 * groups that are due, not every open group (50,000 at most).
 */
class DueGroups {
  private keys: number[] = [];
  private seqs: number[] = [];
  private groups: Group[] = [];
  private seq = 0;

  /** The earliest time (Infinity when empty). */
  first(): number {
    return this.keys.length === 0 ? Infinity : (this.keys[0] as number);
  }

  push(ms: number, g: Group): void {
    let i = this.keys.length;
    this.keys.push(ms);
    this.seqs.push(this.seq++);
    this.groups.push(g);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.before(i, up)) break;
      this.swap(i, up);
      i = up;
    }
  }

  /** Removes the first entry; returns its group (call when first() is finite). */
  pop(): Group {
    const top = this.groups[0] as Group;
    const last = this.keys.length - 1;
    this.swap(0, last);
    this.keys.pop();
    this.seqs.pop();
    this.groups.pop();
    for (let i = 0; ; ) {
      let c = 2 * i + 1;
      if (c >= last) break;
      if (c + 1 < last && this.before(c + 1, c)) c++;
      if (!this.before(c, i)) break;
      this.swap(i, c);
      i = c;
    }
    return top;
  }

  /** Entry `a` comes before entry `b`: earlier, or as early and scheduled first. */
  private before(a: number, b: number): boolean {
    const ka = this.keys[a] as number;
    const kb = this.keys[b] as number;
    return ka < kb || (ka === kb && (this.seqs[a] as number) < (this.seqs[b] as number));
  }

  private swap(a: number, b: number): void {
    const { keys, seqs, groups } = this;
    [keys[a], keys[b]] = [keys[b] as number, keys[a] as number];
    [seqs[a], seqs[b]] = [seqs[b] as number, seqs[a] as number];
    [groups[a], groups[b]] = [groups[b] as Group, groups[a] as Group];
  }

  clear(): void {
    this.keys = [];
    this.seqs = [];
    this.groups = [];
  }
}

/**
 * The ids a notice will carry (at most MAX_LOG_IDS), packed like a window's: a group holds them
 * until its notice, possibly for a whole cooldown, so they are not kept as strings.
 */
class IdList implements IdSink {
  private words: Uint32Array | null = null;
  private odd: (string | undefined)[] | null = null;
  private n = 0;

  full(): boolean {
    return this.n >= MAX_LOG_IDS;
  }

  push(id: string): void {
    if (this.n >= MAX_LOG_IDS) return;
    if (packId(id, this.room(), this.n * 4)) {
      if (this.odd !== null) this.odd[this.n] = undefined;
    } else (this.odd ??= new Array<string | undefined>(MAX_LOG_IDS))[this.n] = id;
    this.n++;
  }

  /** Copies a packed id (or `odd`, an id that is not a UUID) from a window. */
  pushPacked(words: Uint32Array, at: number, odd: string | undefined): void {
    if (this.n >= MAX_LOG_IDS) return;
    const w = this.room();
    if (odd !== undefined) (this.odd ??= new Array<string | undefined>(MAX_LOG_IDS))[this.n] = odd;
    else {
      const to = this.n * 4;
      w[to] = words[at] as number;
      w[to + 1] = words[at + 1] as number;
      w[to + 2] = words[at + 2] as number;
      w[to + 3] = words[at + 3] as number;
      if (this.odd !== null) this.odd[this.n] = undefined;
    }
    this.n++;
  }

  /**
   * The buffer with room for one more id: 8 ids at first, doubled up to MAX_LOG_IDS. Most groups of
   * a storm report a few matches; a buffer of 100 ids each (1.6 KB) was 80 MB at MAX_GROUPS.
   */
  private room(): Uint32Array {
    const w = this.words;
    if (w === null) return (this.words = new Uint32Array(8 * 4));
    if (this.n * 4 < w.length) return w;
    const grown = new Uint32Array(Math.min(w.length * 2, MAX_LOG_IDS * 4));
    grown.set(w);
    return (this.words = grown);
  }

  /** The ids, left in place: packed into one string without a string per id (unless one is odd). */
  peek(): LogIds {
    if (this.n === 0 || this.words === null) return LogIds.EMPTY; // words exist once an id was pushed
    if (this.odd === null || !this.odd.some((x, k) => k < this.n && x !== undefined)) return LogIds.packedAs(packLogIdWords(this.words, 0, this.n));
    const ids = unpackUuids(this.words, 0, this.n);
    for (let k = 0; k < this.n; k++) ids[k] = this.odd[k] ?? (ids[k] as string);
    return LogIds.of(ids);
  }

  /** The ids; the list is empty afterwards (its buffer is kept for the next ones). */
  take(): LogIds {
    const ids = this.peek();
    this.n = 0;
    return ids;
  }
}

/** A rule with its compiled test and its state; groups are keyed mac → tag (no key strings per row). */
interface RuleState {
  rule: AlertRule;
  /**
   * What is left to test once the candidate lists have decided the tag list, tag_contains and the
   * severities (the mac list, the text, the kind's own condition); null when nothing is left.
   */
  test: RuleTest | null;
  /** The tag and severity part of the filter (the store's semantics): decides the candidate lists. */
  admits: RowMatcher;
  /** Whether the kind reads the battery or a missed_events jump. */
  needsBattery: boolean;
  needsMissed: boolean;
  groups: Map<string, Map<string, Group>>;
  open: number;
  /** The rule's overflow group while open (reached without two map lookups per storm row). */
  overflow: Group | null;
  /** Per-handset threshold rules: the slot of this rule's windows in the HandsetTable; -1 otherwise. */
  slot: number;
  /** Overall threshold rules: the pool of their one window, and the window (-1: none now). */
  overall: WindowPool | null;
  ring: number;
  /** The rule's bit in a handset's group bits (its index modulo 32). */
  bit: number;
}

/** Candidate rules of one tag, by severity: index 0–7 the severity, 8 a row without one. */
type Candidates = RuleState[][];

/** Distinct tags whose candidate lists are remembered (a fleet has a few hundred). */
const MAX_TAGS_CACHED = 10_000;
const NO_SEVERITY = 8;

export interface EvaluatorStats {
  groups: number;
  windows: number;
  /** Matches not grouped because MAX_GROUPS was reached. */
  skipped: number;
}

/** When `g` next needs its tick: its group_wait's end, its cooldown's end (matches to report), its resolution. */
function nextDueMs(rule: AlertRule, g: Group): number {
  if (!g.fired) return g.dueMs;
  const resolveMs = g.lastMs + rule.resolve_after_s * 1000;
  return g.pending > 0 ? Math.min(g.dueMs, resolveMs) : resolveMs;
}

export class Evaluator {
  private states: RuleState[] = [];
  /**
   * Per tag, the rules a row of that tag and severity can match at all: a row meets only its
   * candidates, and most rows (Info, Debug) meet none. Built on first sight of each tag.
   */
  private readonly byTag = new Map<string, Candidates>();
  /** Per-handset state: last missed_events, which rules have groups of it, per-handset threshold windows. */
  private readonly handsets: HandsetTable;
  /** A group was opened since process() found its handset's position (which may have moved). */
  private positionsMoved = false;
  private trackMissed = false;
  private totalGroups = 0;
  private overallWindows = 0;
  private skipped = 0;
  private lastSweepMs = 0;
  /** Open groups by when they next need a tick. */
  private readonly due = new DueGroups();

  constructor(
    rules: readonly AlertRule[],
    private readonly emit: (n: AlertNotice) => void,
    private readonly silenced: SilencedFn = () => false,
    /**
     * Handsets remembered (tests set fewer). It must stay above the handsets that can have groups
     * (MAX_GROUPS): a table that starts over takes the open groups' handsets back in at once.
     */
    maxHandsets = MAX_HANDSETS_TRACKED,
  ) {
    this.handsets = new HandsetTable(maxHandsets, () => this.setGroupBits());
    this.setRules(rules);
  }

  /** Replace the rule set. Groups and windows of removed or disabled rules are dropped silently. */
  setRules(rules: readonly AlertRule[]): void {
    const old = new Map(this.states.map((s) => [s.rule.id, s]));
    /** New slot → the old slot whose windows it keeps (-1: starts empty). */
    const keptSlots: { keep: number; max: number }[] = [];
    this.states = rules
      .filter((r) => r.enabled)
      .map((rule, index) => {
        const prev = old.get(rule.id);
        const keepWindows = prev !== undefined && JSON.stringify(prev.rule.condition) === JSON.stringify(rule.condition);
        const f = rule.filter;
        const residual = f.mac.length > 0 || f.q !== '';
        const cond = rule.condition;
        const perHandset = cond.type === 'threshold' && cond.per === 'handset';
        if (perHandset) keptSlots.push({ keep: keepWindows ? prev.slot : -1, max: cond.count });
        return {
          rule,
          test: !residual && rule.kind === 'match' ? null : compileRule(rule, 'tag-and-severity'),
          admits: compileFilters(splitFilter(f).byTagAndSeverity),
          needsBattery: rule.kind.startsWith('battery_'),
          needsMissed: rule.kind === 'missed_events_jump',
          groups: prev?.groups ?? new Map(),
          open: prev?.open ?? 0,
          overflow: prev?.overflow ?? null,
          slot: perHandset ? keptSlots.length - 1 : -1,
          overall: cond.type === 'threshold' && !perHandset ? (keepWindows ? prev.overall : null) ?? new WindowPool(cond.count) : null,
          ring: keepWindows ? prev.ring : -1,
          bit: 1 << (index & 31),
        };
      });
    this.byTag.clear();
    this.totalGroups = this.states.reduce((n, s) => n + s.open, 0);
    this.trackMissed = this.states.some((s) => s.rule.kind === 'missed_events_jump');
    this.overallWindows = this.states.reduce((n, s) => n + (s.ring < 0 ? 0 : 1), 0);
    this.handsets.reslot(keptSlots);
    if (!this.trackMissed) this.handsets.forgetMissed();
    // The rules' indices, so their bits, changed.
    this.handsets.clearGroupBits();
    this.setGroupBits();
    // Kept groups follow their rule's new timings from the next tick.
    this.due.clear();
    this.eachGroup((st, g) => {
      g.st = st;
      g.scheduledMs = Infinity;
      this.schedule(g, 0);
    });
  }

  /** Sets every open group's bit in its handset's group bits (after a change of rules or a table that started over). */
  private setGroupBits(): void {
    for (const st of this.states) for (const mac of st.groups.keys()) if (mac !== '') this.handsets.addGroupBit(mac, st.bit);
  }

  /** Threshold windows held (overall and per handset). */
  private windowCount(): number {
    return this.overallWindows + this.handsets.held();
  }

  private candidates(tag: string): Candidates {
    let c = this.byTag.get(tag);
    if (c !== undefined) return c;
    c = [];
    for (let sev = 0; sev <= NO_SEVERITY; sev++) {
      // The matchers read only these two fields of a row.
      const probe = { tag, severity: sev === NO_SEVERITY ? null : sev } as StoredRecord;
      c.push(this.states.filter((s) => s.admits(probe)));
    }
    // A sender inventing tags must not freeze the cache with its first ones: start over when full.
    if (this.byTag.size >= MAX_TAGS_CACHED) this.byTag.clear();
    this.byTag.set(tag, c);
    return c;
  }

  /** Evaluate one accepted row at `nowMs` (its processing time). */
  process(row: StoredRecord, nowMs: number): void {
    // Each field is read once: rows come in several shapes (with or without battery, event…), and
    // repeated reads in the loop below were a large part of the per-row cost.
    const mac = row.mac ?? '';
    const tag = row.tag ?? '';
    const sev = row.severity;
    const missed = row.missed_events;
    let prevMissed: number | null = null;
    // The handset's position in this.handsets: -2 not looked up yet, -1 not held.
    let hp = -2;
    const handsets = this.handsets;
    if (this.trackMissed && mac !== '' && missed !== null) {
      hp = handsets.find(mac, true);
      const prev = handsets.missed(hp);
      if (prev >= 0) prevMissed = prev;
      handsets.setMissed(hp, missed);
    }
    const list = this.candidates(tag)[sev !== null && sev >= 0 && sev < NO_SEVERITY ? sev : NO_SEVERITY] as RuleState[];
    if (list.length === 0) return;
    const hasBattery = row.battery !== undefined;
    // A jump rule's N is at least 1: a count that did not go up skips those rules without their test
    // (a handset's count rarely moves: this is nearly every row).
    const missedUp = prevMissed !== null && (missed as number) > prevMissed;
    const id = row.id;
    for (let i = 0; i < list.length; i++) {
      const st = list[i] as RuleState;
      if ((st.needsBattery && !hasBattery) || (st.needsMissed && !missedUp)) continue;
      if (st.test !== null && !st.test(row, prevMissed)) continue;
      const cond = st.rule.condition;
      if (cond.type === 'every') {
        const g = this.group(st, mac, tag, hp, row, nowMs);
        if (this.positionsMoved) {
          this.positionsMoved = false;
          hp = -2;
        }
        if (g === null) this.skipped++;
        else {
          g.pendingIds.push(id);
          this.count(st, g, 1, row, nowMs);
        }
        continue;
      }
      const perHandset = st.slot >= 0;
      const wmac = perHandset ? mac : '';
      if (perHandset && hp === -2) hp = handsets.find(mac, false);
      let w = perHandset ? (hp < 0 ? -1 : handsets.ring(hp, st.slot)) : st.ring;
      let fresh = false;
      if (w < 0) {
        if (this.windowCount() >= MAX_GROUPS) {
          this.skipped++;
          continue;
        }
        // The handset first (a full table starts over, pools included), then its window.
        if (perHandset && hp < 0) hp = handsets.find(mac, true);
        fresh = true;
      }
      const pool = perHandset ? handsets.pool(st.slot) : (st.overall as WindowPool);
      if (fresh) {
        w = pool.alloc();
        if (!perHandset) this.overallWindows++;
      }
      // A window that outgrows its ring moves within its pool.
      const at = pool.push(w, nowMs, id, nowMs - cond.window_s * 1000);
      if (fresh || at !== w) {
        if (perHandset) handsets.setRing(hp, st.slot, at);
        else st.ring = at;
        w = at;
      }
      // Crossing the threshold reports the whole window; while it stays crossed, each match adds one.
      const n = pool.unreported(w);
      if (n === 0) continue;
      // The notice spans the matches it counts: from the first of them in the window, not the one
      // that crossed the threshold.
      const firstMs = pool.firstUnreportedMs(w);
      const g = this.group(st, wmac, '', hp, row, nowMs, firstMs);
      if (this.positionsMoved) {
        this.positionsMoved = false;
        hp = -2;
      }
      pool.report(w, g === null ? null : g.pendingIds);
      if (g === null) this.skipped += n;
      else this.count(st, g, n, row, nowMs, firstMs);
    }
  }

  /**
   * The open group of (rule, mac, tag), its overflow group, or a new one; null when MAX_GROUPS is
   * reached. `hp`: the handset's position in this.handsets (-1: not held, so without groups; -2: not
   * looked up): a handset whose group bits lack the rule's has no group of it, and in a storm most
   * matches are of such handsets (they go to the overflow group) — the rule's maps are not read.
   */
  private group(st: RuleState, mac: string, tag: string, hp: number, row: StoredRecord, nowMs: number, firstMs = nowMs): Group | null {
    if (hp === -2 || mac === '' || (hp >= 0 && (this.handsets.groupBits(hp) & st.bit) !== 0)) {
      const g = st.groups.get(mac)?.get(tag);
      if (g !== undefined) return g;
    }
    if (st.open >= MAX_GROUPS_PER_RULE) {
      if (st.overflow !== null) return st.overflow;
      mac = OVERFLOW;
      tag = OVERFLOW;
    }
    if (this.totalGroups >= MAX_GROUPS) return null;
    return this.open(st, {
      mac,
      tag,
      incidentId: randomUUID(),
      fired: false,
      notified: false,
      dueMs: nowMs + st.rule.group_wait_ms,
      firstMs,
      lastMs: nowMs,
      total: 0,
      message: row.message,
      severity: row.severity,
    });
  }

  /** Adds a group (nothing pending yet) to its rule's open groups. */
  private open(st: RuleState, fields: Omit<Group, 'pending' | 'pendingIds' | 'pendingFirstMs' | 'st' | 'scheduledMs'>): Group {
    const g: Group = { ...fields, pending: 0, pendingIds: new IdList(), pendingFirstMs: fields.firstMs, st, scheduledMs: Infinity };
    let byTag = st.groups.get(g.mac);
    if (byTag === undefined) st.groups.set(g.mac, (byTag = new Map()));
    byTag.set(g.tag, g);
    if (g.mac === OVERFLOW && g.tag === OVERFLOW) st.overflow = g;
    if (g.mac !== '') {
      // May move handsets in the table (growth).
      this.handsets.addGroupBit(g.mac, st.bit);
      this.positionsMoved = true;
    }
    st.open++;
    this.totalGroups++;
    this.schedule(g, nextDueMs(st.rule, g));
    return g;
  }

  /** `g` needs a tick at `ms` (no new entry when its live one comes earlier). */
  private schedule(g: Group, ms: number): void {
    if (ms >= g.scheduledMs || g.scheduledMs < 0) return;
    g.scheduledMs = ms;
    this.due.push(ms, g);
  }

  /** Calls `fn` for every open group (`fn` may close the group it is given). */
  private eachGroup(fn: (st: RuleState, g: Group) => void): void {
    for (const st of this.states) {
      if (st.open === 0) continue;
      for (const byTag of st.groups.values()) for (const g of byTag.values()) fn(st, g);
    }
  }

  /** Folds `n` events, the newest `row` (their ids already added; the oldest at `firstMs`), into the group. */
  private count(st: RuleState, g: Group, n: number, row: StoredRecord, nowMs: number, firstMs = nowMs): void {
    if (g.pending === 0) {
      // The notice's sample is the first event it reports.
      g.pendingFirstMs = firstMs;
      g.message = row.message;
      g.severity = row.severity;
    }
    g.pending += n;
    g.total += n;
    // Rows of one chunk share their time: most matches leave lastMs as it is (a write of a time
    // that is not a small integer can cost V8 a number object).
    if (nowMs > g.lastMs) g.lastMs = nowMs;
    if (firstMs < g.firstMs) g.firstMs = firstMs;
    if (!g.fired && st.rule.group_wait_ms === 0) this.tickGroup(st, g, nowMs);
    // A fired group with matches to report sends them at its cooldown's end.
    else if (g.fired && g.dueMs < g.scheduledMs) this.schedule(g, g.dueMs);
  }

  /** Send what is due at `nowMs`: group_wait ends, cooldown ends, resolutions. */
  tick(nowMs: number): void {
    if (nowMs - this.lastSweepMs >= WINDOW_SWEEP_MS) this.sweepWindows(nowMs);
    const due = this.due;
    for (let ms = due.first(); ms <= nowMs; ms = due.first()) {
      const g = due.pop();
      if (ms !== g.scheduledMs) continue; // stale
      g.scheduledMs = Infinity;
      // Not before the next tick: this loop ends whatever a group's times are.
      if (!this.tickGroup(g.st, g, nowMs)) this.schedule(g, Math.max(nextDueMs(g.st.rule, g), nowMs + 1));
    }
  }

  /**
   * Reports every match not reported yet (a shutdown: the matches were accepted and must not be lost
   * with the process): groups still collecting for their group_wait fire, fired groups with matches
   * folded into their cooldown send their update. Groups stay open as they are.
   */
  flushPending(nowMs: number): void {
    this.eachGroup((st, g) => {
      if (g.fired && g.pending === 0) return;
      this.flush(g, st.rule, g.fired ? 'update' : 'fired', nowMs);
      g.fired = true;
      g.dueMs = nowMs + st.rule.cooldown_s * 1000;
    });
  }

  /**
   * A silence ended or changed: incidents whose every notice was silenced no longer wait for their
   * cooldown — what they folded (or their next match) is sent on the next tick, as `fired`.
   */
  liftSilences(nowMs: number): void {
    this.eachGroup((_st, g) => {
      if (g.fired && !g.notified && g.dueMs > nowMs) {
        g.dueMs = nowMs;
        this.schedule(g, nowMs);
      }
    });
  }

  /** Windows whose newest match is older than the window hold nothing that can still count. */
  private sweepWindows(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const st of this.states) {
      const cond = st.rule.condition;
      if (cond.type !== 'threshold') continue;
      const since = nowMs - cond.window_s * 1000;
      if (st.slot >= 0) this.handsets.sweep(st.slot, since);
      else if (st.overall !== null && st.ring >= 0 && st.overall.newest(st.ring) <= since) {
        st.overall.release(st.ring);
        st.ring = -1;
        this.overallWindows--;
      }
    }
  }

  /** Sends what is due of one group; true when the group resolved (and is closed). */
  private tickGroup(st: RuleState, g: Group, nowMs: number): boolean {
    const rule = st.rule;
    if (!g.fired) {
      if (nowMs < g.dueMs) return false;
      g.fired = true;
      this.flush(g, rule, 'fired', nowMs);
      g.dueMs = nowMs + rule.cooldown_s * 1000;
      return false;
    }
    if (nowMs >= g.dueMs && g.pending > 0) {
      this.flush(g, rule, 'update', nowMs);
      g.dueMs = nowMs + rule.cooldown_s * 1000;
    }
    if (nowMs - g.lastMs >= rule.resolve_after_s * 1000) {
      // Events folded since the last notice are part of the total the resolved notice reports. An
      // incident no receiver heard of (every notice silenced) is not resolved to them either.
      const n = this.notice(g, rule, 'resolved', g.total, g.pendingIds.peek(), g.firstMs, nowMs);
      n.silenced = !g.notified || n.silenced;
      this.emit(n);
      const byTag = st.groups.get(g.mac);
      byTag?.delete(g.tag);
      if (byTag?.size === 0) {
        st.groups.delete(g.mac);
        // The bit stays while another rule sharing it has a group of the handset.
        if (g.mac !== '' && !this.states.some((s) => s.bit === st.bit && s.groups.has(g.mac))) this.handsets.removeGroupBit(g.mac, st.bit);
      }
      if (st.overflow === g) st.overflow = null;
      st.open--;
      this.totalGroups--;
      g.scheduledMs = -1;
      return true;
    }
    return false;
  }

  private flush(g: Group, rule: AlertRule, kind: NoticeKind, nowMs: number): void {
    // The first notice receivers get of an incident says it fired, even when silenced ones came before.
    const n = this.notice(g, rule, g.notified ? kind : 'fired', g.pending, g.pendingIds.take(), g.pendingFirstMs, nowMs);
    if (!n.silenced) g.notified = true;
    g.pending = 0;
    this.emit(n);
  }

  private notice(g: Group, rule: AlertRule, kind: NoticeKind, count: number, ids: LogIds, firstMs: number, nowMs: number): AlertNotice {
    return {
      kind,
      incident_id: g.incidentId,
      rule,
      group_key: `${rule.id}|${g.mac}|${g.tag}`,
      mac: g.mac,
      tag: g.tag,
      count,
      total_count: g.total,
      first_ms: firstMs,
      last_ms: g.lastMs,
      at_ms: nowMs,
      log_ids: ids,
      message: g.message,
      severity: g.severity,
      silenced: this.silenced({ rule_id: rule.id, mac: g.mac, tag: g.tag }, nowMs),
    };
  }

  /** The fired groups, for a restart (call after flushPending: nothing pending is kept). */
  saveGroups(): SavedGroup[] {
    const out: SavedGroup[] = [];
    this.eachGroup((st, g) => {
      if (!g.fired) return;
      out.push({
        rule_id: st.rule.id, mac: g.mac, tag: g.tag, incident_id: g.incidentId, notified: g.notified, due_ms: g.dueMs,
        first_ms: g.firstMs, last_ms: g.lastMs, total: g.total, message: g.message, severity: g.severity,
      });
    });
    return out;
  }

  /**
   * Takes back groups saved at the last stop: they resolve when quiet long enough (counted from
   * their last match, so a long downtime resolves them on the first tick). Groups of rules no longer
   * enabled, malformed entries and groups already open are skipped; returns how many were restored.
   */
  restoreGroups(saved: readonly unknown[]): number {
    let n = 0;
    for (const x of saved) {
      const s = x as Partial<SavedGroup> | null;
      if (s === null || typeof s !== 'object' || typeof s.rule_id !== 'string' || typeof s.mac !== 'string' || typeof s.tag !== 'string') continue;
      if (typeof s.incident_id !== 'string' || typeof s.last_ms !== 'number' || typeof s.total !== 'number') continue;
      const st = this.states.find((t) => t.rule.id === s.rule_id);
      if (st === undefined || st.groups.get(s.mac)?.has(s.tag) === true || this.totalGroups >= MAX_GROUPS) continue;
      this.open(st, {
        mac: s.mac,
        tag: s.tag,
        incidentId: s.incident_id,
        fired: true,
        notified: s.notified === true,
        dueMs: typeof s.due_ms === 'number' ? s.due_ms : s.last_ms,
        firstMs: typeof s.first_ms === 'number' ? s.first_ms : s.last_ms,
        lastMs: s.last_ms,
        total: s.total,
        message: typeof s.message === 'string' ? s.message : '',
        severity: typeof s.severity === 'number' ? s.severity : null,
      });
      n++;
    }
    return n;
  }

  /** Groups open now (fired or collecting). */
  openGroups(): number {
    return this.totalGroups;
  }

  /**
   * When a group next needs a tick (Infinity: none open). May be earlier than needed (an entry of a
   * group rescheduled since): a tick then does nothing.
   */
  nextDueMs(): number {
    return this.due.first();
  }

  stats(): EvaluatorStats {
    return { groups: this.totalGroups, windows: this.windowCount(), skipped: this.skipped };
  }
}
