// The query API against the real service: syslog over TCP into the embedded store, answers over
// real HTTP. Live tail (delivery within a second, filtering, disconnect, overflow of a client that
// does not read), devices and battery series, tags, stats, export, and the in-memory matcher
// checked against the store's SQL on the same rows.

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEVERITY_NAMES, type StoredRecord } from '../../core/record.js';
import { matchesFilters } from '../../query-api/match.js';
import type { DeviceSummary } from '../../store/devices.js';
import { exportLogs, type LogFilters } from '../../store/queries.js';
import { api, metric, metricsText, port, serviceForFile, until } from './helpers.js';
import { parseCsv } from '../../query-api/csv-reader.test-helper.js';

const svc = serviceForFile();

/** A handset line (network form), its body time `ms` (default now). */
function line(mac: string, tag: string, text: string, sev = 6, ms = Date.now()): string {
  const d = new Date();
  const mon = d.toUTCString().slice(8, 11);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  return `<${128 + sev}>${mon} ${day} ${d.toISOString().slice(11, 19)} 172.29.4.17 ${tag}[3367]: ${mac}| ${ms}| ${tag} |${128 + sev}|03| ${text}`;
}

/** Octet-counted frames, so a message may hold a newline. */
function frames(lines: string[]): string {
  return lines.map((l) => `${Buffer.byteLength(l)} ${l}`).join('');
}

function sendTcp(data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port(svc.addresses['tcp']), '127.0.0.1', () => s.end(data));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

async function count(query: string, n: number): Promise<number> {
  const r = await until(
    () => api<{ count: number }>(svc.http, `/api/logs/count?${query}`),
    (x) => x.body.count >= n,
  );
  return r.body.count;
}

interface SseEvent {
  event: string;
  data: string;
  at: number;
}

/** Opens a tail and collects its events in the background. */
async function openTail(query: string) {
  const ac = new AbortController();
  const res = await fetch(`${svc.http}/api/logs/tail?${query}`, { signal: ac.signal });
  const got: SseEvent[] = [];
  let raw = '';
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const done = (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        raw += dec.decode(r.value, { stream: true });
        let i: number;
        while ((i = raw.indexOf('\n\n')) >= 0) {
          const block = raw.slice(0, i);
          raw = raw.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          got.push({ event: ev ?? 'comment', data: ev === undefined ? block : data, at: Date.now() });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { res, got, close: () => ac.abort(), done };
}

async function waitFor<T>(fn: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('live tail', () => {
  it('delivers a matching new row within a second, and no others', async () => {
    const mac = '00907a220001';
    const tail = await openTail(`mac=${mac}&max_severity=error&q=TAIL`);
    expect(tail.res.status).toBe(200);
    expect(tail.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitFor(() => tail.got.find((e) => e.event === 'comment'));
    const tailClients = metric(await metricsText(svc.http), 'handlog_tail_clients');
    expect(tailClients).toBe(1);
    const sent = Date.now();
    await sendTcp(
      [
        line('00907a220002', 'SipService', 'tail other handset', 3),
        line(mac, 'SipService', 'tail too mild', 6),
        line(mac, 'SipService', 'no match in text', 3),
        line(mac, 'SipService', 'the tail hit', 3),
      ].join('\n') + '\n',
    );
    const hit = await waitFor(() => tail.got.find((e) => e.event === 'log'));
    expect(hit.at - sent).toBeLessThan(1000);
    const row = JSON.parse(hit.data) as StoredRecord;
    expect(row).toMatchObject({ mac, message: 'the tail hit', severity: 3, transport: 'tcp', tag: 'SipService' });
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    // The non-matching lines were sent first on the same connection: had any been delivered, it
    // would be here already. Give stragglers a moment anyway.
    await new Promise((r) => setTimeout(r, 300));
    expect(tail.got.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as StoredRecord).message)).toEqual(['the tail hit']);
    // The tailed row is the stored row.
    await count(`mac=${mac}&q=tail%20hit`, 1);
    const stored = await api<StoredRecord>(svc.http, `/api/logs/${row.id}`);
    expect(stored.body).toMatchObject({ id: row.id, message: row.message, time: row.time, mac });
    tail.close();
    await tail.done;
    const after = await until(
      () => metricsText(svc.http),
      (t) => metric(t, 'handlog_tail_clients') === 0,
      5000,
    );
    expect(metric(after, 'handlog_tail_clients')).toBe(0);
  });

  it('rejects a time range, a limit or a cursor', async () => {
    for (const [q, param] of [['from=-5m', 'from'], ['limit=5', 'limit'], ['cursor=x', 'cursor'], ['mac=nope', 'mac']] as const) {
      const r = await api<{ error: { code: string; message: string } }>(svc.http, `/api/logs/tail?${q}`);
      expect(r.status).toBe(400);
      expect(r.body.error.message.startsWith(`${param}: `)).toBe(true);
    }
  });
});

describe('devices and battery', () => {
  const mac = '00907a330001';
  // On a whole minute, so that each reading and its status line (1 s later) share a 10 s bucket.
  const base = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
  beforeAll(async () => {
    const lines: string[] = [];
    for (let i = 0; i < 12; i++) {
      const ms = base + i * 10 * 60_000;
      // Level falls from 90 % by 5 per step; temperature 25.0 → 30.5 °C; discharging, unplugged.
      lines.push(line(mac, 'battery_level', `[${90 - i * 5},${4100 - i * 20},${250 + i * 5}]`, 6, ms));
      lines.push(line(mac, 'battery_status', `[3,2,1,0,Li-ion]`, 6, ms + 1000));
    }
    // Then it is put on the charger (USB).
    lines.push(line(mac, 'battery_status', `[2,2,1,2,Li-ion]`, 6, base + 115 * 60_000));
    lines.push(line(mac, 'SipService', 'Registration FAILED', 3, base + 116 * 60_000));
    await sendTcp(lines.join('\n') + '\n');
    await count(`mac=${mac}`, lines.length);
  });

  it('lists every device with its last values, sorted and searched', async () => {
    const dev = await until(
      () => api<DeviceSummary>(svc.http, `/api/devices/${mac}`),
      (r) => r.status === 200 && r.body.messages >= 26,
    );
    expect(dev.body).toMatchObject({
      mac,
      messages: 26,
      source_ip: '127.0.0.1',
      tag: 'SipService',
      errors_24h: 1,
      battery: { level_pct: 35, voltage_mv: 3880, temperature_c: 30.5, status: 2, status_name: 'Charging', plugged: 2, plugged_name: 'USB' },
    });
    expect(dev.body.last_seen).toBe(new Date(base + 116 * 60_000).toISOString());
    // Any notation of the MAC.
    for (const m of ['00:90:7A:33:00:01', '00-90-7a-33-00-01', '0090.7a33.0001']) {
      const r = await api<DeviceSummary>(svc.http, `/api/devices/${m}`);
      expect(r.status).toBe(200);
      expect(r.body.mac).toBe(mac);
    }
    const unknown = await api<{ error: { code: string } }>(svc.http, '/api/devices/00907a000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');

    const all = await api<{ devices: DeviceSummary[]; total: number }>(svc.http, '/api/devices');
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(all.body.devices.length);
    expect(all.body.devices.map((d) => d.mac)).toContain(mac);
    const lastSeen = all.body.devices.map((d) => d.last_seen);
    expect([...lastSeen].sort().reverse()).toEqual(lastSeen);
    const found = await api<{ devices: DeviceSummary[]; total: number }>(svc.http, '/api/devices?q=7a:33:00&sort=mac');
    expect(found.body.devices.map((d) => d.mac)).toEqual([mac]);
    const byBattery = await api<{ devices: DeviceSummary[] }>(svc.http, '/api/devices?sort=-battery_level_pct&limit=1');
    expect(byBattery.body.devices).toHaveLength(1);
    expect(byBattery.body.devices[0]?.mac).toBe(mac); // the only device that reported a level
    const byMac = await api<{ devices: DeviceSummary[] }>(svc.http, '/api/devices?sort=mac');
    const macs = byMac.body.devices.map((d) => d.mac);
    expect([...macs].sort()).toEqual(macs);
  });

  it('returns the battery series, downsampled', async () => {
    type Series = {
      mac: string;
      from: string;
      to: string;
      interval_ms: number;
      points: { t: string; samples: number; level_pct: number | null; temperature_c: number | null; voltage_mv: number | null; status_name: string | null; plugged_name: string | null }[];
    };
    const all = await api<Series>(svc.http, `/api/devices/${mac}/battery`);
    expect(all.status).toBe(200);
    expect(all.body.mac).toBe(mac);
    expect(all.body.from).toBe(new Date(base).toISOString());
    // 115 minutes of data in at most 1000 points: 10 s buckets, one sample of each kind per bucket.
    expect(all.body.interval_ms).toBe(10_000);
    const levels = all.body.points.filter((p) => p.level_pct !== null);
    expect(levels.map((p) => p.level_pct)).toEqual(Array.from({ length: 12 }, (_, i) => 90 - i * 5));
    expect(levels[0]).toMatchObject({ t: new Date(base).toISOString(), temperature_c: 25, voltage_mv: 4100, status_name: 'Discharging', plugged_name: 'Unplugged', samples: 2 });
    expect(all.body.points.at(-1)).toMatchObject({ status_name: 'Charging', plugged_name: 'USB', level_pct: null });

    // A week: hourly-or-coarser buckets averaging several readings.
    const week = await api<Series>(svc.http, `/api/devices/00:90:7a:33:00:01/battery?from=-7d&to=now`);
    expect(week.body.points.length).toBeLessThanOrEqual(1000);
    expect(week.body.interval_ms).toBe(15 * 60_000);
    const samples = week.body.points.reduce((n, p) => n + p.samples, 0);
    expect(samples).toBe(25);
    // Readings every 10 min in 15 min buckets: some buckets average two levels 5 % apart.
    expect(week.body.points.some((p) => p.level_pct !== null && p.level_pct % 5 === 2.5)).toBe(true);

    const none = await api<Series>(svc.http, `/api/devices/${mac}/battery?from=2020-01-01&to=2020-01-02`);
    expect(none.status).toBe(200);
    expect(none.body.points).toEqual([]);
    const unknown = await api<{ error: { code: string } }>(svc.http, '/api/devices/00907a000000/battery');
    expect(unknown.status).toBe(404);
    const bad = await api<{ error: { message: string } }>(svc.http, `/api/devices/${mac}/battery?from=later`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^from: /);
  });
});

describe('tags, stats and export', () => {
  const mac = '00907a440001';
  const tricky = 'a "quoted", comma\nand a second line';
  beforeAll(async () => {
    const lines = [
      line(mac, 'ApiTestAlpha', 'alpha one', 3),
      line(mac, 'ApiTestAlpha', 'alpha two', 4),
      line(mac, 'ApiTestAlpha', tricky, 6),
      line(mac, 'ApiTestBeta', 'beta one', 0),
      line(mac, 'ApiTestBeta', 'beta two', 6),
    ];
    await sendTcp(frames(lines));
    await count(`mac=${mac}`, lines.length);
  });

  it('fields cut each row to what is asked (id and time always), pages unchanged', async () => {
    const full = await api<{ rows: StoredRecord[]; next_cursor: string | null }>(svc.http, `/api/logs?mac=${mac}&limit=2`);
    const cut = await api<{ rows: Record<string, unknown>[]; next_cursor: string | null }>(
      svc.http,
      `/api/logs?mac=${mac}&limit=2&fields=message,severity,battery`,
    );
    expect(cut.status).toBe(200);
    expect(cut.body.rows).toEqual(full.body.rows.map((r) => ({ id: r.id, time: r.time, message: r.message, severity: r.severity })));
    expect(cut.body.next_cursor).toBe(full.body.next_cursor);
    const next = await api<{ rows: Record<string, unknown>[] }>(svc.http, `/api/logs?mac=${mac}&limit=2&fields=tag&cursor=${encodeURIComponent(cut.body.next_cursor ?? '')}`);
    expect(next.body.rows.map((r) => Object.keys(r).sort())).toEqual([['id', 'tag', 'time'], ['id', 'tag', 'time']]);
  });

  it('tags with counts, filtered by text and time', async () => {
    const r = await api<{ tags: { tag: string; count: number }[] }>(svc.http, '/api/tags?q=apitest');
    expect(r.status).toBe(200);
    expect(r.body.tags).toEqual([
      { tag: 'ApiTestAlpha', count: 3 },
      { tag: 'ApiTestBeta', count: 2 },
    ]);
    const limited = await api<{ tags: { tag: string; count: number }[] }>(svc.http, '/api/tags?q=APITEST&limit=1&from=-1h');
    expect(limited.body.tags).toEqual([{ tag: 'ApiTestAlpha', count: 3 }]);
    const past = await api<{ tags: unknown[] }>(svc.http, '/api/tags?q=apitest&from=2020-01-01&to=2020-02-01');
    expect(past.body.tags).toEqual([]);
    const all = await api<{ tags: { tag: string; count: number }[] }>(svc.http, '/api/tags');
    expect(all.body.tags.length).toBeGreaterThan(2);
    expect(all.body.tags.every((t) => t.tag !== '')).toBe(true);
  });

  it('stats: severity per bucket, top tags and talkers, under the filters', async () => {
    type Stats = {
      total: number;
      interval_ms: number;
      buckets: { t: string; total: number; severity: Record<string, number> }[];
      top_tags: { tag: string; count: number }[];
      top_macs: { mac: string; count: number }[];
    };
    const r = await api<Stats>(svc.http, `/api/stats?mac=${mac}&from=-1h&to=now`);
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(5);
    expect(r.body.interval_ms).toBe(30_000);
    expect(r.body.buckets.length).toBeGreaterThanOrEqual(120);
    expect(r.body.buckets.length).toBeLessThanOrEqual(121);
    const sum = (name: string) => r.body.buckets.reduce((n, b) => n + (b.severity[name] ?? 0), 0);
    expect([sum('Fatal'), sum('Error'), sum('Warning'), sum('Info'), sum('Unknown')]).toEqual([1, 1, 1, 2, 0]);
    expect(r.body.buckets.reduce((n, b) => n + b.total, 0)).toBe(5);
    expect(r.body.top_tags).toEqual([
      { tag: 'ApiTestAlpha', count: 3 },
      { tag: 'ApiTestBeta', count: 2 },
    ]);
    expect(r.body.top_macs).toEqual([{ mac, count: 5 }]);

    const errors = await api<Stats>(svc.http, `/api/stats?mac=${mac}&max_severity=error&interval=1h`);
    expect(errors.body.total).toBe(2);
    expect(errors.body.interval_ms).toBe(3_600_000);
    expect(errors.body.top_tags).toEqual([
      { tag: 'ApiTestAlpha', count: 1 },
      { tag: 'ApiTestBeta', count: 1 },
    ]);
    const everything = await api<Stats>(svc.http, '/api/stats');
    expect(everything.status).toBe(200);
    expect(everything.body.buckets.length).toBeLessThanOrEqual(201);
    expect(everything.body.top_macs.length).toBeLessThanOrEqual(10);
    const bad = await api<{ error: { message: string } }>(svc.http, '/api/stats?interval=1s&from=-30d&to=now');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^interval: /);
  });

  it('exports every match as NDJSON and as CSV, streamed', async () => {
    const nd = await fetch(`${svc.http}/api/logs/export?mac=${mac}&format=ndjson`);
    expect(nd.status).toBe(200);
    expect(nd.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(nd.headers.get('content-disposition')).toMatch(/^attachment; filename="handlog-.*\.ndjson"$/);
    const ndLines = (await nd.text()).split('\n').filter((l) => l !== '');
    expect(ndLines).toHaveLength(5);
    const rows = ndLines.map((l) => JSON.parse(l) as StoredRecord);
    expect(rows.map((x) => x.message)).toContain(tricky);
    expect(rows.every((x) => x.mac === mac)).toBe(true);

    const csv = await fetch(`${svc.http}/api/logs/export?mac=${mac}&format=csv&tag=ApiTestAlpha`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/\.csv"$/);
    const text = await csv.text();
    const records = parseCsv(text);
    expect(records).toHaveLength(4); // header + 3
    const header = records[0] ?? [];
    const msg = header.indexOf('message');
    expect(header.slice(0, 3)).toEqual(['id', 'time', 'received_at']);
    expect(records.slice(1).map((r) => r[msg]).sort()).toEqual(['alpha one', 'alpha two', tricky].sort());
    expect(records.every((r) => r.length === header.length)).toBe(true);

    const bad = await api<{ error: { message: string } }>(svc.http, `/api/logs/export?format=xlsx`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^format: /);
  });
});


describe('the tail matcher decides as the store does', () => {
  const session = `matcher-${randomUUID().slice(0, 8)}`;
  const now = Date.now();
  const TAGS = ['SipService', 'sipservice', 'SlnkOTA', 'WifiMgr', null];
  const HOSTS = ['172.29.101.149', '172.29.101.150', null];
  const MACS = ['00907a55aaaa', '00907a55bbbb', null];
  const MESSAGES = ['Call state CONNECTED', 'OTA 50% complete', 'under_score', 'path C:\\temp\\x', 'Ünïcode Straße', 'two\nlines', 'Registration FAILED'];
  const DATA: StoredRecord[] = Array.from({ length: 210 }, (_, i) => {
    const severity = i % 9 === 8 ? null : i % 8;
    const time = new Date(now - 60_000 - i * 1000).toISOString();
    return {
      id: randomUUID(),
      time,
      received_at: new Date(now).toISOString(),
      source_ip: '10.0.0.1',
      transport: 'import',
      session,
      format: 'pivot',
      facility: 16,
      severity,
      severity_name: severity === null ? null : (SEVERITY_NAMES[severity] ?? null),
      syslog_time: null,
      host: HOSTS[i % HOSTS.length] ?? null,
      tag: TAGS[i % TAGS.length] ?? null,
      pid: null,
      tid: null,
      mac: MACS[i % MACS.length] ?? null,
      device_time: time,
      uptime_ms: null,
      missed_events: null,
      message: `${MESSAGES[i % MESSAGES.length] ?? ''} #${i}`,
      raw: 'raw',
    };
  });

  beforeAll(async () => {
    await svc.store.insertLogs(DATA, `matcher-${session}`);
  });

  const cases: LogFilters[] = [
    {},
    { mac: ['00907a55aaaa'] },
    { mac: ['00907a55aaaa', '00907a55bbbb'] },
    { tag: ['SipService'] },
    { tag: ['sipservice', 'SlnkOTA'] },
    { tag_contains: 'SIPSERV' },
    { tag_contains: 'e' },
    { severity: [0, 3, 7] },
    { max_severity: 3 },
    { max_severity: 7 },
    { q: 'connected' },
    { q: '50% c' },
    { q: '_' },
    { q: 'c:\\temp' },
    { q: 'ÜNÏCODE' },
    { q: 'two\nlines' },
    { q: '"50% c"' },
    { q: 'lines two' },
    { q: '"lines two"' },
    { host: '172.29.101.150' },
    { from: new Date(now - 60_000 - 100_000).toISOString(), to: new Date(now - 60_000 - 50_000).toISOString() },
    { mac: ['00907a55bbbb'], max_severity: 6, q: 'failed', tag_contains: 'service' },
  ];

  const toQuery = (f: LogFilters): string => {
    const q = new URLSearchParams({ session, limit: '10000' });
    if (f.mac !== undefined) q.set('mac', f.mac.join(','));
    if (f.tag !== undefined) q.set('tag', f.tag.join('|'));
    if (f.tag_contains !== undefined) q.set('tag_contains', f.tag_contains);
    if (f.severity !== undefined) q.set('severity', f.severity.join(','));
    if (f.max_severity !== undefined) q.set('max_severity', String(f.max_severity));
    if (f.q !== undefined) q.set('q', f.q);
    if (f.host !== undefined) q.set('host', f.host);
    if (f.from !== undefined) q.set('from', f.from);
    if (f.to !== undefined) q.set('to', f.to);
    return q.toString();
  };

  it.each(cases.map((f) => [JSON.stringify(f), f] as const))('%s', async (_name, f) => {
    const want = DATA.filter((r) => matchesFilters(r, { ...f, session })).map((r) => r.id).sort();
    const got = await api<{ rows: StoredRecord[] }>(svc.http, `/api/logs?${toQuery(f)}`);
    expect(got.status).toBe(200);
    expect(got.body.rows.map((r) => r.id).sort()).toEqual(want);
  });

  it('export pages (keyset) neither skip nor repeat rows', async () => {
    const ids: string[] = [];
    for await (const r of exportLogs(svc.store.client, { session }, { pageRows: 7 })) ids.push(r.id);
    expect(ids).toHaveLength(DATA.length);
    expect(new Set(ids).size).toBe(DATA.length);
    // Newest first, like /api/logs.
    expect(ids).toEqual(DATA.map((r) => r.id));
  });
});

describe('a tail client that does not read', () => {
  it('is sent an overflow event and disconnected, while ingestion goes on', async () => {
    const mac = '00907a660001';
    // A raw socket that stops reading once the headers are in.
    const sock = net.connect(port(svc.addresses['http']), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET /api/logs/tail?mac=${mac} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    let received = '';
    await new Promise<void>((resolve) => {
      const onData = (b: Buffer) => {
        received += b.toString('latin1');
        if (received.includes(': tail open')) {
          sock.off('data', onData);
          sock.pause();
          resolve();
        }
      };
      sock.on('data', onData);
    });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    // Rows of ~1 KB each: far more than the 10,000-row / 8 MiB buffer plus what the kernel buffers hold.
    const before = metric(await metricsText(svc.http), 'handlog_tail_dropped_clients_total');
    const filler = 'x'.repeat(600);
    const batch = Array.from({ length: 5000 }, (_, i) => line(mac, 'Flood', `${i} ${filler}`)).join('\n') + '\n';
    let sent = 0;
    while (metric(await metricsText(svc.http), 'handlog_tail_dropped_clients_total') === before && sent < 60_000) {
      await sendTcp(batch);
      sent += 5000;
    }
    expect(metric(await metricsText(svc.http), 'handlog_tail_dropped_clients_total')).toBe(before + 1);
    expect(metric(await metricsText(svc.http), 'handlog_tail_clients')).toBe(0);
    // Reading again: whatever the socket buffers held, then the overflow event, then the end.
    let rest = '';
    sock.on('data', (b: Buffer) => (rest += b.toString('latin1')));
    sock.resume();
    await closed;
    expect(rest).toContain('event: overflow');
    expect(rest.slice(rest.indexOf('event: overflow'))).toMatch(/^event: overflow\ndata: \{"dropped_rows":\d+,"reason":"client too slow"\}\n\n/);
    // The service kept ingesting: every line sent is stored.
    expect(await count(`mac=${mac}`, sent)).toBe(sent);
  }, 120_000);
});

describe('cursor pagination over HTTP while rows keep arriving', () => {
  it('never skips or repeats a row that existed when paging started', async () => {
    const mac = '00907a550077';
    const base = Date.now() - 3_600_000;
    // 250 rows with distinct body times, some sharing a time (the id breaks the tie).
    await sendTcp(frames(Array.from({ length: 250 }, (_, i) => line(mac, 'SipService', `page row ${i}`, 6, base + Math.floor(i / 2) * 1000))));
    expect(await count(`mac=${mac}`, 250)).toBe(250);
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const r = await api<{ rows: StoredRecord[]; next_cursor: string | null }>(svc.http, `/api/logs?mac=${mac}&limit=40${q}`);
      expect(r.status).toBe(200);
      for (const row of r.body.rows) seen.push(row.message);
      cursor = r.body.next_cursor;
      // Between pages, new rows arrive: newer ones (they sort before the cursor) and older ones
      // inside the range already paged.
      await sendTcp(
        frames([
          line(mac, 'SipService', `new newest ${page}`, 6, Date.now()),
          line(mac, 'SipService', `new older ${page}`, 6, base + 10 * page * 1000 + 500),
        ]),
      );
      page++;
    } while (cursor !== null && page < 50);
    const original = seen.filter((m) => m.startsWith('page row '));
    expect(new Set(seen).size).toBe(seen.length); // nothing repeated
    expect(original.length).toBe(250); // nothing of the original set skipped
    expect(seen.some((m) => m.startsWith('new newest'))).toBe(false); // newer rows sort before the first page
  }, 60_000);
});

describe('request size', () => {
  it('takes a filter of 2,000 MACs in the URL, and answers a head over 64 KiB with a JSON 431', async () => {
    const macs = Array.from({ length: 2000 }, (_, i) => '00907a' + (0x200000 + i).toString(16).slice(-6)).join(',');
    const ok = await api<{ count: number }>(svc.http, `/api/logs/count?mac=${macs}`);
    expect(ok.status).toBe(200);
    expect(typeof ok.body.count).toBe('number');
    const res = await fetch(`${svc.http}/api/logs/count?q=${'x'.repeat(70_000)}`);
    expect(res.status).toBe(431);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toMatch(/64 KiB/);
  });
});
