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
  log_ids: string[];
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
}

/**
 * Match times and ids of a threshold window, oldest first: a ring of at most `count` matches (it
 * grows by doubling up to that). Ids are kept as 16 bytes in a typed array, not as strings: at
 * fleet scale thousands of per-handset windows each hold up to `count` ids for up to a minute, and
 * strings kept that long are promoted and then collected by full garbage collections, which cost
 * more than the evaluation itself (measured with 20 bench rules: 0.5 µs per row less in the
 * event loop, 0.9 µs less in all threads). An id that is not a lowercase UUID is kept as a string
 * beside the ring.
 */
const WINDOW_FULL_SIZE = 64;

export class Window {
  private cap: number;
  private times: Float64Array;
  private words: Uint32Array;
  private odd: (string | undefined)[] | null = null;
  /** Ring index of the oldest match, matches held, matches ever pushed, matches already reported. */
  private start = 0;
  private len = 0;
  private pushed = 0;
  private reported = 0;

  constructor(private readonly max: number) {
    // Windows of up to WINDOW_FULL_SIZE matches get their full size at once, in one buffer: the
    // buffers, not the evaluation, were most of the garbage collector's work with a per-handset
    // threshold rule over thousands of handsets.
    this.cap = max <= WINDOW_FULL_SIZE ? Math.max(max, 1) : 8;
    const buf = new ArrayBuffer(this.cap * 24);
    this.times = new Float64Array(buf, 0, this.cap);
    this.words = new Uint32Array(buf, this.cap * 8, this.cap * 4);
  }

  /** The newest match's time (0 when empty). */
  newest(): number {
    return this.len === 0 ? 0 : (this.times[(this.start + this.len - 1) % this.cap] as number);
  }

  /** Adds a match at `ms` and drops what fell out of the window (older than `sinceMs`, or beyond `max`). */
  push(ms: number, id: string, sinceMs: number): void {
    if (this.len >= this.max) this.dropOldest();
    if (this.len === this.cap) this.grow();
    const i = (this.start + this.len) % this.cap;
    this.times[i] = ms;
    if (!packUuid(id, this.words, i * 4)) {
      this.odd ??= new Array<string | undefined>(this.cap);
      this.odd[i] = id;
    } else if (this.odd !== null) this.odd[i] = undefined;
    this.len++;
    this.pushed++;
    while (this.len > 0 && (this.times[this.start] as number) <= sinceMs) this.dropOldest();
  }

  /**
   * When the window holds `max` matches: how many were not reported yet (0 when it holds fewer).
   * `report` then marks them reported and copies their ids into `into` while it has room.
   */
  unreported(): number {
    if (this.len < this.max) return 0;
    return this.pushed - Math.max(this.pushed - this.len, this.reported);
  }

  /** Time of the oldest match `unreported` counts (call before `report`; 0 when none). */
  firstUnreportedMs(): number {
    const n = this.unreported();
    return n === 0 ? 0 : (this.times[(this.start + this.len - n) % this.cap] as number);
  }

  report(into: IdList | null): void {
    const n = this.unreported();
    this.reported = this.pushed;
    if (into === null) return;
    for (let k = this.len - n; k < this.len && !into.full(); k++) {
      const i = (this.start + k) % this.cap;
      into.pushPacked(this.words, i * 4, this.odd?.[i]);
    }
  }

  private dropOldest(): void {
    if (this.odd !== null) this.odd[this.start] = undefined;
    this.start = (this.start + 1) % this.cap;
    this.len--;
  }

  private grow(): void {
    const cap = Math.min(this.cap * 2, Math.max(this.max, 8));
    const buf = new ArrayBuffer(cap * 24);
    const times = new Float64Array(buf, 0, cap);
    const words = new Uint32Array(buf, cap * 8, cap * 4);
    const odd = this.odd === null ? null : new Array<string | undefined>(cap);
    for (let k = 0; k < this.len; k++) {
      const i = (this.start + k) % this.cap;
      times[k] = this.times[i] as number;
      words.set(this.words.subarray(i * 4, i * 4 + 4), k * 4);
      if (odd !== null && this.odd !== null) odd[k] = this.odd[i];
    }
    this.cap = cap;
    this.times = times;
    this.words = words;
    this.odd = odd;
    this.start = 0;
  }
}

/**
 * The ids a notice will carry (at most MAX_LOG_IDS), packed like a Window's: a group holds them
 * until its notice, possibly for a whole cooldown, so they are not kept as strings.
 */
class IdList {
  private words: Uint32Array | null = null;
  private odd: (string | undefined)[] | null = null;
  private n = 0;

  full(): boolean {
    return this.n >= MAX_LOG_IDS;
  }

  push(id: string): void {
    if (this.n >= MAX_LOG_IDS) return;
    this.words ??= new Uint32Array(MAX_LOG_IDS * 4);
    if (packUuid(id, this.words, this.n * 4)) {
      if (this.odd !== null) this.odd[this.n] = undefined;
    } else (this.odd ??= new Array<string | undefined>(MAX_LOG_IDS))[this.n] = id;
    this.n++;
  }

  /** Copies a packed id (or `odd`, an id that is not a UUID) from a Window. */
  pushPacked(words: Uint32Array, at: number, odd: string | undefined): void {
    if (this.n >= MAX_LOG_IDS) return;
    this.words ??= new Uint32Array(MAX_LOG_IDS * 4);
    if (odd !== undefined) (this.odd ??= new Array<string | undefined>(MAX_LOG_IDS))[this.n] = odd;
    else {
      this.words.set(words.subarray(at, at + 4), this.n * 4);
      if (this.odd !== null) this.odd[this.n] = undefined;
    }
    this.n++;
  }

  /** The ids as strings, left in place. */
  peek(): string[] {
    const ids: string[] = [];
    for (let k = 0; k < this.n; k++) ids.push(this.odd?.[k] ?? unpackUuid(this.words as Uint32Array, k * 4));
    return ids;
  }

  /** The ids as strings; the list is empty afterwards (its buffer is kept for the next ones). */
  take(): string[] {
    const ids = this.peek();
    this.n = 0;
    return ids;
  }
}

const HEX = '0123456789abcdef';

/** Lowercase 8-4-4-4-12 UUID → four 32-bit words at `at`; false (nothing written) for anything else. */
export function packUuid(id: string, out: Uint32Array, at: number): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let nibbles = 0;
  let w = at;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
      continue;
    }
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++nibbles === 8) {
      out[w++] = word >>> 0;
      word = 0;
      nibbles = 0;
    }
  }
  return true;
}

export function unpackUuid(words: Uint32Array, at: number): string {
  let hex = '';
  for (let k = 0; k < 4; k++) {
    const v = words[at + k] as number;
    for (let s = 28; s >= 0; s -= 4) hex += HEX[(v >>> s) & 15];
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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
  /** Overall threshold rules: the one window. */
  overall: Window | null;
}

/** Candidate rules of one tag, by severity: index 0–7 the severity, 8 a row without one. */
type Candidates = RuleState[][];

/** Distinct tags whose candidate lists are remembered (a fleet has a few hundred). */
const MAX_TAGS_CACHED = 10_000;
const NO_SEVERITY = 8;

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[97 + c] = 10 + c;

/** 24 bits from 6 lowercase hex digits of `s` at `at`; -1 when one is not. */
function hex24(s: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 6; i++) {
    const c = s.charCodeAt(i);
    const d = c < 128 ? (HEX_VALUE[c] as number) : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Hash of a MAC's two 24-bit halves for the HandsetTable's slots. */
function macHash(hi: number, lo: number): number {
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0;
}

const TABLE_MIN_SLOTS = 1 << 13;

/**
 * What the evaluator keeps per handset: the last cumulative missed_events (read and replaced for
 * every row that carries one while a missed_events_jump rule is on: on the handset's network format,
 * every row) and the windows of per-handset threshold rules. A `Map` by MAC string cost ~450 ns per
 * row in the service, its buckets, key strings and entries scattered over the heap missing the CPU
 * caches next to the engine's threads. Here a MAC's 48 bits are the key of an open-addressing table
 * of [key, index] pairs in one Float64Array, and a handset's state sits at its index in flat arrays:
 * a lookup reads one cache line of the table. MACs that are not 12 lowercase hex digits (the parsers
 * normalise every MAC to that; '' for rows without one) go through a Map to the same indexes.
 * A fleet larger than `max` handsets starts the table over (each handset loses one comparison and
 * its windows once).
 */
export class HandsetTable {
  private table = new Float64Array(TABLE_MIN_SLOTS * 2);
  private mask = TABLE_MIN_SLOTS - 1;
  private inTable = 0;
  private readonly other = new Map<string, number>();
  /** Handsets held: indexes 0 … size - 1. */
  size = 0;
  /** Last missed_events by index; -1 when none was seen. */
  missed = new Float64Array(1024).fill(-1);
  /** Per-handset threshold windows at index * stride + slot. */
  private windows: (Window | undefined)[] = [];
  private stride = 0;
  /** Windows held. */
  held = 0;

  constructor(private readonly max: number) {}

  /** The index of `mac`; when it is not held, -1, or (`create`) a new index. */
  index(mac: string, create: boolean): number {
    const hi = mac.length === 12 ? hex24(mac, 0) : -1;
    const lo = hi < 0 ? -1 : hex24(mac, 6);
    if (lo < 0) {
      const n = this.other.get(mac);
      if (n !== undefined || !create) return n ?? -1;
      if (this.size >= this.max) this.clear();
      const m = this.add();
      this.other.set(mac, m);
      return m;
    }
    const key = hi * 16_777_216 + lo + 1; // 0 marks an empty slot
    let i = macHash(hi, lo) & this.mask;
    for (;;) {
      const k = this.table[i * 2] as number;
      if (k === key) return this.table[i * 2 + 1] as number;
      if (k === 0) break;
      i = (i + 1) & this.mask;
    }
    if (!create) return -1;
    if (this.size >= this.max) {
      this.clear();
      return this.index(mac, true);
    }
    const m = this.add();
    this.table[i * 2] = key;
    this.table[i * 2 + 1] = m;
    if (++this.inTable * 2 > this.mask + 1) this.grow();
    return m;
  }

  window(index: number, slot: number): Window | undefined {
    return this.windows[index * this.stride + slot];
  }

  setWindow(index: number, slot: number, w: Window | undefined): void {
    const at = index * this.stride + slot;
    this.held += (w === undefined ? 0 : 1) - (this.windows[at] === undefined ? 0 : 1);
    this.windows[at] = w;
  }

  /** Per-handset threshold rules now have `slots.length` slots; new slot k keeps old slot slots[k] (-1: none). */
  reslot(slots: number[]): void {
    const was = this.windows;
    const wasStride = this.stride;
    this.stride = slots.length;
    this.windows = new Array<Window | undefined>(this.size * this.stride);
    this.held = 0;
    for (let n = 0; n < this.size; n++) {
      for (let k = 0; k < slots.length; k++) {
        const old = slots[k] as number;
        const w = old < 0 ? undefined : was[n * wasStride + old];
        this.windows[n * this.stride + k] = w;
        if (w !== undefined) this.held++;
      }
    }
  }

  /** Drops the windows of `slot` whose newest match is at or before `sinceMs`. */
  sweep(slot: number, sinceMs: number): void {
    if (this.held === 0) return;
    for (let at = slot; at < this.windows.length; at += this.stride) {
      const w = this.windows[at];
      if (w === undefined || w.newest() > sinceMs) continue;
      this.windows[at] = undefined;
      this.held--;
    }
  }

  forgetMissed(): void {
    this.missed.fill(-1);
  }

  clear(): void {
    this.table = new Float64Array(TABLE_MIN_SLOTS * 2);
    this.mask = TABLE_MIN_SLOTS - 1;
    this.inTable = 0;
    this.other.clear();
    this.size = 0;
    this.missed = new Float64Array(1024).fill(-1);
    this.windows = [];
    this.held = 0;
  }

  private add(): number {
    const n = this.size++;
    if (n >= this.missed.length) {
      const grown = new Float64Array(this.missed.length * 2).fill(-1);
      grown.set(this.missed);
      this.missed = grown;
    }
    for (let k = 0; k < this.stride; k++) this.windows.push(undefined);
    return n;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2);
    this.mask = old.length - 1;
    for (let j = 0; j < old.length; j += 2) {
      const key = old[j] as number;
      if (key === 0) continue;
      const lo = (key - 1) % 16_777_216;
      const hi = (key - 1 - lo) / 16_777_216;
      let i = macHash(hi, lo) & this.mask;
      while (this.table[i * 2] !== 0) i = (i + 1) & this.mask;
      this.table[i * 2] = key;
      this.table[i * 2 + 1] = old[j + 1] as number;
    }
  }
}

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
  /** Per-handset state: last missed_events, per-handset threshold windows. */
  private readonly handsets = new HandsetTable(MAX_HANDSETS_TRACKED);
  private trackMissed = false;
  private totalGroups = 0;
  private overallWindows = 0;
  private skipped = 0;
  private lastSweepMs = 0;
  /**
   * No open group needs a tick before this time (a lower bound): ticks before it skip the walk over
   * every group. Lowered when a group opens, when a fired group gets matches to report, and when
   * rules or silences change; recomputed by each walk.
   */
  private nextTickMs = 0;

  constructor(
    rules: readonly AlertRule[],
    private readonly emit: (n: AlertNotice) => void,
    private readonly silenced: SilencedFn = () => false,
  ) {
    this.setRules(rules);
  }

  /** Replace the rule set. Groups and windows of removed or disabled rules are dropped silently. */
  setRules(rules: readonly AlertRule[]): void {
    const old = new Map(this.states.map((s) => [s.rule.id, s]));
    /** New slot → the old slot whose windows it keeps (-1: starts empty). */
    const keptSlots: number[] = [];
    this.states = rules
      .filter((r) => r.enabled)
      .map((rule) => {
        const prev = old.get(rule.id);
        const keepWindows = prev !== undefined && JSON.stringify(prev.rule.condition) === JSON.stringify(rule.condition);
        const f = rule.filter;
        const residual = f.mac.length > 0 || f.q !== '';
        const cond = rule.condition;
        const perHandset = cond.type === 'threshold' && cond.per === 'handset';
        if (perHandset) keptSlots.push(keepWindows ? prev.slot : -1);
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
          overall: keepWindows ? prev.overall : null,
        };
      });
    this.byTag.clear();
    this.totalGroups = this.states.reduce((n, s) => n + s.open, 0);
    this.trackMissed = this.states.some((s) => s.rule.kind === 'missed_events_jump');
    this.overallWindows = this.states.reduce((n, s) => n + (s.overall === null ? 0 : 1), 0);
    this.handsets.reslot(keptSlots);
    if (!this.trackMissed) this.handsets.forgetMissed();
    // Kept groups follow their rule's new timings from the next tick.
    this.nextTickMs = 0;
  }

  /** Threshold windows held (overall and per handset). */
  private windowCount(): number {
    return this.overallWindows + this.handsets.held;
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
    // The handset's index in this.handsets: -2 not looked up yet, -1 not held.
    let hi = -2;
    if (this.trackMissed && mac !== '' && missed !== null) {
      hi = this.handsets.index(mac, true);
      const prev = this.handsets.missed[hi] as number;
      if (prev >= 0) prevMissed = prev;
      this.handsets.missed[hi] = missed;
    }
    const list = this.candidates(tag)[sev !== null && sev >= 0 && sev < NO_SEVERITY ? sev : NO_SEVERITY] as RuleState[];
    if (list.length === 0) return;
    const hasBattery = row.battery !== undefined;
    const id = row.id;
    for (let i = 0; i < list.length; i++) {
      const st = list[i] as RuleState;
      if ((st.needsBattery && !hasBattery) || (st.needsMissed && prevMissed === null)) continue;
      if (st.test !== null && !st.test(row, prevMissed)) continue;
      const cond = st.rule.condition;
      if (cond.type === 'every') {
        const g = this.group(st, mac, tag, row, nowMs);
        if (g === null) this.skipped++;
        else {
          g.pendingIds.push(id);
          this.count(st, g, 1, row, nowMs);
        }
        continue;
      }
      const perHandset = st.slot >= 0;
      const wmac = perHandset ? mac : '';
      if (perHandset && hi === -2) hi = this.handsets.index(mac, false);
      let w = perHandset ? (hi < 0 ? undefined : this.handsets.window(hi, st.slot)) : st.overall ?? undefined;
      if (w === undefined) {
        if (this.windowCount() >= MAX_GROUPS) {
          this.skipped++;
          continue;
        }
        w = new Window(cond.count);
        if (perHandset) {
          if (hi < 0) hi = this.handsets.index(mac, true);
          this.handsets.setWindow(hi, st.slot, w);
        } else {
          st.overall = w;
          this.overallWindows++;
        }
      }
      w.push(nowMs, id, nowMs - cond.window_s * 1000);
      // Crossing the threshold reports the whole window; while it stays crossed, each match adds one.
      const n = w.unreported();
      if (n === 0) continue;
      // The notice spans the matches it counts: from the first of them in the window, not the one
      // that crossed the threshold.
      const firstMs = w.firstUnreportedMs();
      const g = this.group(st, wmac, '', row, nowMs, firstMs);
      w.report(g === null ? null : g.pendingIds);
      if (g === null) this.skipped += n;
      else this.count(st, g, n, row, nowMs, firstMs);
    }
  }

  /** The open group of (rule, mac, tag), its overflow group, or a new one; null when MAX_GROUPS is reached. */
  private group(st: RuleState, mac: string, tag: string, row: StoredRecord, nowMs: number, firstMs = nowMs): Group | null {
    const g = st.groups.get(mac)?.get(tag);
    if (g !== undefined) return g;
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
  private open(st: RuleState, fields: Omit<Group, 'pending' | 'pendingIds' | 'pendingFirstMs'>): Group {
    const g: Group = { ...fields, pending: 0, pendingIds: new IdList(), pendingFirstMs: fields.firstMs };
    let byTag = st.groups.get(g.mac);
    if (byTag === undefined) st.groups.set(g.mac, (byTag = new Map()));
    byTag.set(g.tag, g);
    if (g.mac === OVERFLOW && g.tag === OVERFLOW) st.overflow = g;
    st.open++;
    this.totalGroups++;
    this.nextTickMs = Math.min(this.nextTickMs, nextDueMs(st.rule, g));
    return g;
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
    g.lastMs = Math.max(g.lastMs, nowMs);
    if (firstMs < g.firstMs) g.firstMs = firstMs;
    if (!g.fired && st.rule.group_wait_ms === 0) this.tickGroup(st, g, nowMs);
    // A fired group with matches to report sends them at its cooldown's end.
    else if (g.fired && g.dueMs < this.nextTickMs) this.nextTickMs = g.dueMs;
  }

  /** Send what is due at `nowMs`: group_wait ends, cooldown ends, resolutions. */
  tick(nowMs: number): void {
    if (nowMs - this.lastSweepMs >= WINDOW_SWEEP_MS) this.sweepWindows(nowMs);
    if (nowMs < this.nextTickMs) return;
    let next = Infinity;
    this.eachGroup((st, g) => {
      if (!this.tickGroup(st, g, nowMs)) next = Math.min(next, nextDueMs(st.rule, g));
    });
    this.nextTickMs = next;
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
      if (g.fired && !g.notified && g.dueMs > nowMs) g.dueMs = nowMs;
    });
    this.nextTickMs = 0;
  }

  /** Windows whose newest match is older than the window hold nothing that can still count. */
  private sweepWindows(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const st of this.states) {
      const cond = st.rule.condition;
      if (cond.type !== 'threshold') continue;
      const since = nowMs - cond.window_s * 1000;
      if (st.slot >= 0) this.handsets.sweep(st.slot, since);
      else if (st.overall !== null && st.overall.newest() <= since) {
        st.overall = null;
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
      if (byTag?.size === 0) st.groups.delete(g.mac);
      if (st.overflow === g) st.overflow = null;
      st.open--;
      this.totalGroups--;
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

  private notice(g: Group, rule: AlertRule, kind: NoticeKind, count: number, ids: string[], firstMs: number, nowMs: number): AlertNotice {
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

  stats(): EvaluatorStats {
    return { groups: this.totalGroups, windows: this.windowCount(), skipped: this.skipped };
  }
}
