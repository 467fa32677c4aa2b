import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Registry } from '../core/metrics.js';
import { silentLogger } from '../core/logger.js';
import type { StoredRecord } from '../core/record.js';
import { encodeLogRow } from '../store/schema.js';
import { createWal, repairEnd, type Wal, type WalConfig } from './wal.js';
import { createSink, type LogInserter } from './sink.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A realistic record; self-contained (no imports) because the SIGKILL test sends its source to a child. */
function record(i: number, id: string): StoredRecord {
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
    device_time: '2024-03-01T10:23:14.050Z',
    uptime_ms: null,
    missed_events: 0,
    message: `Call state changed to CONNECTED line ${i} — ünïcode`,
    id,
    time: '2024-03-01T10:23:14.050Z',
    received_at: '2024-03-01T10:23:14.120Z',
    source_ip: '172.29.101.149',
    transport: 'udp',
    session: '',
    raw: `<134>Mar  1 10:23:14 172.29.101.149 SipService[3367]: 00907a11baaa| 1028171642.05| SipService |6|0| Call state changed ${i}`,
  };
}

/** Row i's id: a random UUID, the same for every use of i in this process. */
const uuids: string[] = [];
function idOf(i: number): string {
  let id = uuids[i];
  if (id === undefined) uuids[i] = id = randomUUID();
  return id;
}
const idsOf = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, k) => idOf(from + k));

/** Row i as the pipeline appends it: one encoded `logs` row. */
function row(i: number): string {
  return encodeLogRow(record(i, idOf(i)));
}

/** The id of an encoded row line. */
function lineId(line: string): string {
  const v = JSON.parse(line) as { id?: unknown };
  if (typeof v.id !== 'string') throw new Error(`no string id in ${line}`);
  return v.id;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let root: string;
const wals: Wal[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-wal-'));
  dir = path.join(root, 'wal');
});
afterEach(async () => {
  for (const w of wals.splice(0)) await w.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function openWal(cfg: Partial<WalConfig> = {}, metrics = new Registry()): Promise<Wal> {
  const w = createWal({ dir, maxAgeMs: 60_000, ...cfg }, { metrics, logger: silentLogger });
  await w.open();
  wals.push(w);
  return w;
}

function files(ext: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort();
}

/** Take every sealed segment, read it, and ack it: the sink's path without a store. */
async function drain(w: Wal): Promise<string[]> {
  const out: string[] = [];
  for (let seg = w.take(); seg; seg = w.take()) {
    const c = await w.read(seg);
    expect(c.badLines).toEqual([]);
    out.push(...c.rows);
    await w.ack(seg);
  }
  return out;
}

describe('WAL segments', () => {
  it('writes one turn of rows with one segment file and seals at maxRows', async () => {
    const w = await openWal({ maxRows: 100 });
    for (let i = 0; i < 250; i++) expect(w.append(row(i))).toBe(true);
    expect(files('.open')).toEqual([]); // nothing written before the turn ends
    expect(w.depth()).toMatchObject({ rows: 250, segments: 1 });
    await turn();
    expect(files('.wal')).toHaveLength(2);
    expect(files('.open')).toHaveLength(1);
    expect(w.depth()).toMatchObject({ rows: 250, segments: 3 });
    const a = w.take();
    const b = w.take();
    expect(w.take()).toBeUndefined();
    expect([a?.rows, b?.rows]).toEqual([100, 100]);
    expect(a && b && a.seq < b.seq).toBe(true);
    const rows = [...(await w.read(a!)).rows, ...(await w.read(b!)).rows];
    expect(rows.map(lineId)).toEqual(idsOf(0, 200));
    expect(rows[7]).toBe(row(7));
    expect(JSON.parse(rows[7]!)).toMatchObject({ id: idOf(7), time: '2024-03-01 10:23:14.050', pid: 3367 });
  });

  it('seals at maxBytes, overshooting by at most one row', async () => {
    const rowBytes = Buffer.byteLength(row(100)) + 1;
    const maxBytes = rowBytes * 10 + 5;
    const w = await openWal({ maxBytes });
    for (let i = 100; i < 150; i++) w.append(row(i));
    await turn();
    const segs = [];
    for (let s = w.take(); s; s = w.take()) segs.push(s);
    expect(segs.length).toBe(4);
    for (const s of segs) {
      expect(s.bytes).toBeGreaterThanOrEqual(maxBytes);
      expect(s.bytes).toBeLessThan(maxBytes + rowBytes + 10);
      expect(fs.statSync(s.path).size).toBe(s.bytes);
      expect(s.rows).toBe(11);
    }
  });

  it('seals at maxAgeMs after the first row', async () => {
    const w = await openWal({ maxAgeMs: 40 });
    w.append(row(1));
    await turn();
    w.append(row(2));
    await turn();
    expect(files('.open')).toHaveLength(1);
    expect(files('.wal')).toHaveLength(0);
    const waited = w.waitForSegment();
    await delay(80);
    await waited;
    expect(files('.open')).toHaveLength(0);
    expect(w.take()?.rows).toBe(2);
  });

  it('grows the open segment while the sink is busy and seals it as soon as the sink is idle', async () => {
    const w = await openWal({ maxRows: 10, maxAgeMs: 50 });
    for (let i = 0; i < 10; i++) w.append(row(i));
    await turn();
    const first = w.take(); // being inserted: the sink is busy
    expect(first?.rows).toBe(10);
    for (let i = 10; i < 40; i++) w.append(row(i));
    await turn();
    await delay(80);
    // Past the base row and age limits, within 5× of them: still open.
    expect(files('.wal')).toHaveLength(1);
    expect(w.take()).toBeUndefined();
    await w.ack(first!); // the sink is idle: the open segment is sealed at once
    const next = w.take();
    expect(next?.rows).toBe(30);
    expect((await w.read(next!)).rows.map(lineId)).toEqual(idsOf(10, 40));
  });

  it('a young open segment seals at the base age once the sink is idle again', async () => {
    const w = await openWal({ maxAgeMs: 60 });
    w.append(row(0));
    w.seal();
    const first = w.take();
    w.append(row(1)); // its age timer starts under the busy limit (5 × 60 ms)
    await turn();
    await delay(10);
    await w.ack(first!);
    expect(files('.wal')).toHaveLength(0); // younger than 60 ms: not sealed yet
    await delay(150);
    expect(files('.wal')).toHaveLength(1);
    expect(w.take()?.rows).toBe(1);
  });

  it('seal() writes queued rows and returns the last sealed seq; close() seals', async () => {
    const w = await openWal();
    w.append(row(1));
    const seq = w.seal();
    expect(w.hasSegmentsUpTo(seq)).toBe(true);
    w.append(row(2));
    await w.close();
    expect(files('.wal')).toHaveLength(2);
    expect(files('.open')).toHaveLength(0);
  });

  it('keeps bad lines of a sealed segment apart instead of inserting them', async () => {
    const w = await openWal();
    w.append(row(1));
    w.seal();
    const seg = w.take()!;
    // Lines that are not a JSON object with a string id are not rows either.
    fs.appendFileSync(seg.path, 'garbage\n' + row(2) + '\n{"id":3}\n[1]\nnull\n');
    const c = await w.read(seg);
    expect(c.rows).toEqual([row(1), row(2)]);
    expect(c.rows.map(lineId)).toEqual([idOf(1), idOf(2)]);
    expect(c.badLines).toEqual(['garbage', '{"id":3}', '[1]', 'null']);
  });
});

describe('WAL budget', () => {
  it('refuses rows over budget, signals pressure, and signals room after the sink drains', async () => {
    const metrics = new Registry();
    const rowBytes = Buffer.byteLength(row(1000)) + 1;
    const w = await openWal({ budgetBytes: rowBytes * 50, maxRows: 10 }, metrics);
    const events: boolean[] = [];
    w.onPressure((full) => events.push(full));
    let accepted = 0;
    for (let i = 1000; i < 1100; i++) if (w.append(row(i))) accepted++;
    expect(accepted).toBe(50);
    expect(w.full).toBe(true);
    expect(events).toEqual([true]);
    // TCP/TLS rows already read off a socket are kept.
    expect(w.append(row(5000), { force: true })).toBe(true);
    await turn();
    expect(w.depth().rows).toBe(51);
    expect(metrics.render()).toMatch(/handlog_wal_bytes \d+/);

    const inserted: string[] = [];
    const store: LogInserter = {
      insertFile: async (file) => {
        for (const l of fs.readFileSync(file, 'utf8').split('\n')) if (l !== '') inserted.push(lineId(l));
      },
      insertLines: async (lines) => {
        for (const l of lines) inserted.push(lineId(l));
      },
    };
    const sink = createSink({ retryBaseMs: 5, retryMaxMs: 20 }, { wal: w, store, metrics, logger: silentLogger });
    sink.start();
    expect(await sink.flush(5000)).toBe(true);
    await sink.close();
    expect(events).toEqual([true, false]);
    expect(w.full).toBe(false);
    expect(w.append(row(6000))).toBe(true);
    expect(inserted).toHaveLength(51);
    expect(new Set(inserted).size).toBe(51);
    expect(inserted).toEqual([...idsOf(1000, 1050), idOf(5000)]);
    expect(w.depth()).toMatchObject({ segments: 1, rows: 1 });
  });
});

describe('WAL write failures', () => {
  it('keeps rows in memory, reports full, and writes them once the disk is back', async () => {
    const metrics = new Registry();
    const w = await openWal({}, metrics);
    const events: boolean[] = [];
    w.onPressure((full) => events.push(full));
    fs.rmSync(dir, { recursive: true });
    expect(w.append(row(1))).toBe(true);
    await turn();
    expect(events).toEqual([true]);
    expect(w.full).toBe(true);
    expect(w.append(row(2))).toBe(false);
    expect(w.append(row(3), { force: true })).toBe(true);
    expect(metrics.render()).toContain('handlog_wal_write_errors_total 1');
    fs.mkdirSync(dir);
    await delay(1200); // the batcher retries a failed write after a second
    expect(events).toEqual([true, false]);
    w.seal();
    expect((await drain(w)).map(lineId)).toEqual([idOf(1), idOf(3)]);
  });
});

describe('WAL recovery', () => {
  it('repairs a torn .open segment and returns every complete row, leftovers first', async () => {
    const w1 = await openWal({ maxRows: 10 });
    for (let i = 0; i < 25; i++) w1.append(row(i));
    await turn(); // two sealed segments and an open one with 5 rows; no close: a crash
    expect(files('.open')).toHaveLength(1);
    const openFile = path.join(dir, files('.open')[0]!);
    fs.appendFileSync(openFile, row(25).slice(0, 40)); // torn by the kill

    const metrics = new Registry();
    const w2 = await openWal({ maxRows: 10 }, metrics);
    expect(files('.open')).toHaveLength(0);
    expect(metrics.render()).toContain('handlog_wal_torn_lines_total 1');
    expect(w2.depth()).toMatchObject({ segments: 3, rows: 25 });
    w2.append(row(100));
    w2.seal();
    const rows = await drain(w2);
    expect(rows.map(lineId)).toEqual([...idsOf(0, 25), idOf(100)]);
    expect(rows[24]).toBe(row(24));
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('cuts a complete but invalid last line and drops an empty open segment', async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'seg-000000000007-aa.open'), row(1) + '\n' + row(2).slice(0, 60) + '\n');
    fs.writeFileSync(path.join(dir, 'seg-000000000008-aa.open'), row(3).slice(0, 20));
    fs.writeFileSync(path.join(dir, 'seg-000000000003-bb.wal'), row(0) + '\n');
    const metrics = new Registry();
    const w = await openWal({}, metrics);
    expect(metrics.render()).toContain('handlog_wal_torn_lines_total 2');
    w.append(row(9));
    w.seal();
    const names: string[] = [];
    const rows: string[] = [];
    for (let seg = w.take(); seg; seg = w.take()) {
      names.push(seg.name);
      rows.push(...(await w.read(seg)).rows);
      await w.ack(seg);
    }
    expect(rows).toEqual([row(0), row(1), row(9)]);
    expect(names.slice(0, 2)).toEqual(['seg-000000000003-bb', 'seg-000000000007-aa']);
    // New segments continue after the highest sequence left on disk, whatever its state.
    expect(names[2]).toMatch(/^seg-000000000009-[0-9a-f]{12}$/);
  });

  it('repairEnd keeps exactly the complete lines before any cut point', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.nat(), (n, cutSeed) => {
        const lines = Array.from({ length: n }, (_, i) => row(i) + '\n');
        const full = Buffer.from(lines.join(''));
        const cut = full.length === 0 ? 0 : cutSeed % (full.length + 1);
        const { end } = repairEnd(full.subarray(0, cut));
        let complete = 0;
        let bytes = 0;
        for (const l of lines) {
          const b = Buffer.byteLength(l);
          if (bytes + b > cut) break;
          bytes += b;
          complete++;
        }
        expect(end).toBe(bytes);
        expect(complete).toBeLessThanOrEqual(n);
      }),
    );
  });

  it('loses nothing that was written when the writer is killed with SIGKILL', async () => {
    const script = path.join(root, 'writer.mts');
    const walUrl = new URL('./wal.ts', import.meta.url).href;
    const metricsUrl = new URL('../core/metrics.ts', import.meta.url).href;
    const loggerUrl = new URL('../core/logger.ts', import.meta.url).href;
    const schemaUrl = new URL('../store/schema.ts', import.meta.url).href;
    fs.writeFileSync(
      script,
      `
import { randomUUID } from 'node:crypto';
import { createWal } from ${JSON.stringify(walUrl)};
import { Registry } from ${JSON.stringify(metricsUrl)};
import { silentLogger } from ${JSON.stringify(loggerUrl)};
import { encodeLogRow } from ${JSON.stringify(schemaUrl)};
const record = ${record.toString()};
const wal = createWal({ dir: ${JSON.stringify(dir)}, maxRows: 3000, maxAgeMs: 20 }, { metrics: new Registry(), logger: silentLogger });
await wal.open();
let i = 0;
function loop() {
  for (let k = 0; k < 400; k++, i++) wal.append(encodeLogRow(record(i, randomUUID())));
  // Runs after the WAL's own setImmediate of this turn: rows below i are written.
  setImmediate(() => { process.stdout.write(i + '\\n'); loop(); });
}
loop();
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: path.join(here, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let reported = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const target = 20_000 + Math.floor(Math.random() * 20_000);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) reported = Math.max(reported, Number(l));
        if (reported >= target) resolve();
      });
      child.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const metrics = new Registry();
    const w = await openWal({}, metrics);
    const rows = await drain(w);
    // Rows reach disk in append order, so what survives is a prefix 0..n-1 with n >= reported.
    expect(rows.length).toBeGreaterThanOrEqual(reported);
    expect(rows.length).toBeLessThan(reported + 100_000);
    // The child drew its own random UUIDs: row i is recognised by its message, and every id is a distinct UUID.
    const parsed = rows.map((l) => JSON.parse(l) as { id: string; message: string });
    const outOfPlace = parsed.findIndex((r, i) => r.message !== record(i, r.id).message);
    expect(outOfPlace).toBe(-1);
    expect(parsed.every((r) => UUID.test(r.id))).toBe(true);
    expect(new Set(parsed.map((r) => r.id)).size).toBe(rows.length);
    const last = rows.length - 1;
    expect(rows[last]).toBe(encodeLogRow(record(last, lineId(rows[last]!))));
  }, 60_000);
});
