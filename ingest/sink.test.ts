import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Registry } from '../core/metrics.js';
import { silentLogger } from '../core/logger.js';
import { HandlogError } from '../core/errors.js';
import type { StoredRecord } from '../core/record.js';
import { encodeLogRow } from '../store/schema.js';
import { createWal, type Wal } from './wal.js';
import { createSink, type LogInserter, type Sink, type SinkConfig } from './sink.js';

/** Row i's id: a random UUID, the same for every use of i in this process. */
const uuids: string[] = [];
function idOf(i: number): string {
  let id = uuids[i];
  if (id === undefined) uuids[i] = id = randomUUID();
  return id;
}

function record(i: number, message = `Registration OK for line ${i}`): StoredRecord {
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
    id: idOf(i),
    time: '2024-03-01T10:23:14.000Z',
    received_at: '2024-03-01T10:23:14.120Z',
    source_ip: '172.29.101.149',
    transport: 'tcp',
    session: '',
    raw: `<134>Mar  1 10:23:14 172.29.101.149 SipService[3367]: ${message}`,
  };
}

/** Row i as the pipeline appends it to the WAL: one encoded `logs` row. */
function row(i: number, message?: string): string {
  return encodeLogRow(record(i, message));
}

/** The columns of an encoded row the tests look at. */
interface Row {
  id: string;
  message: string;
}

function parseRow(line: string): Row {
  const v = JSON.parse(line) as Partial<Record<keyof Row, unknown>>;
  if (typeof v.id !== 'string' || typeof v.message !== 'string') throw new Error(`not an encoded row: ${line}`);
  return { id: v.id, message: v.message };
}

type Call = { kind: 'file' | 'lines'; token: string; ids: string[] };
type Behaviour = (rows: Row[], token: string, call: number) => Promise<void> | void;

/**
 * A store stand-in: records every call (a file is read as its lines), inserts what it is not told to
 * refuse, deduplicates by token like ClickHouse. `afterCommit` runs once the rows are stored, to
 * simulate an answer that never arrives.
 */
class RecordingInserter implements LogInserter {
  calls: Call[] = [];
  stored: string[] = [];
  private seen = new Set<string>();
  constructor(
    public behaviour: Behaviour = () => undefined,
    public afterCommit: (call: number) => Promise<void> | void = () => undefined,
  ) {}
  async insertFile(filePath: string, dedupToken: string): Promise<void> {
    const lines = fs.readFileSync(filePath, 'utf8').split('\n');
    // A sealed segment is whole lines; anything else is a WAL bug (the sink retries it, flush times out).
    if (lines.pop() !== '') throw new Error(`segment ${filePath} does not end with a newline`);
    await this.insert('file', lines, dedupToken);
  }
  async insertLines(lines: string[], dedupToken: string): Promise<void> {
    await this.insert('lines', lines, dedupToken);
  }
  private async insert(kind: Call['kind'], lines: string[], dedupToken: string): Promise<void> {
    // Like JSONEachRow: one unparseable line refuses the whole insert.
    let rows: Row[];
    try {
      rows = lines.map(parseRow);
    } catch (e: unknown) {
      this.calls.push({ kind, token: dedupToken, ids: [] });
      throw new HandlogError('STORE_REJECTED', `Cannot parse input: ${String(e)}`);
    }
    this.calls.push({ kind, token: dedupToken, ids: rows.map((r) => r.id) });
    const call = this.calls.length;
    await this.behaviour(rows, dedupToken, call);
    if (!this.seen.has(dedupToken)) {
      this.seen.add(dedupToken);
      for (const r of rows) this.stored.push(r.id);
    }
    await this.afterCommit(call);
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
  walMaxRows = 10,
): Promise<{ wal: Wal; sink: Sink; metrics: Registry }> {
  const wal = createWal({ dir, maxRows: walMaxRows, maxAgeMs: 60_000 }, { metrics, logger: silentLogger });
  await wal.open();
  const sink = createSink({ retryBaseMs: 2, retryMaxMs: 20, ...cfg }, { wal, store, metrics, logger: silentLogger });
  cleanups.push(() => wal.close());
  cleanups.push(() => sink.close(1000));
  return { wal, sink, metrics };
}

const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => idOf(from + i));
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
    // The common path hands the engine the whole segment file, never re-encoded lines.
    expect(store.calls.every((c) => c.kind === 'file')).toBe(true);
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
    expect(store.calls.every((c) => c.kind === 'file')).toBe(true);
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
      if (rows.some((r) => r.id === idOf(3))) throw new HandlogError('STORE_REJECTED', 'Cannot parse input: expected DateTime');
    });
    const { wal, sink, metrics } = await setup(store, { maxSplitDepth: 0 });
    for (let i = 0; i < 15; i++) wal.append(row(i));
    wal.seal();
    const first = fs.readFileSync(path.join(dir, walFiles()[0]!), 'utf8');
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.stored).toEqual(ids(10, 15));
    // No split allowed: the refused segment is not read back into insertLines calls.
    expect(store.calls.map((c) => c.kind)).toEqual(['file', 'file']);
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

  it('halves a refused batch so good rows land and only the bad quarter is dead-lettered (maxSplitDepth 2)', async () => {
    const store = new RecordingInserter((rows) => {
      if (rows.some((r) => r.message.includes('\u0000'))) throw new HandlogError('STORE_REJECTED', 'bad row');
    });
    const { wal, sink, metrics } = await setup(store, { maxSplitDepth: 2 });
    for (let i = 0; i < 8; i++) wal.append(row(i, i === 5 ? 'nul \u0000 byte' : undefined));
    wal.seal();
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.stored).toEqual([...ids(0, 4), ...ids(6, 8)]);
    const tokens = store.calls.map((c) => c.token);
    const base = tokens[0]!;
    expect(tokens).toEqual([base, `${base}/0`, `${base}/1`, `${base}/1/0`, `${base}/1/1`]);
    expect(store.calls.map((c) => c.kind)).toEqual(['file', 'lines', 'lines', 'lines', 'lines']);
    expect(store.calls.map((c) => c.ids)).toEqual([ids(0, 8), ids(0, 4), ids(4, 8), ids(4, 6), ids(6, 8)]);
    const dead = path.join(root, 'dead-letter', base + '.wal');
    const deadLines = fs.readFileSync(dead, 'utf8').trim().split('\n');
    expect(deadLines.map((l) => parseRow(l).id)).toEqual(ids(4, 6));
    expect(deadLines).toEqual([row(4), row(5, 'nul \u0000 byte')]);
    const reason = JSON.parse(fs.readFileSync(path.join(root, 'dead-letter', base + '.reason'), 'utf8')) as Record<string, unknown>;
    expect(reason).toMatchObject({ segment: base, code: 'STORE_REJECTED', rows: 2, message: 'bad row' });
    expect(metrics.render()).toContain('handlog_dropped_total{reason="dead_letter"} 2');
    expect(walFiles()).toEqual([]);
  });

  it('bisects a refused batch down to the single bad row by default', async () => {
    const store = new RecordingInserter((rows) => {
      if (rows.some((r) => r.message.includes('\u0000'))) throw new HandlogError('STORE_REJECTED', 'bad row');
    });
    const { wal, sink, metrics } = await setup(store);
    for (let i = 0; i < 8; i++) wal.append(row(i, i === 5 ? 'nul \u0000 byte' : undefined));
    wal.seal();
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.stored).toEqual([...ids(0, 5), ...ids(6, 8)]);
    const base = store.calls[0]!.token;
    expect(store.calls.map((c) => c.token)).toEqual([
      base, `${base}/0`, `${base}/1`, `${base}/1/0`, `${base}/1/0/0`, `${base}/1/0/1`, `${base}/1/1`,
    ]);
    const deadLines = fs.readFileSync(path.join(root, 'dead-letter', base + '.wal'), 'utf8').trim().split('\n');
    expect(deadLines).toEqual([row(5, 'nul \u0000 byte')]);
    const reason = JSON.parse(fs.readFileSync(path.join(root, 'dead-letter', base + '.reason'), 'utf8')) as Record<string, unknown>;
    expect(reason).toMatchObject({ segment: base, code: 'STORE_REJECTED', rows: 1, message: 'bad row' });
    expect(metrics.render()).toContain('handlog_dropped_total{reason="dead_letter"} 1');
    expect(walFiles()).toEqual([]);
  });

  it('isolates the bad rows of a 10,000-row batch within a few times log2(rows) attempts per bad row', async () => {
    const bad = new Set([17, 4_242, 9_999]);
    const store = new RecordingInserter((rows) => {
      if (rows.some((r) => r.message.includes('\u0000'))) throw new HandlogError('STORE_REJECTED', 'bad row');
    });
    const N = 10_000;
    const { wal, sink, metrics } = await setup(store, {}, new Registry(), N);
    for (let i = 0; i < N; i++) wal.append(row(i, bad.has(i) ? `nul \u0000 byte ${i}` : undefined));
    wal.seal();
    sink.start();
    expect(await sink.flush(20_000)).toBe(true);
    expect(store.stored).toHaveLength(N - bad.size);
    expect(new Set(store.stored)).toEqual(new Set(ids(0, N).filter((_, i) => !bad.has(i))));
    const base = store.calls[0]!.token;
    const deadLines = fs.readFileSync(path.join(root, 'dead-letter', base + '.wal'), 'utf8').trim().split('\n');
    expect(deadLines.map((l) => parseRow(l).id)).toEqual([...bad].map(idOf));
    // About 2 x log2(10,000) ≈ 28 per bad row; the budget is 4 x 14 per bad row.
    expect(store.calls.length).toBeLessThanOrEqual(1 + bad.size * 2 * 14);
    expect(metrics.render()).toContain('handlog_dropped_total{reason="dead_letter"} 3');
    expect(walFiles()).toEqual([]);
  });

  it('dead-letters the parts left whole when the split attempt budget runs out', async () => {
    // Every row refused: isolating each one would take ~2 attempts per row; the budget bounds it.
    const store = new RecordingInserter(() => {
      throw new HandlogError('STORE_REJECTED', 'schema mismatch');
    });
    const N = 64;
    const { wal, sink, metrics } = await setup(store, { splitAttemptsPerBadRow: 1, maxSplitDepth: 3 }, new Registry(), N);
    for (let i = 0; i < N; i++) wal.append(row(i));
    wal.seal();
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.stored).toEqual([]);
    // Depth 3 stops at parts of 8 rows (never a single bad row, so no budget is added): 1 x log2(64) = 6 split inserts.
    expect(store.calls.length).toBe(1 + 6);
    const base = store.calls[0]!.token;
    const deadLines = fs.readFileSync(path.join(root, 'dead-letter', base + '.wal'), 'utf8').trim().split('\n');
    expect(deadLines).toHaveLength(N);
    const reason = JSON.parse(fs.readFileSync(path.join(root, 'dead-letter', base + '.reason'), 'utf8')) as Record<string, unknown>;
    expect(reason).toMatchObject({ code: 'STORE_REJECTED', rows: N, message: 'schema mismatch' });
    expect(metrics.render()).toContain(`handlog_dropped_total{reason="dead_letter"} ${N}`);
  });

  it('retries a split part the store cannot reach with the same token instead of dead-lettering it', async () => {
    const store = new RecordingInserter((rows, token, call) => {
      if (call === 1) throw new HandlogError('STORE_REJECTED', 'refused whole');
      if (token.endsWith('/1') && call <= 4) unavailable();
    });
    const { wal, sink, metrics } = await setup(store);
    for (let i = 0; i < 6; i++) wal.append(row(i));
    wal.seal();
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    const base = store.calls[0]!.token;
    expect(store.calls.map((c) => c.token)).toEqual([base, `${base}/0`, `${base}/1`, `${base}/1`, `${base}/1`]);
    expect(store.stored).toEqual(ids(0, 6));
    expect(fs.existsSync(path.join(root, 'dead-letter'))).toBe(false);
    const text = metrics.render();
    expect(text).toContain('handlog_insert_batches_total{result="retry"} 2');
    expect(text).toContain('handlog_inserted_rows_total 6');
    expect(text).not.toContain('dead_letter');
    expect(walFiles()).toEqual([]);
  });

  it('inserts the rows of a segment with a corrupt line and dead-letters only that line', async () => {
    const store = new RecordingInserter();
    const { wal, sink, metrics } = await setup(store);
    for (let i = 0; i < 6; i++) wal.append(row(i));
    wal.seal();
    const seg = path.join(dir, walFiles()[0]!);
    const base = path.basename(seg, '.wal');
    fs.appendFileSync(seg, '{"id":"x","mess\u0000garbage\n');
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    // The store refuses the file (one unparseable line); its rows land together without it.
    expect(store.calls.map((c) => [c.kind, c.token])).toEqual([
      ['file', base],
      ['lines', `${base}/rows`],
    ]);
    expect(store.stored).toEqual(ids(0, 6));
    const dead = path.join(root, 'dead-letter');
    expect(fs.readFileSync(path.join(dead, base + '.wal'), 'utf8')).toBe('{"id":"x","mess\u0000garbage\n');
    const reason = JSON.parse(fs.readFileSync(path.join(dead, base + '.reason'), 'utf8')) as Record<string, unknown>;
    expect(reason).toMatchObject({ segment: base, code: 'WAL_IO', rows: 1 });
    expect(metrics.render()).toContain('handlog_dropped_total{reason="dead_letter"} 1');
    expect(walFiles()).toEqual([]);
    expect(wal.depth()).toEqual({ segments: 0, bytes: 0, rows: 0 });
  });

  it('inserts the single row of a segment that also holds a corrupt line', async () => {
    const store = new RecordingInserter();
    const { wal, sink, metrics } = await setup(store, { maxSplitDepth: 0 });
    wal.append(row(0));
    wal.seal();
    const seg = path.join(dir, walFiles()[0]!);
    const base = path.basename(seg, '.wal');
    fs.appendFileSync(seg, 'garbage\n');
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.calls.map((c) => [c.kind, c.token])).toEqual([
      ['file', base],
      ['lines', `${base}/rows`],
    ]);
    expect(store.stored).toEqual(ids(0, 1));
    expect(metrics.render()).toContain('handlog_dropped_total{reason="dead_letter"} 1');
  });

  it('forgets a segment whose file vanished before its insert', async () => {
    const store = new RecordingInserter();
    const { wal, sink } = await setup(store);
    for (let i = 0; i < 4; i++) wal.append(row(i));
    wal.seal();
    fs.rmSync(path.join(dir, walFiles()[0]!));
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    expect(store.calls).toEqual([]);
    expect(wal.depth()).toEqual({ segments: 0, bytes: 0, rows: 0 });
  });

  it('re-inserts a segment with the same dedup token after a crash between insert and delete', async () => {
    // The store commits the rows, but the process dies before the answer arrives.
    const store = new RecordingInserter(undefined, (call) => (call === 1 ? new Promise<void>(() => undefined) : undefined));
    const first = await setup(store);
    for (let i = 0; i < 7; i++) first.wal.append(row(i));
    first.wal.seal();
    first.sink.start();
    await waitFor(() => store.calls.length === 1);
    await first.sink.close(50);
    expect(walFiles()).toHaveLength(1);
    expect(store.stored).toEqual(ids(0, 7));

    const second = await setup(store);
    second.sink.start();
    expect(await second.sink.flush(5000)).toBe(true);
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.token).toBe(store.calls[0]!.token);
    expect(store.calls[1]!.ids).toEqual(ids(0, 7));
    expect(store.calls.map((c) => c.kind)).toEqual(['file', 'file']);
    // Deduplicated by token: stored once.
    expect(store.stored).toEqual(ids(0, 7));
    expect(walFiles()).toEqual([]);
    // New data after the restart gets a token never used before.
    second.wal.append(row(100));
    expect(await second.sink.flush(5000)).toBe(true);
    expect(store.calls[2]!.token).not.toBe(store.calls[0]!.token);
    expect(store.stored).toEqual([...ids(0, 7), idOf(100)]);
  });

  it('ends its loop when the WAL is closed before the sink, instead of spinning on the resolved wait', async () => {
    // A failed `handlog serve` start once closed the WAL under a running sink: the loop took nothing,
    // waited on an already-resolved promise, and went round again forever without letting a timer run.
    const store = new RecordingInserter();
    const { wal, sink } = await setup(store);
    let takes = 0;
    const take = wal.take.bind(wal);
    // Bounds the spin should it come back: the loop fails here instead of hanging the test run.
    wal.take = () => {
      if (++takes > 1000) throw new Error('sink loop spinning on a closed WAL');
      return take();
    };
    wal.append(row(1));
    sink.start();
    expect(takes).toBe(1);
    await wal.close();
    // close() sealed the row: it is still inserted, then the loop ends.
    await waitFor(() => store.stored.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(takes).toBeLessThan(10);
    await sink.close(1000);
    expect(walFiles()).toEqual([]);
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
