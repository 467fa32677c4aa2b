// The log filters of DESIGN §4 as the UI holds them: read from and written to the page URL, and
// turned into API query parameters unchanged (the API validates them).

import type { Query } from './api.js';

export const FILTER_KEYS = ['mac', 'tag', 'tag_contains', 'severity', 'max_severity', 'q', 'host', 'session', 'from', 'to'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

export function filtersFrom(q: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FILTER_KEYS) {
    const v = q.get(k);
    if (v !== null && v.trim() !== '') f[k] = v.trim();
  }
  return f;
}

/** The filters as API parameters; `omit` leaves some out (the tail has no time range). */
export function filterQuery(f: Filters, omit: readonly FilterKey[] = []): Query {
  const q: Query = {};
  for (const k of FILTER_KEYS) if (!omit.includes(k) && f[k] !== undefined) q[k] = f[k];
  return q;
}

export function filtersKey(f: Filters): string {
  return FILTER_KEYS.map((k) => `${k}=${f[k] ?? ''}`).join('&');
}

/** Severity toggles of the filter bar (the handset uses these five). */
export const SEVERITY_TOGGLES = [
  { name: 'fatal', label: 'Fatal', level: 0 },
  { name: 'error', label: 'Error', level: 3 },
  { name: 'warning', label: 'Warning', level: 4 },
  { name: 'info', label: 'Info', level: 6 },
  { name: 'debug', label: 'Debug', level: 7 },
] as const;

export const TIME_PRESETS = [
  { label: '15 min', from: '-15m' },
  { label: '1 h', from: '-1h' },
  { label: '6 h', from: '-6h' },
  { label: '24 h', from: '-24h' },
  { label: '7 days', from: '-7d' },
  { label: '30 days', from: '-30d' },
  { label: 'All', from: '' },
] as const;

export function splitList(v: string | undefined, sep: string | RegExp): string[] {
  return (v ?? '')
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
