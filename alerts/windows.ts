// The evaluator's per-handset state and its threshold windows, in flat typed arrays.
//
// Why flat: in the service the evaluator's cost is memory, not arithmetic. The ingest bench's 5,000
// handsets each have a window of the "warnings burst per handset" rule, which a third of the rows
// meet, and the handset format's rows all carry missed_events, read and replaced per handset. With a
// window as an object (the object, its typed arrays, their backing stores, the array of windows by
// handset index, the missed_events array by index) a matching row touched 8 – 9 cache lines spread
// over the heap, each a miss next to the engine's threads; the evaluator micro-benchmark with the
// service's cache pressure emulated ran 2.5 µs per row against 0.8 without it. Here a handset is one
// slot of an open-addressing table that holds its key, its last missed_events and where its windows
// are, and a window is one ring of a pool whose header and matches sit side by side: a row reads one
// slot, a matching row two or three neighbouring lines more. No object per window either, so the
// garbage collector has nothing per handset to trace or promote.

/** A window's header in its pool: ring index of the oldest match, matches held, pushed, reported, capacity. */
const START = 0;
const LEN = 1;
const PUSHED = 2;
const REPORTED = 3;
const CAP = 4;
const HEADER = 6;
/** One match: its time (a double), then its id packed in 16 bytes (two doubles' room). */
const ENTRY = 3;
/** Windows of up to this many matches get their full ring at once; larger ones start at 8 and double. */
const FULL_RING = 64;

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

/** ASCII of each byte's two hex digits. */
const HEX_PAIRS = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  HEX_PAIRS[i * 2] = HEX.charCodeAt(i >> 4);
  HEX_PAIRS[i * 2 + 1] = HEX.charCodeAt(i & 15);
}
let scratch = Buffer.alloc(36 * 100);

/**
 * `n` packed UUIDs from `at` of `words` (four words each) as strings. Written as ASCII into one
 * buffer and cut from one string: building each id from 32 one-digit strings cost ~0.5 µs and
 * ~0.6 KB of garbage per id, and a notice carries up to 100 of them.
 */
export function unpackUuids(words: Uint32Array, at: number, n: number): string[] {
  if (scratch.length < n * 36) scratch = Buffer.alloc(n * 36);
  const buf = scratch;
  let p = 0;
  for (let w = at; w < at + n * 4; w++) {
    const v = words[w] as number;
    for (let s = 24; s >= 0; s -= 8) {
      const b = ((v >>> s) & 255) * 2;
      buf[p++] = HEX_PAIRS[b] as number;
      buf[p++] = HEX_PAIRS[b + 1] as number;
      const q = p % 36;
      if (q === 8 || q === 13 || q === 18 || q === 23) buf[p++] = 45;
    }
  }
  const all = buf.toString('latin1', 0, n * 36);
  const ids = new Array<string>(n);
  for (let k = 0; k < n; k++) ids[k] = all.slice(k * 36, k * 36 + 36);
  return ids;
}

export function unpackUuid(words: Uint32Array, at: number): string {
  return unpackUuids(words, at, 1)[0] as string;
}

/**
 * The prefix (first 24 characters) of the last id packed, and its words: live ingest ids share a
 * 10-byte prefix and differ in a 6-byte counter (core/ids.ts), so an id with the same prefix only
 * has its last 12 hex digits read. Any other id goes through packUuid.
 */
let lastPrefix = '';
let prefixW0 = 0;
let prefixW1 = 0;
let prefixW2 = 0;

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[97 + c] = 10 + c;

/** The value of the lowercase hex digits of `s` in [from, to) (at most 13); -1 when one is not. */
export function hexAt(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const d = c < 128 ? (HEX_VALUE[c] as number) : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** packUuid, faster for ids that share the previous one's prefix. */
export function packId(id: string, out: Uint32Array, at: number): boolean {
  if (id.length === 36 && lastPrefix !== '' && id.startsWith(lastPrefix)) {
    const hi = hexAt(id, 24, 28);
    const lo = hexAt(id, 28, 36);
    if (hi >= 0 && lo >= 0) {
      out[at] = prefixW0;
      out[at + 1] = prefixW1;
      out[at + 2] = (prefixW2 | hi) >>> 0;
      out[at + 3] = lo;
      return true;
    }
  }
  if (!packUuid(id, out, at)) return false;
  lastPrefix = id.slice(0, 24);
  prefixW0 = out[at] as number;
  prefixW1 = out[at + 1] as number;
  prefixW2 = ((out[at + 2] as number) & 0xffff0000) >>> 0;
  return true;
}

/** Where a window's reported ids go (the evaluator's IdList). */
export interface IdSink {
  full(): boolean;
  /** A packed id at `at` of `words`, or `odd`, an id that is not a UUID. */
  pushPacked(words: Uint32Array, at: number, odd: string | undefined): void;
}

/**
 * The windows of one threshold rule: rings of at most `max` match times and ids, oldest first, in one
 * growing buffer. A window is its offset in the pool; an offset stays valid until the window is
 * released, except that `push` may move a window that outgrew its ring (it returns the new offset).
 * Ids that are not lowercase UUIDs (tests, hand-made rows) are kept as strings beside the rings.
 */
export class WindowPool {
  private f: Float64Array;
  private u: Uint32Array;
  private top = 0;
  private readonly free = new Map<number, number[]>();
  /** Ids that are not UUIDs, by the position of their entry (their words are zero). */
  private readonly odd = new Map<number, string>();
  /** Windows held. */
  held = 0;

  constructor(readonly max: number) {
    this.f = new Float64Array(HEADER + Math.min(Math.max(max, 1), FULL_RING) * ENTRY);
    this.u = new Uint32Array(this.f.buffer);
  }

  /** A new, empty window. */
  alloc(): number {
    return this.allocRing(this.max <= FULL_RING ? Math.max(this.max, 1) : 8);
  }

  release(o: number): void {
    const cap = this.f[o + CAP] as number;
    if (this.odd.size > 0) for (let k = 0; k < cap; k++) this.odd.delete(o + HEADER + k * ENTRY);
    let list = this.free.get(cap);
    if (list === undefined) this.free.set(cap, (list = []));
    list.push(o);
    this.held--;
  }

  /** The newest match's time (0 when empty). */
  newest(o: number): number {
    const f = this.f;
    const len = f[o + LEN] as number;
    if (len === 0) return 0;
    return f[o + HEADER + (((f[o + START] as number) + len - 1) % (f[o + CAP] as number)) * ENTRY] as number;
  }

  /**
   * Adds a match at `ms` and drops what fell out of the window (older than `sinceMs`, or beyond
   * `max`). Returns the window's offset, which changes when its ring had to grow.
   */
  push(o: number, ms: number, id: string, sinceMs: number): number {
    let f = this.f;
    if ((f[o + LEN] as number) >= this.max) this.dropOldest(o);
    if (f[o + LEN] === f[o + CAP]) {
      o = this.grow(o);
      f = this.f;
    }
    const cap = f[o + CAP] as number;
    const e = o + HEADER + (((f[o + START] as number) + (f[o + LEN] as number)) % cap) * ENTRY;
    f[e] = ms;
    if (this.odd.size > 0) this.odd.delete(e);
    if (!packId(id, this.u, e * 2 + 2)) {
      this.u.fill(0, e * 2 + 2, e * 2 + 6);
      this.odd.set(e, id);
    }
    f[o + LEN] = (f[o + LEN] as number) + 1;
    f[o + PUSHED] = (f[o + PUSHED] as number) + 1;
    while ((f[o + LEN] as number) > 0 && (f[o + HEADER + (f[o + START] as number) * ENTRY] as number) <= sinceMs) this.dropOldest(o);
    return o;
  }

  /**
   * When the window holds `max` matches: how many were not reported yet (0 when it holds fewer).
   * `report` then marks them reported and copies their ids into `into` while it has room.
   */
  unreported(o: number): number {
    const f = this.f;
    const len = f[o + LEN] as number;
    if (len < this.max) return 0;
    const pushed = f[o + PUSHED] as number;
    return pushed - Math.max(pushed - len, f[o + REPORTED] as number);
  }

  /** Time of the oldest match `unreported` counts (call before `report`; 0 when none). */
  firstUnreportedMs(o: number): number {
    const n = this.unreported(o);
    const f = this.f;
    return n === 0 ? 0 : (f[o + HEADER + (((f[o + START] as number) + (f[o + LEN] as number) - n) % (f[o + CAP] as number)) * ENTRY] as number);
  }

  report(o: number, into: IdSink | null): void {
    const n = this.unreported(o);
    const f = this.f;
    f[o + REPORTED] = f[o + PUSHED] as number;
    if (into === null) return;
    const len = f[o + LEN] as number;
    const start = f[o + START] as number;
    const cap = f[o + CAP] as number;
    for (let k = len - n; k < len && !into.full(); k++) {
      const e = o + HEADER + ((start + k) % cap) * ENTRY;
      into.pushPacked(this.u, e * 2 + 2, this.odd.size > 0 ? this.odd.get(e) : undefined);
    }
  }

  private allocRing(cap: number): number {
    let o = this.free.get(cap)?.pop();
    if (o === undefined) {
      const need = HEADER + cap * ENTRY;
      if (this.top + need > this.f.length) {
        const grown = new Float64Array(Math.max(this.f.length * 2, this.top + need));
        grown.set(this.f.subarray(0, this.top));
        this.f = grown;
        this.u = new Uint32Array(grown.buffer);
      }
      o = this.top;
      this.top += need;
    }
    this.f.fill(0, o, o + HEADER);
    this.f[o + CAP] = cap;
    this.held++;
    return o;
  }

  private dropOldest(o: number): void {
    const f = this.f;
    f[o + START] = ((f[o + START] as number) + 1) % (f[o + CAP] as number);
    f[o + LEN] = (f[o + LEN] as number) - 1;
  }

  /** Moves a full window to a ring twice its size (at most max); returns its new offset. */
  private grow(o: number): number {
    const cap = this.f[o + CAP] as number;
    const n = this.allocRing(Math.min(cap * 2, Math.max(this.max, 8)));
    const f = this.f;
    const len = f[o + LEN] as number;
    const start = f[o + START] as number;
    for (let k = 0; k < len; k++) {
      const from = o + HEADER + ((start + k) % cap) * ENTRY;
      const to = n + HEADER + k * ENTRY;
      f.copyWithin(to, from, from + ENTRY);
      const s = this.odd.get(from);
      if (s !== undefined) this.odd.set(to, s);
    }
    f[n + LEN] = len;
    f[n + PUSHED] = f[o + PUSHED] as number;
    f[n + REPORTED] = f[o + REPORTED] as number;
    this.release(o);
    return n;
  }
}


/** Hash of a key's two 24-bit halves (the MAC's; for other MAC strings, hi is above 24 bits). */
function halvesHash(hi: number, lo: number): number {
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0;
}

/** Hash of a table key (a MAC's 48 bits + 1, or a larger key for other MAC strings). */
function keyHash(key: number): number {
  const lo = (key - 1) % 16_777_216;
  return halvesHash(((key - 1 - lo) / 16_777_216) | 0, lo);
}

const TABLE_MIN_SLOTS = 1 << 13;
/** Keys of MAC strings that are not 12 lowercase hex digits start here (above any MAC's 48 bits + 1). */
const OTHER_KEYS = 2 ** 48 + 1;
/**
 * A slot: key (0: empty), last missed_events (-1: none seen), the handset's group bits, then one
 * window offset + 1 per per-handset rule (0: none).
 */
const KEY = 0;
const MISSED = 1;
const GROUPS = 2;
const RINGS = 3;

/**
 * What the evaluator keeps per handset: the last cumulative missed_events (read and replaced for
 * every row that carries one while a missed_events_jump rule is on: on the handset's network format,
 * every row), which rules have an open group of the handset (a bit per rule, the rule's index modulo
 * 32: a clear bit spares the evaluator the rule's group maps, a set one may be another rule's) and
 * its window of each per-handset threshold rule. An open-addressing table keyed by
 * the MAC's 48 bits, the state inline in the slot. MACs that are not 12 lowercase hex digits (the
 * parsers normalise every MAC to that; '' for rows without one) get a key of their own through a Map.
 * A fleet larger than `max` handsets starts the table over (each handset loses one comparison and its
 * windows once).
 */
export class HandsetTable {
  private width = RINGS;
  private table: Float64Array;
  private mask = TABLE_MIN_SLOTS - 1;
  private readonly other = new Map<string, number>();
  /** The windows of per-handset threshold rules, by slot. */
  private pools: WindowPool[] = [];
  /** Handsets held. */
  size = 0;

  /** `onClear`: called when a full table started over (its group bits are gone: set them again). */
  constructor(
    private readonly max: number,
    private readonly onClear: () => void = () => {},
  ) {
    this.table = new Float64Array(TABLE_MIN_SLOTS * this.width);
  }

  /**
   * Where `mac`'s state is (a position for missed/ring); when it is not held, -1, or (`create`) a
   * new, empty one. A position is valid until the next find with `create`.
   */
  find(mac: string, create: boolean): number {
    let key: number;
    let hash: number;
    const hi = mac.length === 12 ? hexAt(mac, 0, 6) : -1;
    const lo = hi < 0 ? -1 : hexAt(mac, 6, 12);
    if (lo >= 0) {
      key = hi * 16_777_216 + lo + 1;
      hash = halvesHash(hi, lo); // = keyHash(key), without its division
    } else {
      const k = this.other.get(mac);
      if (k === undefined) {
        if (!create) return -1;
        key = OTHER_KEYS + this.other.size;
        this.other.set(mac, key);
      } else key = k;
      hash = keyHash(key);
    }
    const w = this.width;
    const t = this.table;
    let i = hash & this.mask;
    for (;;) {
      const k = t[i * w] as number;
      if (k === key) return i * w;
      if (k === 0) break;
      i = (i + 1) & this.mask;
    }
    if (!create) return -1;
    if (this.size >= this.max) {
      this.clear();
      return this.find(mac, true);
    }
    const p = i * w;
    t[p + KEY] = key;
    t[p + MISSED] = -1;
    this.size++;
    if (this.size * 2 > this.mask + 1) {
      this.rebuild(this.width, (this.mask + 1) * 2, null);
      return this.find(mac, false);
    }
    return p;
  }

  /** The last missed_events at position `p` (-1: none seen). */
  missed(p: number): number {
    return this.table[p + MISSED] as number;
  }

  setMissed(p: number, v: number): void {
    this.table[p + MISSED] = v;
  }

  /** The group bits at position `p` (an int32). */
  groupBits(p: number): number {
    return (this.table[p + GROUPS] as number) | 0;
  }

  /** Sets `bit` in the group bits of `mac` (held from now on). */
  addGroupBit(mac: string, bit: number): void {
    const p = this.find(mac, true);
    this.table[p + GROUPS] = (this.table[p + GROUPS] as number) | bit;
  }

  removeGroupBit(mac: string, bit: number): void {
    const p = this.find(mac, false);
    if (p >= 0) this.table[p + GROUPS] = (this.table[p + GROUPS] as number) & ~bit;
  }

  clearGroupBits(): void {
    for (let p = 0; p < this.table.length; p += this.width) this.table[p + GROUPS] = 0;
  }

  /** The window of slot `slot` at position `p`; -1 when none. */
  ring(p: number, slot: number): number {
    return (this.table[p + RINGS + slot] as number) - 1;
  }

  setRing(p: number, slot: number, o: number): void {
    this.table[p + RINGS + slot] = o + 1;
  }

  pool(slot: number): WindowPool {
    return this.pools[slot] as WindowPool;
  }

  /** Windows held over all slots. */
  held(): number {
    let n = 0;
    for (const p of this.pools) n += p.held;
    return n;
  }

  /**
   * Per-handset threshold rules now have `slots.length` slots, each for windows of at most `max`
   * matches; new slot k keeps old slot `keep` (-1: starts empty).
   */
  reslot(slots: readonly { keep: number; max: number }[]): void {
    const was = this.pools;
    this.pools = slots.map((s) => (s.keep >= 0 ? (was[s.keep] as WindowPool) : new WindowPool(s.max)));
    this.rebuild(RINGS + slots.length, this.mask + 1, slots.map((s) => s.keep));
  }

  /** Drops the windows of `slot` whose newest match is at or before `sinceMs`. */
  sweep(slot: number, sinceMs: number): void {
    const pool = this.pools[slot] as WindowPool;
    if (pool.held === 0) return;
    const t = this.table;
    for (let p = 0; p < t.length; p += this.width) {
      const o = (t[p + RINGS + slot] as number) - 1;
      if (o < 0 || pool.newest(o) > sinceMs) continue;
      pool.release(o);
      t[p + RINGS + slot] = 0;
    }
  }

  forgetMissed(): void {
    for (let p = 0; p < this.table.length; p += this.width) if (this.table[p + KEY] !== 0) this.table[p + MISSED] = -1;
  }

  clear(): void {
    this.table = new Float64Array(TABLE_MIN_SLOTS * this.width);
    this.mask = TABLE_MIN_SLOTS - 1;
    this.other.clear();
    this.size = 0;
    this.pools = this.pools.map((p) => new WindowPool(p.max));
    this.onClear();
  }

  /**
   * The table with `width` doubles per slot and `slots` slots; `keep` maps each new window slot to
   * the old one whose offsets it takes (-1: none; null: same slots as before).
   */
  private rebuild(width: number, slots: number, keep: readonly number[] | null): void {
    const old = this.table;
    const oldWidth = this.width;
    const t = new Float64Array(slots * width);
    const mask = slots - 1;
    for (let p = 0; p < old.length; p += oldWidth) {
      const key = old[p + KEY] as number;
      if (key === 0) continue;
      let i = keyHash(key) & mask;
      while (t[i * width] !== 0) i = (i + 1) & mask;
      const q = i * width;
      t[q + KEY] = key;
      t[q + MISSED] = old[p + MISSED] as number;
      t[q + GROUPS] = old[p + GROUPS] as number;
      for (let k = 0; k < width - RINGS; k++) {
        const from = keep === null ? k : (keep[k] as number);
        if (from >= 0) t[q + RINGS + k] = old[p + RINGS + from] as number;
      }
    }
    this.table = t;
    this.mask = mask;
    this.width = width;
  }
}
