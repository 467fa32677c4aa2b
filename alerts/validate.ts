// Field readers for the JSON bodies of the alerts API (rules, channels, silences). Every problem is
// a 400 that names the field by its path (`condition.window_s`), like the query-string parsing of
// query-api/params.ts, whose `bad` it uses.

import { bad } from '../query-api/params.js';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The body itself, or a nested object; `undefined`/`null` become `{}` when `optional`. */
export function object(v: unknown, field: string, optional = false): Json {
  if (optional && (v === undefined || v === null)) return {};
  if (!isObject(v)) throw bad(field, 'must be an object');
  return v;
}

/** 400 for the first key not in `known` (a typo must not silently do nothing). */
export function onlyKeys(o: Json, known: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw bad(where === '' ? k : `${where}.${k}`, `unknown field (known: ${known.join(', ')})`);
  }
}

export function str(v: unknown, field: string, opts: { def?: string; max?: number; nonEmpty?: boolean } = {}): string {
  if (v === undefined || v === null) {
    if (opts.def !== undefined) return opts.def;
    throw bad(field, 'is required');
  }
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  const max = opts.max ?? 1000;
  if (v.length > max) throw bad(field, `is longer than ${max} characters`);
  if (opts.nonEmpty === true && v.trim() === '') throw bad(field, 'must not be empty');
  return v;
}

export function int(v: unknown, field: string, min: number, max: number, def?: number): number {
  if (v === undefined || v === null) {
    if (def !== undefined) return def;
    throw bad(field, 'is required');
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function real(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw bad(field, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function bool(v: unknown, field: string, def: boolean): boolean {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') throw bad(field, 'must be true or false');
  return v;
}

export function oneOf<T extends string>(v: unknown, field: string, values: readonly T[], def?: T): T {
  if ((v === undefined || v === null) && def !== undefined) return def;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw bad(field, `must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** A list given as a JSON array or as one string split on `sep`; absent → []. */
export function list(v: unknown, field: string, sep: string | RegExp, maxItems = 1000): string[] {
  if (v === undefined || v === null) return [];
  let items: unknown[];
  if (typeof v === 'string') items = v.split(sep);
  else if (Array.isArray(v)) items = v;
  else throw bad(field, 'must be a list (an array of strings)');
  if (items.length > maxItems) throw bad(field, `has more than ${maxItems} entries`);
  return items.map((x, i) => {
    if (typeof x === 'number') return String(x);
    if (typeof x !== 'string') throw bad(`${field}[${i}]`, 'must be a string');
    return x.trim();
  }).filter((x) => x !== '');
}

/** An ISO-8601 time → canonical ISO UTC. */
export function isoTime(v: unknown, field: string): string {
  const m = typeof v === 'string' ? /^(\d{4})-(\d{2})-(\d{2})T/.exec(v) : null;
  if (m === null || !Number.isFinite(Date.parse(v as string))) {
    throw bad(field, `must be an ISO-8601 time, got ${JSON.stringify(v)}`);
  }
  // Date.parse rolls a day the month does not have over into the next month (02-30 → 03-02).
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) throw bad(field, `${m[0].slice(0, 10)} is not a date (${JSON.stringify(v)})`);
  return new Date(Date.parse(v as string)).toISOString();
}

/** An http(s) URL. */
export function httpUrl(v: unknown, field: string): string {
  const s = str(v, field, { nonEmpty: true, max: 2000 });
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw bad(field, `"${s}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad(field, `must be an http:// or https:// URL`);
  return s;
}
