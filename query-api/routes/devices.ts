// GET /api/devices, /api/devices/:mac, /api/devices/:mac/battery (DESIGN §4).

import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { HandlogError } from '../../core/errors.js';
import { batterySeries, batteryTimeRange, getDevice, listDevices, type DeviceSummary } from '../../store/devices.js';
import { autoStepMs } from '../buckets.js';
import { bad, one, parseLimit, parseMacParam, parseTimeRange, rejectUnknown } from '../params.js';

export const DEVICE_SORT_KEYS = ['last_seen', 'mac', 'errors_24h', 'battery_level_pct'] as const;
type SortKey = (typeof DEVICE_SORT_KEYS)[number];

export const DEFAULT_DEVICE_LIMIT = 1000;
export const MAX_DEVICE_LIMIT = 100_000;
/** A battery series has at most about this many points, whatever the range. */
export const MAX_BATTERY_POINTS = 1000;

function sortValue(d: DeviceSummary, key: SortKey): string | number | null {
  switch (key) {
    case 'last_seen':
      return d.last_seen;
    case 'mac':
      return d.mac;
    case 'errors_24h':
      return d.errors_24h;
    case 'battery_level_pct':
      return d.battery?.level_pct ?? null;
  }
}

/** Orders devices by one key (nulls last in both directions), then by MAC. */
export function sortDevices(devices: DeviceSummary[], key: SortKey, descending: boolean): DeviceSummary[] {
  const dir = descending ? -1 : 1;
  return devices.sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    }
    return a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0;
  });
}

/** `q` as typed: a MAC fragment in any notation matches the stored 12-digit form. */
export function deviceMatches(d: DeviceSummary, q: string): boolean {
  const needle = q.toLowerCase();
  const macNeedle = needle.replace(/[:.-]/g, '');
  return (
    (macNeedle !== '' && d.mac.includes(macNeedle)) ||
    d.source_ip.toLowerCase().includes(needle) ||
    (d.host ?? '').toLowerCase().includes(needle) ||
    (d.tag ?? '').toLowerCase().includes(needle)
  );
}

export function deviceRoutes(deps: { client: ClickHouseClient; now: () => number }): Hono {
  const r = new Hono();
  const query = (url: string) => new URL(url).searchParams;

  // The fleet (hundreds to a few thousand handsets) comes from the summary tables in one query;
  // filtering and ordering that list in memory is cheaper than another round trip per order.
  r.get('/', async (c) => {
    const q = query(c.req.url);
    rejectUnknown(q, 'devices');
    const sort = one(q, 'sort') ?? '-last_seen';
    const descending = sort.startsWith('-');
    const key = (descending ? sort.slice(1) : sort) as SortKey;
    if (!DEVICE_SORT_KEYS.includes(key)) throw bad('sort', `"${sort}" is not a sort key (${DEVICE_SORT_KEYS.join(', ')}; prefix - for descending)`);
    const text = (one(q, 'q') ?? '').trim();
    const limit = parseLimit(q, 'limit', DEFAULT_DEVICE_LIMIT, MAX_DEVICE_LIMIT);
    let devices = await listDevices(deps.client);
    if (text !== '') devices = devices.filter((d) => deviceMatches(d, text));
    sortDevices(devices, key, descending);
    return c.json({ devices: devices.slice(0, limit), total: devices.length });
  });

  r.get('/:mac', async (c) => {
    rejectUnknown(query(c.req.url), 'devices/:mac');
    const mac = parseMacParam('mac', c.req.param('mac'));
    const d = await getDevice(deps.client, mac);
    if (d === null) throw new HandlogError('NOT_FOUND', `no device with MAC ${mac}`);
    return c.json(d);
  });

  r.get('/:mac/battery', async (c) => {
    const q = query(c.req.url);
    rejectUnknown(q, 'devices/:mac/battery');
    const mac = parseMacParam('mac', c.req.param('mac'));
    const t = parseTimeRange(q, deps.now());
    let fromMs = t.from === undefined ? undefined : Date.parse(t.from);
    let toMs = t.to === undefined ? undefined : Date.parse(t.to);
    if (fromMs === undefined || toMs === undefined) {
      // An open end of the range is where the device's battery data begins or ends.
      const range = await batteryTimeRange(deps.client, mac, { ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }) });
      if (range === null) {
        if ((await getDevice(deps.client, mac)) === null) throw new HandlogError('NOT_FOUND', `no device with MAC ${mac}`);
        return c.json({ mac, from: t.from ?? null, to: t.to ?? null, interval_ms: null, points: [] });
      }
      fromMs ??= range.minMs;
      toMs ??= range.maxMs + 1;
    }
    const stepMs = autoStepMs(toMs - fromMs, MAX_BATTERY_POINTS);
    const points = await batterySeries(deps.client, mac, { fromMs, toMs, stepMs });
    if (points.length === 0 && (await getDevice(deps.client, mac)) === null) throw new HandlogError('NOT_FOUND', `no device with MAC ${mac}`);
    return c.json({
      mac,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      interval_ms: stepMs,
      points,
    });
  });
  return r;
}
