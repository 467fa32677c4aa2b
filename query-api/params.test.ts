// Parameter checking of every route through app.request(): each bad or unknown parameter is a 400
// naming it, checked before the store is touched (the fake store fails every query, which would be
// a 503). Parsing itself is checked on parseLogFilters.

import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { Registry } from '../core/metrics.js';
import type { Store } from '../store/client.js';
import { createApp } from './app.js';
import { parseInterval, parseLogFilters, parseTimeZone, ROUTE_PARAMS } from './params.js';
import { encodeCursor } from '../store/queries.js';

const NOW = Date.parse('2026-03-10T12:00:00.000Z');

function app() {
  const client = { query: () => Promise.reject(new Error('no store in unit tests')) } as unknown as ClickHouseClient;
  return createApp({
    store: { mode: 'embedded', client } as unknown as Store,
    metrics: new Registry(),
    logger: silentLogger,
    health: () => Promise.reject(new Error('unused')),
    pipeline: { subscribe: () => () => undefined },
    now: () => NOW,
  });
}

const MAC = '00907a11baaa';

const bad: [string, string][] = [
  ['/api/logs?bogus=1', 'bogus'],
  ['/api/logs?mac=nope', 'mac'],
  ['/api/logs?mac=', 'mac'],
  ['/api/logs?tag=|', 'tag'],
  ['/api/logs?severity=loud', 'severity'],
  ['/api/logs?max_severity=9', 'max_severity'],
  ['/api/logs?from=yesterday', 'from'],
  ['/api/logs?from=2026-03-10&to=2026-03-01', 'from'],
  ['/api/logs?to=2026-13-45T99:00:00Z', 'to'],
  ['/api/logs?limit=0', 'limit'],
  ['/api/logs?limit=10001', 'limit'],
  ['/api/logs?q=a&q=b', 'q'],
  [`/api/logs?q=${encodeURIComponent('a b c d e f g h i j k l m n o p q')}`, 'q'],
  [`/api/logs/tail?q=${encodeURIComponent('a b c d e f g h i j k l m n o p "q r"')}`, 'q'],
  ['/api/logs/count?limit=5', 'limit'],
  ['/api/logs/count?cursor=x', 'cursor'],
  ['/api/logs?cursor=abc', 'cursor'],
  ['/api/logs/export?format=xml', 'format'],
  ['/api/logs/export?format=csv&format=ndjson', 'format'],
  ['/api/logs/export?limit=10', 'limit'],
  ['/api/logs/export?mac=zz', 'mac'],
  ['/api/logs/tail?from=-5m', 'from'],
  ['/api/logs/tail?to=now', 'to'],
  ['/api/logs/tail?limit=10', 'limit'],
  ['/api/logs/tail?cursor=abc', 'cursor'],
  ['/api/logs/tail?severity=7,loud', 'severity'],
  ['/api/logs/tail?host=a&host=b', 'host'],
  ['/api/logs/6f1c1f64-4b7e-4c52-9d6f-1d7f3c1a0001?mac=x', 'mac'],
  ['/api/logs/not-a-uuid', 'id'],
  ['/api/devices?sort=battery', 'sort'],
  ['/api/devices?sort=--mac', 'sort'],
  ['/api/devices?limit=0', 'limit'],
  ['/api/devices?limit=1.5', 'limit'],
  ['/api/devices?mac=' + MAC, 'mac'],
  ['/api/devices/nope', 'mac'],
  ['/api/devices/00:90:7a:11:ba', 'mac'],
  [`/api/devices/${MAC}?from=-1h`, 'from'],
  [`/api/devices/${MAC}/battery?from=yesterday`, 'from'],
  [`/api/devices/${MAC}/battery?from=2026-03-10&to=2026-03-01`, 'from'],
  [`/api/devices/${MAC}/battery?interval=1h`, 'interval'],
  ['/api/devices/nope/battery', 'mac'],
  ['/api/tags?limit=abc', 'limit'],
  ['/api/tags?limit=10001', 'limit'],
  ['/api/tags?tag=x', 'tag'],
  ['/api/tags?from=soon', 'from'],
  ['/api/stats?interval=5x', 'interval'],
  ['/api/stats?interval=0s', 'interval'],
  ['/api/stats?interval=1s&from=-30d&to=now', 'interval'],
  ['/api/stats?limit=10', 'limit'],
  ['/api/stats?severity=nope', 'severity'],
  ['/api/stats?from=-1h&to=-2h', 'from'],
  ['/api/logs?fields=message,nope', 'fields'],
  ['/api/logs?fields=,', 'fields'],
  ['/api/logs/count?fields=message', 'fields'],
  ['/api/logs?from=-999999999d', 'from'],
  ['/api/logs/count?to=-999999999w', 'to'],
  ['/api/logs?from=2026-02-30', 'from'],
  ['/api/logs?from=2026-02-29T10:00:00Z', 'from'],
  ['/api/logs?to=2026-03-10T24:30:00Z', 'to'],
  ['/api/logs?from=2026-03-10T12:00:00%2B25:00', 'from'],
  ['/api/logs?from=2026-03-10 12:00 GMT%2B5', 'from'],
];

describe('400 naming the parameter', () => {
  it.each(bad)('%s → %s', async (url, param) => {
    const res = await app().request(url);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message.startsWith(`${param}: `), body.error.message).toBe(true);
  });

  it('lists the known parameters of the route in the message', async () => {
    const res = await app().request('/api/devices?bogus=1');
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toBe('bogus: unknown parameter for /api/devices (known: sort, q, limit)');
  });

  it('valid parameters get past validation (then the fake store fails: 503)', async () => {
    for (const url of [
      '/api/logs?mac=00-90-7A-11-BA-AA,0090.7a11.bbbb&tag=SipService|SlnkOTA&severity=err,4&max_severity=warning&q=x&from=-1h&to=now&limit=5&token=t',
      '/api/logs/count?tag_contains=sip&host=h&session=s',
      '/api/logs/export?format=csv&from=-1d',
      '/api/devices?sort=-battery_level_pct&q=00:90&limit=5',
      `/api/devices/00:90:7A:11:BA:AA`,
      `/api/devices/${MAC}/battery?from=-7d&to=now`,
      '/api/tags?q=sip&limit=20&from=-1d',
      '/api/stats?interval=5m&from=-1d&to=now&max_severity=error',
      '/api/stats',
    ]) {
      const res = await app().request(url);
      expect(res.status, url).toBe(503);
    }
  });

  it('HEAD of an export answers its headers without running the query (its result would stay open: nobody reads a HEAD body)', async () => {
    const res = await app().request('/api/logs/export?format=csv&from=-1d', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="handlog-.*\.csv"$/);
    expect((await app().request('/api/logs/export?format=xml', { method: 'HEAD' })).status).toBe(400);
  });

  it('the tail accepts every log filter and a token', async () => {
    const res = await app().request('/api/logs/tail?mac=00907a11baaa&tag=A|B&tag_contains=x&severity=1,2&max_severity=3&q=t&host=h&session=s&token=abc');
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });
});

describe('parseLogFilters', () => {
  const CURSOR = encodeCursor({ timeMs: NOW - 1000, id: '6f1c1f64-4b7e-4c52-9d6f-1d7f3c1a0001' });

  it('parses every filter', () => {
    const q = new URLSearchParams(
      'mac=00:90:7A:11:BA:AA, 00907a11bbbb&mac=0090.7a11.cccc&tag=SipService|SlnkOTA&tag=WifiMgr&tag_contains=wifi' +
        '&severity=fatal,3,err&max_severity=warn&q=%20call%20state%20&host=172.29.4.17&session=cap&from=-15m&to=now&limit=50&cursor=' + CURSOR,
    );
    expect(parseLogFilters(q, NOW, 'logs')).toEqual({
      mac: ['00907a11baaa', '00907a11bbbb', '00907a11cccc'],
      tag: ['SipService', 'SlnkOTA', 'WifiMgr'],
      tag_contains: 'wifi',
      severity: [0, 3],
      max_severity: 4,
      q: 'call state',
      host: '172.29.4.17',
      session: 'cap',
      from: '2026-03-10T11:45:00.000Z',
      to: '2026-03-10T12:00:00.000Z',
      limit: 50,
      cursor: CURSOR,
      anchor_ms: NOW,
    });
  });

  it('fields: a comma list of record fields, on /api/logs only', () => {
    expect(parseLogFilters(new URLSearchParams('fields=message, battery,message'), NOW, 'logs')).toEqual({ limit: 100, fields: ['message', 'battery'] });
  });

  it('pages only on /api/logs (default limit 100)', () => {
    expect(parseLogFilters(new URLSearchParams(''), NOW, 'logs')).toEqual({ limit: 100 });
    expect(parseLogFilters(new URLSearchParams(''), NOW, 'logs/count')).toEqual({});
    expect(parseLogFilters(new URLSearchParams('severity=7'), NOW, 'logs/tail')).toEqual({ severity: [7] });
  });

  it('each route has its own list', () => {
    expect(ROUTE_PARAMS['logs/tail']).not.toContain('from');
    expect(ROUTE_PARAMS['logs/export']).toContain('format');
    expect(ROUTE_PARAMS['stats']).toContain('interval');
    expect(ROUTE_PARAMS['logs/count']).not.toContain('limit');
  });

  it('intervals', () => {
    expect(parseInterval('interval', '30s')).toBe(30_000);
    expect(parseInterval('interval', '5m')).toBe(300_000);
    expect(parseInterval('interval', '1h')).toBe(3_600_000);
    expect(parseInterval('interval', '1d')).toBe(86_400_000);
    expect(parseInterval('interval', '1w')).toBe(604_800_000);
    for (const v of ['', '5', '1.5h', '-1m', '0m', '1y']) expect(() => parseInterval('interval', v)).toThrow(/^interval: /);
  });
});

describe('times (from, to)', () => {
  const range = (qs: string) => parseLogFilters(new URLSearchParams(qs), NOW, 'logs/count');

  it('an ISO time without a zone is UTC, whatever the zone of the host', () => {
    expect(range('from=2026-03-10T11:00:00&to=2026-03-10 11:30')).toEqual({ from: '2026-03-10T11:00:00.000Z', to: '2026-03-10T11:30:00.000Z' });
    expect(range('from=2026-03-10')).toEqual({ from: '2026-03-10T00:00:00.000Z' });
  });

  it('zones, fractions and leap days', () => {
    expect(range('from=2026-03-10T12:00:00%2B01:00')).toEqual({ from: '2026-03-10T11:00:00.000Z' });
    expect(range('from=2026-03-10T12:00:00-0530')).toEqual({ from: '2026-03-10T17:30:00.000Z' });
    expect(range('from=2026-03-10T12:00:00.123456z')).toEqual({ from: '2026-03-10T12:00:00.123Z' });
    expect(range('from=2024-02-29T23:59:59.5Z')).toEqual({ from: '2024-02-29T23:59:59.500Z' });
    expect(range('from=0001-01-01T00:00:00Z')).toEqual({ from: '0001-01-01T00:00:00.000Z' });
  });

  it('a relative time that reaches past the calendar is a 400, not a 500', () => {
    expect(() => range('from=-999999999d')).toThrow(/^from: /);
    expect(range('from=-99999999d').from).toMatch(/^-2\d{5}-/);
  });
});

describe('paging a relative time range', () => {
  const ID = '6f1c1f64-4b7e-4c52-9d6f-1d7f3c1a0001';

  it('the first page resolves -15m against now and remembers that now for the next pages', () => {
    expect(parseLogFilters(new URLSearchParams('from=-15m&limit=5'), NOW, 'logs')).toEqual({ from: '2026-03-10T11:45:00.000Z', limit: 5, anchor_ms: NOW });
  });

  it('a later page keeps the first page\'s window: its oldest rows do not fall out while the user pages', () => {
    const cursor = encodeCursor({ timeMs: NOW - 60_000, id: ID, anchorMs: NOW });
    const later = parseLogFilters(new URLSearchParams(`from=-15m&to=now&cursor=${cursor}`), NOW + 10 * 60_000, 'logs');
    expect(later).toMatchObject({ from: '2026-03-10T11:45:00.000Z', to: '2026-03-10T12:00:00.000Z', anchor_ms: NOW });
  });

  it('absolute times need no anchor, and cursors stay as they were', () => {
    expect(parseLogFilters(new URLSearchParams('from=2026-03-10T11:00:00Z'), NOW, 'logs')).toEqual({ from: '2026-03-10T11:00:00.000Z', limit: 100 });
    expect(encodeCursor({ timeMs: 5, id: ID })).toBe(Buffer.from(JSON.stringify([5, ID])).toString('base64url'));
  });
});

describe('MAC notations', () => {
  it('takes the notations switches and operating systems print', () => {
    const macs = (v: string) => parseLogFilters(new URLSearchParams({ mac: v }), NOW, 'logs/count').mac;
    for (const v of [
      '00907a11baaa',
      '00:90:7A:11:BA:AA',
      '00-90-7a-11-ba-aa',
      '0090.7a11.baaa', // Cisco
      '0090-7a11-baaa', // HPE Comware, Huawei
      '00907a-11baaa', // HPE ProCurve / Aruba-OS switch
      '0:90:7a:11:ba:aa', // macOS arp, unpadded octets
      '00 90 7a 11 ba aa'.replace(/ /g, ':'),
    ]) {
      expect(macs(v), v).toEqual(['00907a11baaa']);
    }
  });

  it('still refuses what is not a MAC, naming the parameter', () => {
    for (const v of ['00907a11baa', '00:90-7a:11-ba:aa', '0090.7a11-baaa', '00:90:7a:11:ba:aa:', '000:90:7a:11:ba:aa', 'g0907a11baaa', '00907a11baaa00']) {
      expect(() => parseLogFilters(new URLSearchParams({ mac: v }), NOW, 'logs/count'), v).toThrow(/^mac: /);
    }
  });
});

describe('tag lists', () => {
  it('blanks around the | of a tag list are not part of the tags', () => {
    expect(parseLogFilters(new URLSearchParams('tag=SipService | SlnkOTA&tag= WifiMgr '), NOW, 'logs/count')).toEqual({ tag: ['SipService', 'SlnkOTA', 'WifiMgr'] });
    expect(() => parseLogFilters(new URLSearchParams('tag= | '), NOW, 'logs/count')).toThrow(/^tag: /);
  });
});

describe('parseTimeZone (the upload\'s tz)', () => {
  it('takes IANA zones and UTC, and names the parameter otherwise', () => {
    expect(parseTimeZone('tz', 'Europe/Berlin')).toBe('Europe/Berlin');
    expect(parseTimeZone('tz', ' UTC ')).toBe('UTC');
    for (const v of ['', ' ', 'Mars/Olympus', 'CEST+2']) expect(() => parseTimeZone('tz', v), v).toThrow(/^tz: /);
  });
});
