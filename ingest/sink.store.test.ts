// The WAL and the sink against the real embedded ClickHouse (chdb). libchdb allows one engine per
// process and vitest runs each test file in its own fork: this file opens ONE store for all its tests.
// Each test writes its own session value (and its own MACs), so counts never see another test's rows.

import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from '../core/metrics.js';
import { silentLogger } from '../core/logger.js';
import { HandlogError } from '../core/errors.js';
import { eventTime, type StoredRecord } from '../core/record.js';
import { parseLine } from '../parsers/detect.js';
import { handsetLine, rng } from '../bench/corpus.js';
import { getDevice } from '../store/devices.js';
import { countLogs, searchLogs } from '../store/queries.js';
import { encodeLogRow } from '../store/schema.js';
import { createWal, type Wal, type WalConfig } from './wal.js';
import { createSink, type Sink, type SinkConfig } from './sink.js';
import { useTempStore } from '../test/temp-store.js';

const t = useTempStore('handlog-sink-store-', { subdir: 'data' });
const root = t.dir;

interface Rig {
  wal: Wal;
  sink: Sink;
  metrics: Registry;
  /** The WAL directory; dead letters go to `<base>/dead-letter`. */
  dir: string;
  base: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let rigs = 0;
/** A WAL and a sink on the shared store. `base` reuses a directory (a restart). */
async function rig(opts: { wal?: Partial<WalConfig>; sink?: Partial<SinkConfig>; base?: string } = {}): Promise<Rig> {
  const base = opts.base ?? path.join(root, `rig-${++rigs}`);
  const dir = path.join(base, 'wal');
  const metrics = new Registry();
  const wal = createWal({ dir, maxAgeMs: 60_000, ...opts.wal }, { metrics, logger: silentLogger });
  await wal.open();
  const sink = createSink({ retryBaseMs: 5, retryMaxMs: 100, ...opts.sink }, { wal, store: t.store, metrics, logger: silentLogger });
  cleanups.push(() => wal.close());
  cleanups.push(() => sink.close(5000));
  return { wal, sink, metrics, dir, base };
}

const walFiles = (dir: string): string[] => fs.readdirSync(dir).sort();

/** A realistic handset record as the pipeline stores it, received `agoMs` before now. */
function record(i: number, session: string, mac: string, agoMs = 0): StoredRecord {
  const receivedMs = Date.now() - agoMs;
  const device = new Date(receivedMs - 40).toISOString();
  const message = `Process call state change: cid=${i % 9} cstate=CALL_STATE_CONFIRMED mstate=MEDIA_STATE_ACTIVE respCode=200`;
  return {
    format: 'pivot',
    facility: 16,
    severity: 6,
    severity_name: 'Info',
    syslog_time: new Date(receivedMs - (receivedMs % 1000)).toISOString(),
    host: '172.29.101.149',
    tag: 'SipService',
    pid: 3367,
    tid: null,
    mac,
    device_time: device,
    uptime_ms: 4_511_006 + i,
    missed_events: 0,
    message,
    id: randomUUID(),
    time: device,
    received_at: new Date(receivedMs).toISOString(),
    source_ip: '172.29.101.149',
    transport: 'tcp',
    session,
    raw: `<134>Mar  1 10:23:14 172.29.101.149 SipService[3367]: ${mac}| ${receivedMs}| SipService |6|0| ${message}`,
  };
}

/** Every id stored for a session (at most 10,000). */
async function storedIds(session: string): Promise<string[]> {
  const page = await searchLogs(t.store.client, { session, limit: 10_000 });
  return page.rows.map((r) => r.id).sort();
}

const lineId = (line: string): string => (JSON.parse(line) as { id: string }).id;

describe('WAL + sink + embedded store', () => {
  it('stores every appended row in logs and deletes the segments', async () => {
    const session = 'store-a';
    const mac = '00907a0000a1';
    const { wal, sink, metrics, dir } = await rig({ wal: { maxRows: 10 } });
    const recs = Array.from({ length: 25 }, (_, i) => record(i, session, mac));
    const lines = recs.map(encodeLogRow);
    for (const l of lines) expect(wal.append(l)).toBe(true);
    wal.seal();
    expect(walFiles(dir)).toHaveLength(3);
    sink.start();
    expect(await sink.flush(30_000)).toBe(true);

    expect(await countLogs(t.store.client, { session })).toBe(25);
    expect(await storedIds(session)).toEqual(lines.map(lineId).sort());
    // A row reads back as the record that was appended.
    const page = await searchLogs(t.store.client, { session, limit: 100 });
    const want = recs[7]!;
    expect(page.rows.find((r) => r.id === want.id)).toMatchObject({
      message: want.message,
      mac,
      tag: 'SipService',
      severity: 6,
      pid: 3367,
      uptime_ms: want.uptime_ms,
      time: want.time,
      received_at: want.received_at,
      session,
      raw: want.raw,
    });
    expect(walFiles(dir)).toEqual([]);
    expect(wal.depth()).toEqual({ segments: 0, bytes: 0, rows: 0 });
    expect(sink.storeHealthy).toBe(true);
    const text = metrics.render();
    expect(text).toContain('handlog_inserted_rows_total 25');
    expect(text).toContain('handlog_insert_batches_total{result="ok"} 3');
    expect(text).not.toContain('dead_letter');
  });

  it('stores a segment inserted twice with the same token once, in logs and in the device summary', async () => {
    const session = 'store-b';
    const mac = '00907a0000b2';
    const first = await rig();
    const lines = Array.from({ length: 7 }, (_, i) => encodeLogRow(record(i, session, mac)));
    for (const l of lines) first.wal.append(l);
    first.wal.seal();
    const [segFile] = walFiles(first.dir);
    expect(segFile).toMatch(/^seg-\d+-[0-9a-f]+\.wal$/);
    // Keep a copy: the same file reappearing after the sink deleted it is a crash between insert and delete.
    const copy = path.join(first.base, 'copy.wal');
    fs.copyFileSync(path.join(first.dir, segFile!), copy);
    first.sink.start();
    expect(await first.sink.flush(30_000)).toBe(true);
    expect(walFiles(first.dir)).toEqual([]);
    expect(await countLogs(t.store.client, { session })).toBe(7);
    await first.sink.close();
    await first.wal.close();

    // Restart on the same directory with the segment back: recovered, inserted with the same token.
    fs.copyFileSync(copy, path.join(first.dir, segFile!));
    const second = await rig({ base: first.base });
    expect(second.wal.depth()).toMatchObject({ segments: 1, rows: 7 });
    second.sink.start();
    expect(await second.sink.flush(30_000)).toBe(true);
    expect(second.metrics.render()).toContain('handlog_insert_batches_total{result="ok"} 1');
    expect(walFiles(first.dir)).toEqual([]);
    expect(await countLogs(t.store.client, { session })).toBe(7);
    expect(await storedIds(session)).toEqual(lines.map(lineId).sort());

    // The store call itself, twice in a row with one token.
    const token = segFile!.replace(/\.wal$/, '');
    await t.store.insertFile(copy, token);
    await t.store.insertFile(copy, token);
    expect(await countLogs(t.store.client, { session })).toBe(7);
    // The materialized view behind the device summary deduplicates the retried blocks too.
    expect((await getDevice(t.store.client, mac))?.messages).toBe(7);

    // Different token, same file: stored again (the token, not the content, decides).
    await t.store.insertFile(copy, token + '-other');
    expect(await countLogs(t.store.client, { session })).toBe(14);
  });

  it('splits a segment the store refuses: good rows stored, the bad row dead-lettered and counted', async () => {
    const session = 'store-c';
    const mac = '00907a0000c3';
    const { wal, sink, metrics, dir, base } = await rig({ sink: { maxSplitDepth: 3 } });
    const lines = Array.from({ length: 8 }, (_, i) => encodeLogRow(record(i, session, mac)));
    // Valid JSON with a string id, so the WAL calls it a row; the engine cannot parse its time.
    const bad = JSON.stringify({ ...(JSON.parse(lines[5]!) as Record<string, unknown>), time: 'not a time' });
    lines[5] = bad;
    for (const l of lines) wal.append(l);
    wal.seal();
    const segName = walFiles(dir)[0]!.replace(/\.wal$/, '');
    sink.start();
    expect(await sink.flush(30_000)).toBe(true);

    const good = lines.filter((l) => l !== bad);
    expect(await countLogs(t.store.client, { session })).toBe(7);
    expect(await storedIds(session)).toEqual(good.map(lineId).sort());
    const deadDir = path.join(base, 'dead-letter');
    expect(fs.readdirSync(deadDir).sort()).toEqual([segName + '.reason', segName + '.wal']);
    expect(fs.readFileSync(path.join(deadDir, segName + '.wal'), 'utf8')).toBe(bad + '\n');
    const reason = JSON.parse(fs.readFileSync(path.join(deadDir, segName + '.reason'), 'utf8')) as Record<string, unknown>;
    expect(reason).toMatchObject({ segment: segName, code: 'STORE_REJECTED', rows: 1 });
    expect(String(reason['message'])).toMatch(/not a time|DateTime|parse/i);
    const text = metrics.render();
    expect(text).toContain('handlog_dropped_total{reason="dead_letter"} 1');
    expect(text).toContain('handlog_inserted_rows_total 7');
    // Whole file, [4..7], [4,5] and [5] refused; [0..3], [6,7], [4] inserted.
    expect(text).toContain('handlog_insert_batches_total{result="rejected"} 4');
    expect(text).toContain('handlog_insert_batches_total{result="ok"} 3');
    expect(walFiles(dir)).toEqual([]);
    expect(sink.storeHealthy).toBe(true);
  });

  it('dead-letters a row with a wrongly typed column and keeps the rest of its segment', async () => {
    const session = 'store-d';
    const mac = '00907a0000d4';
    const { wal, sink, metrics, dir, base } = await rig();
    const lines = Array.from({ length: 4 }, (_, i) => encodeLogRow(record(i, session, mac)));
    const bad = JSON.stringify({ ...(JSON.parse(lines[0]!) as Record<string, unknown>), pid: { nested: 'object' } });
    lines[0] = bad;
    for (const l of lines) wal.append(l);
    wal.seal();
    const segName = walFiles(dir)[0]!.replace(/\.wal$/, '');
    // The store call refuses it as data, not as an outage.
    await expect(t.store.insertLines([bad], 'probe-' + randomUUID())).rejects.toSatisfy(
      (e: unknown) => e instanceof HandlogError && e.code === 'STORE_REJECTED',
    );
    sink.start();
    expect(await sink.flush(30_000)).toBe(true);

    // maxSplitDepth 2 on 4 rows isolates single rows.
    expect(await storedIds(session)).toEqual(lines.slice(1).map(lineId).sort());
    expect(fs.readFileSync(path.join(base, 'dead-letter', segName + '.wal'), 'utf8')).toBe(bad + '\n');
    const text = metrics.render();
    expect(text).toContain('handlog_dropped_total{reason="dead_letter"} 1');
    // Whole file, [0,1] and [0] refused; [1] and [2,3] inserted.
    expect(text).toContain('handlog_insert_batches_total{result="rejected"} 3');
    expect(text).toContain('handlog_insert_batches_total{result="ok"} 2');
    expect(walFiles(dir)).toEqual([]);
  });

  it('measures rows/s of WAL + sink + embedded store on realistic handset rows', async () => {
    const session = 'store-bench';
    const N = 50_000;
    const r = rng(20240301);
    const start = Date.now() - 10 * 60_000;
    const t0 = performance.now();
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      const receivedAtMs = start + i * 10;
      const h = handsetLine(r, 200, receivedAtMs - 30);
      const rec = parseLine(h.line, { receivedAtMs, tz: 'UTC' });
      const receivedAt = new Date(receivedAtMs).toISOString();
      const row: StoredRecord = {
        ...rec,
        id: randomUUID(),
        time: eventTime(rec, receivedAt),
        received_at: receivedAt,
        source_ip: h.host,
        transport: 'udp',
        session,
        raw: h.line,
      };
      lines.push(encodeLogRow(row));
    }
    const encodeMs = performance.now() - t0;

    const { wal, sink, metrics, dir } = await rig({ wal: { maxAgeMs: 200 } });
    sink.start();
    const t1 = performance.now();
    // Like a listener: a few hundred rows per event-loop turn.
    for (let i = 0; i < N; i += 500) {
      for (let k = i; k < Math.min(N, i + 500); k++) expect(wal.append(lines[k]!)).toBe(true);
      await new Promise<void>((res) => setImmediate(res));
    }
    expect(await sink.flush(120_000)).toBe(true);
    const storeMs = performance.now() - t1;

    expect(await countLogs(t.store.client, { session })).toBe(N);
    expect(walFiles(dir)).toEqual([]);
    expect(metrics.render()).toContain(`handlog_inserted_rows_total ${N}`);
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    console.log(
      `WAL + sink + embedded store: ${N} rows (${(bytes / 1024 ** 2).toFixed(1)} MiB encoded) in ${storeMs.toFixed(0)} ms = ` +
        `${Math.round((N / storeMs) * 1000)} rows/s; parse + encodeLogRow beforehand: ${Math.round((N / encodeMs) * 1000)} rows/s`,
    );
  }, 180_000);
});
