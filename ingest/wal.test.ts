import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Registry } from '../core/metrics.js';
import { silentLogger } from '../core/logger.js';
import type { StoredRecord } from '../core/record.js';
import { createWal, repairEnd, type Wal, type WalConfig } from './wal.js';
import { createSink, type LogInserter } from './sink.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function row(i: number): StoredRecord {
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
    id: String(i),
    time: '2024-03-01T10:23:14.050Z',
    received_at: '2024-03-01T10:23:14.120Z',
    source_ip: '172.29.101.149',
    transport: 'udp',
    session: '',
    raw: `<134>Mar  1 10:23:14 172.29.101.149 SipService[3367]: 00907a11baaa| 1028171642.05| SipService |6|0| Call state changed ${i}`,
  };
}

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
async function drain(w: Wal): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
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
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
    expect(rows[7]).toEqual(row(7));
  });

  it('seals at maxBytes, overshooting by at most one row', async () => {
    const rowBytes = Buffer.byteLength(JSON.stringify(row(100))) + 1;
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
    fs.appendFileSync(seg.path, 'garbage\n' + JSON.stringify(row(2)) + '\n');
    const c = await w.read(seg);
    expect(c.rows.map((r) => r.id)).toEqual(['1', '2']);
    expect(c.badLines).toEqual(['garbage']);
  });
});

describe('WAL budget', () => {
  it('refuses rows over budget, signals pressure, and signals room after the sink drains', async () => {
    const metrics = new Registry();
    const rowBytes = Buffer.byteLength(JSON.stringify(row(1000))) + 1;
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
      insertLogs: async (rows) => {
        for (const r of rows) inserted.push(r.id);
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
    expect((await drain(w)).map((r) => r.id)).toEqual(['1', '3']);
  });
});

describe('WAL recovery', () => {
  it('repairs a torn .open segment and returns every complete row, leftovers first', async () => {
    const w1 = await openWal({ maxRows: 10 });
    for (let i = 0; i < 25; i++) w1.append(row(i));
    await turn(); // two sealed segments and an open one with 5 rows; no close: a crash
    expect(files('.open')).toHaveLength(1);
    const openFile = path.join(dir, files('.open')[0]!);
    fs.appendFileSync(openFile, JSON.stringify(row(25)).slice(0, 40)); // torn by the kill

    const metrics = new Registry();
    const w2 = await openWal({ maxRows: 10 }, metrics);
    expect(files('.open')).toHaveLength(0);
    expect(metrics.render()).toContain('handlog_wal_torn_lines_total 1');
    expect(w2.depth()).toMatchObject({ segments: 3, rows: 25 });
    w2.append(row(100));
    w2.seal();
    const rows = await drain(w2);
    expect(rows.map((r) => r.id)).toEqual([...Array.from({ length: 25 }, (_, i) => String(i)), '100']);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('cuts a complete but invalid last line and drops an empty open segment', async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'seg-000000000007-aa.open'), JSON.stringify(row(1)) + '\n{"id":"2","mess\n');
    fs.writeFileSync(path.join(dir, 'seg-000000000008-aa.open'), '{"id":"3"');
    fs.writeFileSync(path.join(dir, 'seg-000000000003-bb.wal'), JSON.stringify(row(0)) + '\n');
    const metrics = new Registry();
    const w = await openWal({}, metrics);
    expect(metrics.render()).toContain('handlog_wal_torn_lines_total 2');
    w.append(row(9));
    w.seal();
    const names: string[] = [];
    const rows: StoredRecord[] = [];
    for (let seg = w.take(); seg; seg = w.take()) {
      names.push(seg.name);
      rows.push(...(await w.read(seg)).rows);
      await w.ack(seg);
    }
    expect(rows.map((r) => r.id)).toEqual(['0', '1', '9']);
    expect(names.slice(0, 2)).toEqual(['seg-000000000003-bb', 'seg-000000000007-aa']);
    // New segments continue after the highest sequence left on disk, whatever its state.
    expect(names[2]).toMatch(/^seg-000000000009-[0-9a-f]{12}$/);
  });

  it('repairEnd keeps exactly the complete lines before any cut point', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.nat(), (n, cutSeed) => {
        const lines = Array.from({ length: n }, (_, i) => JSON.stringify(row(i)) + '\n');
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
    fs.writeFileSync(
      script,
      `
import { createWal } from ${JSON.stringify(walUrl)};
import { Registry } from ${JSON.stringify(metricsUrl)};
import { silentLogger } from ${JSON.stringify(loggerUrl)};
const row = ${row.toString()};
const wal = createWal({ dir: ${JSON.stringify(dir)}, maxRows: 3000, maxAgeMs: 20 }, { metrics: new Registry(), logger: silentLogger });
await wal.open();
let i = 0;
function loop() {
  for (let k = 0; k < 400; k++) wal.append(row(i++));
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
    const outOfPlace = rows.findIndex((r, i) => r.id !== String(i));
    expect(outOfPlace).toBe(-1);
    expect(rows[rows.length - 1]).toEqual(row(rows.length - 1));
  }, 60_000);
});
