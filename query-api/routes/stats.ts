// GET /api/stats (severity counts per time bucket, top tags and talkers under the log filters) and
// GET /api/tags (known tags with counts, for autocomplete).

import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { SEVERITY_NAMES, type SeverityName } from '../../core/record.js';
import { logTimeRange, severityCounts, tagCounts, topValues } from '../../store/stats.js';
import { autoStepMs, bucketCount, bucketStart } from '../buckets.js';
import { bad, one, parseInterval, parseLimit, parseLogFilters, parseTimeRange, rejectUnknown } from '../params.js';

/** Buckets of an automatic interval, at most. */
export const AUTO_BUCKETS = 200;
/** Buckets of a given interval, at most. */
export const MAX_BUCKETS = 10_000;
export const TOP_N = 10;
export const DEFAULT_TAG_LIMIT = 100;
export const MAX_TAG_LIMIT = 10_000;

type SeverityCounts = Record<SeverityName | 'Unknown', number>;

export interface StatsBucket {
  t: string;
  total: number;
  severity: SeverityCounts;
}

function zeroCounts(): SeverityCounts {
  const c = { Unknown: 0 } as SeverityCounts;
  for (const n of SEVERITY_NAMES) c[n] = 0;
  return c;
}

export function statsRoutes(deps: { client: ClickHouseClient; now: () => number }): Hono {
  const r = new Hono();
  const query = (url: string) => new URL(url).searchParams;

  r.get('/stats', async (c) => {
    const q = query(c.req.url);
    const nowMs = deps.now();
    const f = parseLogFilters(q, nowMs, 'stats');
    const interval = one(q, 'interval');
    const givenStep = interval === undefined || interval === '' ? undefined : parseInterval('interval', interval);
    let fromMs = f.from === undefined ? undefined : Date.parse(f.from);
    let toMs = f.to === undefined ? undefined : Date.parse(f.to);
    if (fromMs === undefined || toMs === undefined) {
      // Open ends: from the oldest match; to now, or past the newest match when it is later.
      const range = await logTimeRange(deps.client, f);
      if (range === null && fromMs === undefined) {
        return c.json({ from: null, to: f.to ?? null, interval_ms: givenStep ?? null, total: 0, buckets: [], top_tags: [], top_macs: [] });
      }
      fromMs ??= range?.minMs ?? nowMs;
      toMs ??= f.from === undefined && range !== null ? range.maxMs + 1 : Math.max(nowMs, (range?.maxMs ?? 0) + 1);
      // A `from` after now (and after every row): an empty range, not one that ends before it starts.
      toMs = Math.max(toMs, fromMs);
    }
    const stepMs = givenStep ?? autoStepMs(toMs - fromMs, AUTO_BUCKETS);
    const n = bucketCount(fromMs, toMs, stepMs);
    if (n > MAX_BUCKETS) throw bad('interval', `"${interval ?? ''}" makes ${n} buckets over the range; at most ${MAX_BUCKETS}`);
    const [counts, tags, macs] = await Promise.all([
      severityCounts(deps.client, f, stepMs),
      topValues(deps.client, f, 'tag', TOP_N),
      topValues(deps.client, f, 'mac', TOP_N),
    ]);
    const first = bucketStart(fromMs, stepMs);
    const buckets: StatsBucket[] = Array.from({ length: n }, (_, i) => ({
      t: new Date(first + i * stepMs).toISOString(),
      total: 0,
      severity: zeroCounts(),
    }));
    let total = 0;
    for (const row of counts) {
      const b = buckets[Math.round((row.bucketMs - first) / stepMs)];
      if (b === undefined) continue; // a row inside [from, to) always has its bucket; kept safe anyway
      const name: SeverityName | 'Unknown' = (row.severity === null ? undefined : SEVERITY_NAMES[row.severity]) ?? 'Unknown';
      b.severity[name] += row.count;
      b.total += row.count;
      total += row.count;
    }
    return c.json({
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      interval_ms: stepMs,
      total,
      buckets,
      top_tags: tags.map((t) => ({ tag: t.value, count: t.count })),
      top_macs: macs.map((m) => ({ mac: m.value, count: m.count })),
    });
  });

  r.get('/tags', async (c) => {
    const q = query(c.req.url);
    rejectUnknown(q, 'tags');
    const t = parseTimeRange(q, deps.now());
    const text = (one(q, 'q') ?? '').trim();
    const limit = parseLimit(q, 'limit', DEFAULT_TAG_LIMIT, MAX_TAG_LIMIT);
    const tags = await tagCounts(deps.client, { ...t, ...(text === '' ? {} : { q: text }), limit });
    return c.json({ tags });
  });
  return r;
}
