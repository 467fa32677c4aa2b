import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from '../core/metrics.js';
import { silentLogger } from '../core/logger.js';
import { HandlogError } from '../core/errors.js';
import type { StoredRecord } from '../core/record.js';
import { createWal, type Wal } from './wal.js';
import { createSink, type LogInserter, type Sink, type SinkConfig } from './sink.js';

function row(i: number, message = `Registration OK for line ${i}`): StoredRecord {
  return {
    format: 'pivot',
    facility: 16,
    severity: 6,
    severity_name: 'Info',
    syslog_time: '2024-03-01T10:23:14.000Z',
    host: '172.29.101.149',
    tag: 'SipService',
    pid: 3367,
    tid: null,
    mac: '00907a11baaa',
    device_time: null,
    uptime_ms: 4511006,
    missed_events: 0,
    message,
    id: String(i),
    time: '2024-03-01T10:23:14.000Z',
    received_at: '2024-03-01T10:23:14.120Z',
    source_ip: '172.29.101.149',
    transport: 'tcp',
    session: '',
    raw: `<134>Mar  1 10:23:14 172.29.101.149 SipService[3367]: ${message}`,
  };
}

type Call = { token: string; ids: string[] };
type Behaviour = (rows: StoredRecord[], token: string, call: number) => Promise<void> | void;

/** A store stand-in: records every call, inserts what it is not told to refuse, deduplicates by token like ClickHouse. */
class RecordingInserter implements LogInserter {
  calls: Call[] = [];
  stored: string[] = [];
  private seen = new Set<string>();
  constructor(public behaviour: Behaviour = () => undefined) {}
  async insertLogs(rows: StoredRecord[], dedupToken: string): Promise<void> {
    this.calls.push({ token: dedupToken, ids: rows.map((r) => r.id) });
    await this.behaviour(rows, dedupToken, this.calls.length);
    if (this.seen.has(dedupToken)) return;
    this.seen.add(dedupToken);
    for (const r of rows) this.stored.push(r.id);
  }
}

const unavailable = (): never => {
  throw new HandlogError('STORE_UNAVAILABLE', 'connect ECONNREFUSED 127.0.0.1:8123');
};
const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

let root: string;
let dir: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-sink-'));
  dir = path.join(root, 'wal');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  fs.rmSync(root, { recursive: true, force: true });
});

async function setup(
  store: LogInserter,
  cfg: Partial<SinkConfig> = {},
  metrics = new Registry(),
): Promise<{ wal: Wal; sink: Sink; metrics: Registry }> {
  const wal = createWal({ dir, maxRows: 10, maxAgeMs: 60_000 }, { metrics, logger: silentLogger });
  await wal.open();
  const sink = createSink({ retryBaseMs: 2, retryMaxMs: 20, ...cfg }, { wal, store, metrics, logger: silentLogger });
  cleanups.push(() => wal.close());
  cleanups.push(() => sink.close(1000));
  return { wal, sink, metrics };
}

const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => String(from + i));
const walFiles = (): string[] => fs.readdirSync(dir).sort();

describe('sink', () => {
  it('inserts segments oldest first and deletes each only after its insert resolved', async () => {
    let release: () => void = () => undefined;
    const store = new RecordingInserter(
      (_rows, _token, call) => (call === 1 ? new Promise<void>((r) => (release = r)) : undefined),
    );
    const { wal, sink, metrics } = await setup(store);
    for (let i = 0; i < 35; i++) wal.append(row(i));
    wal.seal();
    expect(walFiles()).toHaveLength(4);
    sink.start();
    await waitFor(() => store.calls.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    // First insert still pending: its segment is on disk, nothing else was sent (one in flight).
    expect(store.calls).toHaveLength(1);
    expect(walFiles()).toHaveLength(4);
    expect(walFiles()[0]).toBe(store.calls[0]!.token + '.wal');
    release();
    expect(await sink.flush(5000)).toBe(true);
    expect(walFiles()).toEqual([]);
    expect(store.calls.map((c) => c.ids.length)).toEqual([10, 10, 10, 5]);
    expect(store.stored).toEqual(ids(0, 35));
    const tokens = store.calls.map((c) => c.token);
    expect([...tokens].sort()).toEqual(tokens);
    const text = metrics.render();
    expect(text).toContain('handlog_inserted_rows_total 35');
    expect(text).toContain('handlog_insert_batches_total{result="ok"} 4');
    expect(text).toContain('handlog_insert_latency_seconds_count 4');
    expect(wal.depth()).toEqual({ segments: 0, bytes: 0, rows: 0 });
  });

  it('retries an unavailable store with growing delays until it answers, losing nothing', async () => {
    const times: number[] = [];
    const store = new RecordingInserter((_rows, _t, call) => {
      times.push(performance.now());
      if (call <= 5) unavailable();
      if (call === 6) throw new Error('socket hang up'); // not a HandlogError: retried too
    });
    const { wal, sink, metrics } = await setup(store, { retryBaseMs: 4, retryMaxMs: 1000 }, new Registry());
    for (let i = 0; i < 20; i++) wal.append(row(i));
    wal.seal();
    sink.start();
    await waitFor(() => store.calls.length >= 3);
    expect(sink.storeHealthy).toBe(false);
    expect(sink.status().lastError).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(walFiles()).toHaveLength(2);
    expect(await sink.flush(5000)).toBe(true);
    expect(sink.storeHealthy).toBe(true);
    expect(sink.status().consecutiveFailures).toBe(0);
    expect(store.calls.slice(0, 7).every((c) => c.token === store.calls[0]!.token)).toBe(true);
    expect(store.stored).toEqual(ids(0, 20));
    // Base 4 ms doubling with equal jitter: attempt k waits at least 2·2^k ms.
    const gaps = times.slice(1, 7).map((t, i) => t - (times[i] as number));
    gaps.forEach((g, k) => expect(g).toBeGreaterThanOrEqual(2 * 2 ** k - 1));
    const text = metrics.render();
    expect(text).toContain('handlog_insert_batches_total{result="retry"} 6');
    expect(text).toContain('handlog_insert_batches_total{result="ok"} 2');
    expect(walFiles()).toEqual([]);
  });

  it('moves a refused segment to dead-letter with a reason and counts its rows', async () => {
    const store = new RecordingInserter((rows) => {
      if (rows.some((r) => r.id === '3')) throw new HandlogError('STORE_REJECTED', 'Cannot parse input: expected DateTime');
    });
    const { wal, sink, metrics } = await setup(store, { maxSplitDepth: 0 });
    for (let i = 0; i < 15; i++) wal.append(row(i));
    wal.seal();
    const first = fs.readFileSync(path.join(dir, walFiles()[0]!), 'utf8');
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.stored).toEqual(ids(10, 15));
    const dead = path.join(root, 'dead-letter');
    const files = fs.readdirSync(dead).sort();
    expect(files).toHaveLength(2);
    expect(fs.readFileSync(path.join(dead, files[1]!), 'utf8')).toBe(first);
    const reason = JSON.parse(fs.readFileSync(path.join(dead, files[0]!), 'utf8')) as Record<string, unknown>;
    expect(reason).toMatchObject({ code: 'STORE_REJECTED', rows: 10, message: 'Cannot parse input: expected DateTime' });
    const text = metrics.render();
    expect(text).toContain('handlog_dropped_total{reason="dead_letter"} 10');
    expect(text).toContain('handlog_insert_batches_total{result="rejected"} 1');
    expect(sink.storeHealthy).toBe(true);
    expect(walFiles()).toEqual([]);
  });

  it('halves a refused batch so good rows land and only the bad quarter is dead-lettered', async () => {
    const store = new RecordingInserter((rows) => {
      if (rows.some((r) => r.message.includes('\u0000'))) throw new HandlogError('STORE_REJECTED', 'bad row');
    });
    const { wal, sink, metrics } = await setup(store);
    for (let i = 0; i < 8; i++) wal.append(row(i, i === 5 ? 'nul \u0000 byte' : undefined));
    wal.seal();
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.stored.sort()).toEqual(['0', '1', '2', '3', '6', '7']);
    const tokens = store.calls.map((c) => c.token);
    const base = tokens[0]!;
    expect(tokens).toEqual([base, `${base}/0`, `${base}/1`, `${base}/1/0`, `${base}/1/1`]);
    const dead = path.join(root, 'dead-letter', base + '.wal');
    const deadIds = fs
      .readFileSync(dead, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as StoredRecord).id);
    expect(deadIds).toEqual(['4', '5']);
    expect(metrics.render()).toContain('handlog_dropped_total{reason="dead_letter"} 2');
  });

  it('re-inserts a segment with the same dedup token after a crash between insert and delete', async () => {
    // The store commits the rows, but the process dies before the answer arrives.
    const store = new RecordingInserter((_rows, _t, call) => (call === 1 ? new Promise<void>(() => undefined) : undefined));
    const first = await setup(store);
    for (let i = 0; i < 7; i++) first.wal.append(row(i));
    first.wal.seal();
    first.sink.start();
    await waitFor(() => store.calls.length === 1);
    await first.sink.close(50);
    expect(walFiles()).toHaveLength(1);

    const second = await setup(store);
    second.sink.start();
    expect(await second.sink.flush(5000)).toBe(true);
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.token).toBe(store.calls[0]!.token);
    expect(store.calls[1]!.ids).toEqual(ids(0, 7));
    expect(store.stored).toEqual(ids(0, 7));
    // New data after the restart gets a token never used before.
    second.wal.append(row(100));
    expect(await second.sink.flush(5000)).toBe(true);
    expect(store.calls[2]!.token).not.toBe(store.calls[0]!.token);
    expect(store.stored).toEqual([...ids(0, 7), '100']);
  });

  it('flush times out while the store is down and keeps the data', async () => {
    const store = new RecordingInserter(unavailable);
    const { wal, sink } = await setup(store);
    for (let i = 0; i < 3; i++) wal.append(row(i));
    sink.start();
    expect(await sink.flush(100)).toBe(false);
    await sink.close(100);
    expect(walFiles()).toHaveLength(1);
    expect(wal.depth().rows).toBe(3);
    expect(sink.storeHealthy).toBe(false);
  });
});
