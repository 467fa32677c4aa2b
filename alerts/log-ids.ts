// The log ids an alert notice carries (at most MAX_LOG_IDS), kept as one string from the evaluator
// to the store: in the packed form below when they fit it (every id of live ingest does), as a list
// otherwise. A list of 100 id strings per notice was what an alert storm left on the heap: ~1,500
// notices held until their batch was written and sent (1 – 4 s) are ~10 MB of strings that outlive
// a scavenge, and the one scavenge that found them made V8 double the young generation for the rest
// of the run. The list is made where it is needed: the webhook body, the API (toJSON).

import { hexAt, unpackUuid } from './windows.js';

/** Characters of a UUID before its last 12 hex digits (the prefix a process's ids share). */
const PREFIX = 24;

/** A UUID's last 12 hex digits as a number; -1 when they are not lowercase hex. */
const counterOf = (id: string): number => hexAt(id, PREFIX, 36);

/**
 * Log ids as one string, comma-separated: an id that shares the previous one's prefix and counts up
 * from it (the ids of one process do: core/ids.ts; a group's matches come in order) is written as
 * `+` and the difference in hex, any other as itself. About a tenth of the JSON array's size in an
 * alert storm, and one string for the engine to read instead of up to 100 array elements (this is
 * the form of alert_events.log_ids_packed). Unambiguous while every id has the 36 characters of a
 * UUID and no comma (a difference is at most 13 characters); null otherwise.
 */
export function packLogIds(ids: readonly string[]): string | null {
  const parts = new Array<string>(ids.length);
  let prefix = '';
  let counter = -1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    if (id.length !== 36 || id.includes(',')) return null;
    const sharesPrefix = counter >= 0 && id.startsWith(prefix);
    const c = counterOf(id);
    if (sharesPrefix && c > counter) parts[i] = '+' + (c - counter).toString(16);
    else {
      prefix = id.slice(0, PREFIX);
      parts[i] = id;
    }
    counter = c;
  }
  return parts.join(',');
}

/**
 * packLogIds of `n` UUIDs packed four words each from `at` of `words` (the evaluator's form:
 * alerts/windows.ts packUuid), without making a string per id: the first 24 characters of a UUID are
 * its first two words and the upper half of the third, the last 12 digits the rest.
 */
export function packLogIdWords(words: Uint32Array, at: number, n: number): string {
  const parts = new Array<string>(n);
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let counter = -1;
  for (let k = 0; k < n; k++) {
    const w = at + k * 4;
    const w0 = words[w] as number;
    const w1 = words[w + 1] as number;
    const w2 = words[w + 2] as number;
    const high = (w2 & 0xffff0000) >>> 0;
    const c = (w2 & 0xffff) * 4_294_967_296 + (words[w + 3] as number);
    if (counter >= 0 && w0 === p0 && w1 === p1 && high === p2 && c > counter) parts[k] = '+' + (c - counter).toString(16);
    else {
      parts[k] = unpackUuid(words, w);
      p0 = w0;
      p1 = w1;
      p2 = high;
    }
    counter = c;
  }
  return parts.join(',');
}

/** The ids of a packLogIds string. */
export function unpackLogIds(packed: string): string[] {
  if (packed === '') return [];
  let prefix = '';
  let counter = 0;
  return packed.split(',').map((p) => {
    if (p.length === 36) {
      prefix = p.slice(0, PREFIX);
      counter = counterOf(p);
      return p;
    }
    counter += parseInt(p.slice(1), 16);
    return prefix + counter.toString(16).padStart(12, '0');
  });
}

/** A notice's log ids: packed when they fit the form, else the list. Serializes (JSON) as the list. */
export class LogIds {
  static readonly EMPTY = new LogIds('', null);

  private constructor(
    /** The packLogIds form; null when the ids do not fit it (then `ids` holds them). */
    readonly packed: string | null,
    private readonly ids: readonly string[] | null,
  ) {}

  static of(ids: readonly string[]): LogIds {
    if (ids.length === 0) return LogIds.EMPTY;
    const packed = packLogIds(ids);
    return packed === null ? new LogIds(null, [...ids]) : new LogIds(packed, null);
  }

  /** From a packLogIds string. */
  static packedAs(packed: string): LogIds {
    return packed === '' ? LogIds.EMPTY : new LogIds(packed, null);
  }

  list(): string[] {
    return this.packed === null ? [...(this.ids ?? [])] : unpackLogIds(this.packed);
  }

  toJSON(): string[] {
    return this.list();
  }
}
