// Store tests against the real embedded engine (chdb) in a temp directory. One embedded store per
// process: this file opens, closes and reopens the same directory (t.reopen), never two at once.

import { textTerms } from '../core/text-query.js';
import { beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { BatteryInfo, StoredRecord } from '../core/record.js';
import { SEVERITY_NAMES } from '../core/record.js';
import { HandlogError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { classifyStoreError, isRefusal, openStore, parseClickhouseUrl } from './client.js';
import { getDevice, listDevices } from './devices.js';
import { countLogs, decodeCursor, getLog, messageSearchMode, searchLogs, type LogFilters } from './queries.js';
import { LOG_COLUMNS, LOG_INPUT_TYPES, MIGRATIONS, runMigrations } from './schema.js';
import { useTempStore } from '../test/temp-store.js';

const t = useTempStore('handlog-store-');
const dir = t.dir;

async function rows<T>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
  const rs = await t.store.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function rejection(p: Promise<unknown>): Promise<HandlogError> {
  try {
    await p;
  } catch (e: unknown) {
    if (e instanceof HandlogError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

// ---------------------------------------------------------------------------------------------
// A realistic, deterministic data set.

const NOW = Date.now();
const MACS = ['00907a11baaa', '00907a11bbbb', '00907a22cccc'];
const TAGS = ['SipService', 'sipservice', 'SlnkOTA', 'WifiMgr', 'BatteryService', null];
const HOSTS = ['172.29.101.149', '172.29.101.150', null];
const MESSAGES = [
  'Call state changed to CONNECTED',
  'OTA download 50% complete',
  'under_score value=7',
  'Roaming to AP 00:90:7a:11:22:33 rssi -67',
  'path C:\\temp\\slash ok',
  'Ünïcode Straße check',
  'Registration FAILED: 408 Request Timeout',
];
const STATUS = ['Unknown/no battery', 'Unknown', 'Charging', 'Discharging', 'Not charging', 'Full'];
const HEALTH = ['Unknown/no battery', 'Unknown', 'Good', 'Overheat', 'Dead', 'Over voltage', 'Unspecified failure', 'Cold'];

const iso = (ms: number): string => new Date(ms).toISOString();

function record(i: number, over: Partial<StoredRecord> = {}): StoredRecord {
  // Every fifth row shares its predecessor's time: ties that the (time, id) cursor must order.
  const timeMs = NOW - 60_000 - (i - (i % 5 === 4 ? 1 : 0)) * 1_000;
  const severity = i % 9 === 8 ? null : i % 8;
  const mac = i % 7 === 6 ? null : (MACS[i % MACS.length] ?? null);
  const tag = TAGS[i % TAGS.length] ?? null;
  let battery: BatteryInfo | undefined;
  if (i % 4 === 0) {
    battery = {
      level_pct: 40 + (i % 60),
      voltage_mv: 3700 + i,
      temperature_c: 25.5 + (i % 10) / 10,
      status: i % 6,
      status_name: STATUS[i % 6] ?? '',
      health: 2,
      health_name: HEALTH[2] ?? '',
      present: true,
      plugged: 0,
      plugged_name: 'Unplugged',
      technology: 'Li-ion',
    };
  }
  const message = `${MESSAGES[i % MESSAGES.length] ?? ''} #${i}`;
  const rec: StoredRecord = {
    id: randomUUID(),
    time: iso(timeMs),
    received_at: iso(NOW),
    source_ip: `172.29.101.${140 + (i % 3)}`,
    transport: i % 3 === 0 ? 'udp' : 'tcp',
    session: i % 10 === 0 ? 'capture-1' : '',
    format: mac === null ? 'rfc3164' : 'pivot',
    facility: 16,
    severity,
    severity_name: severity === null ? null : (SEVERITY_NAMES[severity] ?? null),
    syslog_time: iso(timeMs - 500),
    host: HOSTS[i % HOSTS.length] ?? null,
    tag,
    pid: 3000 + i,
    tid: i % 2 === 0 ? null : 4000 + i,
    mac,
    device_time: mac === null ? null : iso(timeMs),
    uptime_ms: i % 3 === 0 ? 4_511_006 + i : null,
    missed_events: i % 5,
    message,
    raw: `<${128 + (severity ?? 7)}>Nov 15 10:23:14 172.29.101.149 ${tag ?? 'x'}[${3000 + i}]: ${mac ?? ''}| ${timeMs}| ${tag ?? ''} |${severity ?? ''}|0| ${message}`,
    ...over,
  };
  if (battery !== undefined) rec.battery = battery;
  if (i % 11 === 3) rec.event = { type: 'call', state: 'connected', line: 1, video: false };
  if (i % 13 === 5) rec.parse_error = 'timestamp not understood';
  return rec;
}

const DATA: StoredRecord[] = Array.from({ length: 420 }, (_, i) => record(i));

function expectNewestFirst(recs: StoredRecord[]): void {
  for (let i = 1; i < recs.length; i++) expect(Date.parse(recs[i - 1]?.time ?? '') >= Date.parse(recs[i]?.time ?? '')).toBe(true);
}

// ---------------------------------------------------------------------------------------------

describe('schema and migrations', () => {
  test('migrations are recorded once, survive a reopen, and retention changes the TTL', async () => {
    const versions = async (): Promise<{ version: number; n: number }[]> =>
      rows('SELECT version, toUInt32(count()) AS n FROM schema_migrations GROUP BY version ORDER BY version');
    expect(await versions()).toEqual([
      ...MIGRATIONS.map((m) => ({ version: m.version, n: 1 })),
    ]);
    await t.store.migrate(); // idempotent within a process
    await t.reopen(30);
    expect(await versions()).toEqual([
      ...MIGRATIONS.map((m) => ({ version: m.version, n: 1 })),
    ]);
    const create = async (t: string): Promise<string> =>
      (await rows<{ statement: string }>(`SHOW CREATE TABLE ${t}`))[0]?.statement ?? '';
    expect(await create('logs')).toContain('TTL received_at + toIntervalDay(30)');
    expect(await create('logs')).toContain('min_bytes_for_wide_part = 134217728');
    await t.reopen(14);
    expect(await create('logs')).toContain('TTL received_at + toIntervalDay(14)');
    expect(await create('device_errors_hourly')).toContain('TTL hour + toIntervalDay(14)');
    expect(await versions()).toHaveLength(MIGRATIONS.length);
  });

  test('row files are read with the table\'s types, LowCardinality aside', async () => {
    const described = await rows<{ name: string; type: string }>('DESCRIBE TABLE logs');
    const types = new Map(described.map((d) => [d.name, d.type]));
    for (const c of LOG_COLUMNS) {
      expect([c, LOG_INPUT_TYPES[c]]).toEqual([c, (types.get(c) ?? '').replace(/^LowCardinality\((.*)\)$/, '$1')]);
    }
  });

  test('a second embedded store in the same process is refused', async () => {
    const e = await rejection(openStore({ dataDir: path.join(dir, 'other'), retentionDays: 30 }));
    expect(e.code).toBe('CONFIG_INVALID');
  });
});

describe('insert and search', () => {
  beforeAll(async () => {
    await t.store.insertLogs(DATA.slice(0, 200), 'data-1');
    await t.store.insertLogs(DATA.slice(200), 'data-2');
  });

  test('every record reads back exactly as written', async () => {
    const page = await searchLogs(t.store.client, { limit: 10_000, from: iso(NOW - 3_600_000), to: iso(NOW) });
    expect(page.rows).toHaveLength(DATA.length);
    const byId = new Map(page.rows.map((r) => [r.id, r]));
    for (const r of DATA) expect(byId.get(r.id)).toEqual(r);
    expectNewestFirst(page.rows);
    const one = DATA[12];
    expect(one).toBeDefined();
    if (one !== undefined) expect(await getLog(t.store.client, one.id)).toEqual(one);
    expect(await getLog(t.store.client, randomUUID())).toBeNull();
  });

  test('the message text index exists and the planner uses it', async () => {
    const idx = await rows<{ name: string; type: string }>(
      `SELECT name, type FROM system.data_skipping_indices WHERE database = currentDatabase() AND table = 'logs' ORDER BY name`,
    );
    expect(idx).toContainEqual({ name: 'idx_message', type: 'text' });
    expect(await messageSearchMode(t.store.client)).toBe('text');
    const rs = await t.store.client.query({
      query: 'EXPLAIN indexes = 1 SELECT id FROM logs WHERE message ILIKE {p:String}',
      query_params: { p: '%connected%' },
      format: 'TabSeparatedRaw',
    });
    expect(await rs.text()).toContain('idx_message');
  });

  const lower = (s: string | null | undefined): string => (s ?? '').toLowerCase();
  const cases: [string, LogFilters, (r: StoredRecord) => boolean][] = [
    ['one mac', { mac: ['00907a11baaa'] }, (r) => r.mac === '00907a11baaa'],
    ['two macs', { mac: ['00907a11baaa', '00907a22cccc'] }, (r) => r.mac === '00907a11baaa' || r.mac === '00907a22cccc'],
    ['exact tag is case-sensitive', { tag: ['SipService'] }, (r) => r.tag === 'SipService'],
    ['tag list', { tag: ['SipService', 'SlnkOTA'] }, (r) => r.tag === 'SipService' || r.tag === 'SlnkOTA'],
    ['tag substring ignores case', { tag_contains: 'SIPserv' }, (r) => lower(r.tag).includes('sipserv')],
    ['severity list', { severity: [0, 3] }, (r) => r.severity === 0 || r.severity === 3],
    ['max severity', { max_severity: 3 }, (r) => r.severity !== null && r.severity <= 3],
    ['text ignores case', { q: 'connected' }, (r) => lower(r.message).includes('connected')],
    ['text phrase', { q: '"STATE changed to conn"' }, (r) => lower(r.message).includes('state changed to conn')],
    ['text words in any order', { q: 'conn STATE' }, (r) => lower(r.message).includes('state') && lower(r.message).includes('conn')],
    ['text words and a phrase', { q: 'wpa_supplicant "changed to"' }, (r) => lower(r.message).includes('wpa_supplicant') && lower(r.message).includes('changed to')],
    ['text with %', { q: '"50% c"' }, (r) => r.message.includes('50% c')],
    ['text with _', { q: 'under_score' }, (r) => r.message.includes('under_score')],
    ['a lone _ is literal', { q: '_' }, (r) => r.message.includes('_')],
    ['text with backslash', { q: 'temp\\slash' }, (r) => r.message.includes('temp\\slash')],
    ['text with quotes and parens', { q: `') OR 1=1 --` }, () => false],
    ['host', { host: '172.29.101.150' }, (r) => r.host === '172.29.101.150'],
    ['session', { session: 'capture-1' }, (r) => r.session === 'capture-1'],
    [
      'time range [from, to)',
      { from: iso(NOW - 60_000 - 100_000), to: iso(NOW - 60_000 - 50_000) },
      (r) => Date.parse(r.time) >= NOW - 160_000 && Date.parse(r.time) < NOW - 110_000,
    ],
    [
      'combined',
      { mac: ['00907a11bbbb'], max_severity: 6, q: 'FAILED' },
      (r) => r.mac === '00907a11bbbb' && r.severity !== null && r.severity <= 6 && lower(r.message).includes('failed'),
    ],
  ];
  test.each(cases)('filter: %s', async (_name, filters, want) => {
    const expected = DATA.filter(want).map((r) => r.id).sort();
    const page = await searchLogs(t.store.client, { ...filters, limit: 10_000 });
    expect(page.rows.map((r) => r.id).sort()).toEqual(expected);
    expect(page.next_cursor).toBeNull();
    expectNewestFirst(page.rows);
    expect(await countLogs(t.store.client, filters)).toBe(expected.length);
  });

  test('non-ASCII text search is case-insensitive too', async () => {
    const page = await searchLogs(t.store.client, { q: 'ÜNÏCODE' });
    expect(page.rows.length).toBe(DATA.filter((r) => r.message.includes('Ünïcode')).length);
  });

  test('invalid filters are BAD_REQUEST', async () => {
    for (const f of [{ limit: 0 }, { limit: 10_001 }, { mac: ['00:90:7a:11:ba:aa'] }, { severity: [8] }, { from: 'yesterday' }, { cursor: 'nope' }]) {
      expect((await rejection(searchLogs(t.store.client, f))).code).toBe('BAD_REQUEST');
    }
    expect((await rejection(getLog(t.store.client, 'x'))).code).toBe('BAD_REQUEST');
  });

  test('the clock of a relative range travels in next_cursor (absent when there is none)', async () => {
    const anchored = await searchLogs(t.store.client, { from: iso(NOW - 3_600_000), anchor_ms: NOW - 5, limit: 1 });
    expect(decodeCursor(anchored.next_cursor ?? '').anchorMs).toBe(NOW - 5);
    const plain = await searchLogs(t.store.client, { from: iso(NOW - 3_600_000), limit: 1 });
    expect(decodeCursor(plain.next_cursor ?? '')).not.toHaveProperty('anchorMs');
  });

  test('cursor pages neither skip nor repeat rows while new rows arrive', async () => {
    const filters: LogFilters = { from: iso(NOW - 3_600_000), to: iso(NOW + 3_600_000), limit: 7 };
    const expected = DATA.map((r) => r.id).sort();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await searchLogs(t.store.client, cursor === undefined ? filters : { ...filters, cursor });
      seen.push(...page.rows.map((r) => r.id));
      pages++;
      // Newer rows (and one at the very time of the page's last row) arrive between pages.
      const last = page.rows[page.rows.length - 1];
      const extra = [record(1000 + pages, { time: iso(NOW - 1_000 + pages), mac: '00907a99ffff' })];
      if (last !== undefined && pages % 5 === 0) extra.push(record(2000 + pages, { time: last.time, id: '00000000-0000-4000-8000-' + String(pages).padStart(12, '0') }));
      await t.store.insertLogs(extra, `between-pages-${pages}`);
      if (page.next_cursor === null) break;
      cursor = page.next_cursor;
    }
    // Rows inserted behind the cursor (same time, lower id) legitimately show up on later pages.
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(DATA.length / 7));
    const original = seen.filter((id) => expected.includes(id));
    expect(new Set(seen).size).toBe(seen.length); // no repeats
    expect(original.sort()).toEqual(expected); // no skips
    expect(seen.some((id) => DATA.every((r) => r.id !== id) && !id.startsWith('00000000-'))).toBe(false);
  });
});

describe('deduplication and device summaries', () => {
  test('the same batch with the same token is stored once, also in the summaries', async () => {
    const batch = Array.from({ length: 50 }, (_, i) =>
      record(5000 + i, { session: 'dedup', mac: '00907a55dddd', time: iso(NOW - 120_000 + i), severity: i % 2 === 0 ? 3 : 6 }),
    );
    for (const r of batch) r.severity_name = SEVERITY_NAMES[r.severity ?? 0] ?? null;
    await t.store.insertLogs(batch, 'dedup-token-1');
    await t.store.insertLogs(batch, 'dedup-token-1');
    expect(await countLogs(t.store.client, { session: 'dedup' })).toBe(50);
    let dev = await getDevice(t.store.client, '00907a55dddd');
    expect(dev?.messages).toBe(50);
    expect(dev?.errors_24h).toBe(25);
    // A different token is a different insert: the token, not the content, decides.
    await t.store.insertLogs(batch, 'dedup-token-2');
    expect(await countLogs(t.store.client, { session: 'dedup' })).toBe(100);
    dev = await getDevice(t.store.client, '00907a55dddd');
    expect(dev?.messages).toBe(100);
    expect(dev?.errors_24h).toBe(50);
  });

  test('the devices view keeps the newest non-null values and recent error counts', async () => {
    const mac = '00907a66eeee';
    const at = (minutesAgo: number): string => iso(NOW - minutesAgo * 60_000);
    const base = { mac, session: 'devices', parse_error: undefined, event: undefined };
    const r1 = record(6001, { ...base, time: at(50), tag: 'BatteryService', severity: 6, source_ip: '10.1.1.1', battery: { level_pct: 50, temperature_c: 30.5, status: 3, status_name: 'Discharging' } });
    const r2 = record(6002, { ...base, time: at(40), tag: 'SipService', severity: 3, source_ip: '10.1.1.2', battery: undefined });
    const r3 = record(6003, { ...base, time: at(30), tag: 'WifiMgr', severity: 0, source_ip: '10.1.1.3', battery: { temperature_c: 31.25 } });
    const old = record(6004, { ...base, time: at(60 * 30), tag: 'Old', severity: 2, source_ip: '10.1.1.4', battery: { level_pct: 10, status: 2, status_name: 'Charging' } });
    for (const r of [r1, r2, r3, old]) delete r.battery?.health;
    r2.battery = undefined;
    await t.store.insertLogs([r2, r3], 'dev-1');
    await t.store.insertLogs([old, r1], 'dev-2'); // later insert, older times: must not win
    const d = await getDevice(t.store.client, mac);
    expect(d).toMatchObject({
      mac,
      last_seen: r3.time,
      first_seen: old.time,
      messages: 4,
      source_ip: '10.1.1.3',
      tag: 'WifiMgr',
      battery_time: r3.time,
      battery: { level_pct: 50, temperature_c: 31.25, status: 3, status_name: 'Discharging' },
      errors_24h: 2, // r2 (Error) and r3 (Fatal); the 30 h old one is outside the window
      fatal_24h: 1,
    });
    const all = await listDevices(t.store.client);
    expect(all.map((x) => x.mac)).toContain(mac);
    expect(await getDevice(t.store.client, '00907a000000')).toBeNull();
  });
});

describe('concurrency and lifecycle', () => {
  test('concurrent inserts and searches on one client all succeed', async () => {
    const batches = [0, 1, 2].map((b) => Array.from({ length: 300 }, (_, i) => record(9000 + b * 300 + i, { session: `concurrent-${b}` })));
    const before = await countLogs(t.store.client, { tag: ['SipService'] });
    const results = await Promise.all([
      ...batches.map((batch, b) => t.store.insertLogs(batch, `concurrent-${b}`)),
      ...[0, 1, 2, 3].map(() => searchLogs(t.store.client, { tag: ['SipService'], limit: 50 })),
      countLogs(t.store.client, {}),
    ]);
    expect(results).toHaveLength(8);
    for (const b of [0, 1, 2]) expect(await countLogs(t.store.client, { session: `concurrent-${b}` })).toBe(300);
    expect(await countLogs(t.store.client, { tag: ['SipService'] })).toBe(before + batches.flat().filter((r) => r.tag === 'SipService').length);
  });

  test('an empty batch is a no-op and a token is required', async () => {
    await t.store.insertLogs([], 'empty');
    expect((await rejection(t.store.insertLogs([record(9999)], ''))).code).toBe('INTERNAL');
  });

  test('changing retention on a table with data keeps the data and changes the TTL', async () => {
    const n = await countLogs(t.store.client, {});
    await t.reopen(21);
    const ddl = (await rows<{ statement: string }>('SHOW CREATE TABLE logs'))[0]?.statement ?? '';
    expect(ddl).toContain('TTL received_at + toIntervalDay(21)');
    expect(await countLogs(t.store.client, {})).toBe(n);
    expect(await t.store.ping()).toBe(true);
  });
});

describe('error classification', () => {
  test('data the store cannot hold is STORE_REJECTED, before or by the engine', async () => {
    const bad = record(7000, { time: 'yesterday' });
    const e = await rejection(t.store.insertLogs([record(7001), bad], 'bad-1'));
    expect(e.code).toBe('STORE_REJECTED');
    expect(e.message).toContain('row 1');
    const badSeverity = await rejection(t.store.insertLogs([record(7002, { severity: 3.5 })], 'bad-2'));
    expect(badSeverity.code).toBe('STORE_REJECTED');
    // The engine's own refusal of malformed data classifies the same way.
    let engineError: unknown;
    try {
      await t.store.client.insert({ table: 'logs', values: [{ id: 'not-a-uuid', time: 'garbage' }], format: 'JSONEachRow' });
    } catch (err: unknown) {
      engineError = err;
    }
    expect(isRefusal(engineError)).toBe(true);
    expect(classifyStoreError(engineError, 'insert').code).toBe('STORE_REJECTED');
    expect(classifyStoreError(new Error('connect ECONNREFUSED'), 'insert').code).toBe('STORE_UNAVAILABLE');
  });

  test('server mode with nothing listening: open works, migrate and insert are STORE_UNAVAILABLE', async () => {
    const started = Date.now();
    const s = await openStore({ dataDir: dir, clickhouseUrl: 'http://127.0.0.1:1/handlog', retentionDays: 30, requestTimeoutMs: 1_000 });
    try {
      expect(s.mode).toBe('server');
      expect(s.database).toBe('handlog');
      expect((await rejection(s.migrate())).code).toBe('STORE_UNAVAILABLE');
      expect((await rejection(s.insertLogs([record(8000)], 'srv-1'))).code).toBe('STORE_UNAVAILABLE');
      expect(await s.ping()).toBe(false);
    } finally {
      await s.close();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('a server that accepts but never answers times out as STORE_UNAVAILABLE', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const s = await openStore({ dataDir: dir, clickhouseUrl: `http://127.0.0.1:${port}`, retentionDays: 30, requestTimeoutMs: 500 });
      const started = Date.now();
      const e = await rejection(s.insertLogs([record(8001)], 'srv-2'));
      expect(e.code).toBe('STORE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(5_000);
      await s.close();
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });

  test('a proxy answering 503 is STORE_UNAVAILABLE', async () => {
    const proxy = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('Service Unavailable');
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as net.AddressInfo;
    try {
      const s = await openStore({ dataDir: dir, clickhouseUrl: `http://127.0.0.1:${port}`, retentionDays: 30, requestTimeoutMs: 1_000 });
      expect((await rejection(s.migrate())).code).toBe('STORE_UNAVAILABLE');
      expect((await rejection(s.insertLogs([record(8002)], 'srv-3'))).code).toBe('STORE_UNAVAILABLE');
      await s.close();
    } finally {
      proxy.close();
    }
  });

  test('server URL: credentials from the URL or the environment, database from the path', () => {
    expect(parseClickhouseUrl('https://u:p%40ss@ch.example:8443/logsdb', {})).toEqual({
      url: 'https://ch.example:8443',
      username: 'u',
      password: 'p@ss',
      database: 'logsdb',
    });
    expect(parseClickhouseUrl('http://ch:8123', { CLICKHOUSE_USER: 'env-user', CLICKHOUSE_PASSWORD: 'env-pw' })).toEqual({
      url: 'http://ch:8123',
      username: 'env-user',
      password: 'env-pw',
      database: 'handlog',
    });
    for (const bad of ['not a url', 'ftp://ch/x', 'http://ch/bad-name;drop']) {
      expect(() => parseClickhouseUrl(bad, {})).toThrow(HandlogError);
    }
  });
});

describe('fallback message index', () => {
  test('a server refusing the text index gets ngrambf_v1, and text search still works', async () => {
    await t.store.client.command({ query: 'CREATE DATABASE IF NOT EXISTS handlog_fallback' });
    await t.store.client.command({ query: 'USE handlog_fallback' });
    try {
      const refused = Object.assign(new Error('Code: 344. DB::Exception: text index is disabled. (SUPPORT_IS_DISABLED)'), {
        code: '344',
        type: 'SUPPORT_IS_DISABLED',
      });
      await runMigrations({
        retentionDays: 30,
        logger: silentLogger,
        isRefusal,
        exec: async (sql) => {
          if (sql.includes('TYPE text(')) throw refused;
          await t.store.client.command({ query: sql });
        },
        command: async (sql, params) => {
          await t.store.client.command({ query: sql, query_params: params });
        },
        select: async <T>(sql: string, params?: Record<string, unknown>): Promise<T[]> => rows<T>(sql, params),
      });
      expect(await messageSearchMode(t.store.client, { refresh: true })).toBe('ngram');
      const notes = await rows<{ note: string }>('SELECT note FROM schema_migrations WHERE version = 1');
      expect(notes[0]?.note).toContain('ngrambf_v1');
      const batch = DATA.slice(0, 60);
      await t.store.insertLogs(batch, 'fallback-1'); // unqualified `logs` is now handlog_fallback.logs
      const plan = await t.store.client.query({
        query: 'EXPLAIN indexes = 1 SELECT id FROM logs WHERE lowerUTF8(message) LIKE lowerUTF8({p:String})',
        query_params: { p: '%connected%' },
        format: 'TabSeparatedRaw',
      });
      expect(await plan.text()).toContain('idx_message');
      for (const q of ['connected', '"STATE changed to conn"', 'conn STATE', '"50% c"', 'under_score']) {
        const terms = textTerms(q).map((t) => t.toLowerCase());
        const want = batch.filter((r) => terms.every((t) => r.message.toLowerCase().includes(t))).map((r) => r.id).sort();
        expect((await searchLogs(t.store.client, { q, limit: 1000 })).rows.map((r) => r.id).sort()).toEqual(want);
      }
    } finally {
      await t.store.client.command({ query: 'USE handlog' });
      await messageSearchMode(t.store.client, { refresh: true });
    }
  });
});
