// `npm run bench:query`: the admin's questions over a realistic store, timed p50/p95, beside the
// same questions answered by grep over the equivalent flat syslog file (what a user of rsyslog
// does today). Rows: BENCH_ROWS (default 10,000,000) from 5,000 handsets over 7 days, the guide's
// tag mix. Generation and load take a few minutes; everything runs on loopback files only.
// BENCH_DIR=DIR keeps the generated store and flat file in DIR, and a later run with the same DIR
// and BENCH_ROWS times the questions again without reloading (the engine merges parts in the
// background only while a process holds the store, so a second run sees what the first left).

import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StoredRecord } from '../../core/record.js';
import { parseLine } from '../../parsers/detect.js';
import { openStore, type Store } from '../../store/client.js';
import { listDevices } from '../../store/devices.js';
import { searchLogs, type LogFilters } from '../../store/queries.js';
import { encodeLogRow } from '../../store/schema.js';
import { handsetLine, macOf, rng } from '../corpus.js';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 10_000_000);
const CHUNK = 250_000;
const RUNS = 20;
/** Untimed queries (over handsets the timed runs do not ask about) before the timed ones. */
const WARMUP = 20;
const GREP_RUNS = 3;
const DAY = 86_400_000;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function time<T>(runs: number, fn: (run: number) => Promise<T>, check: (v: T) => boolean): Promise<{ p50: number; p95: number }> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const v = await fn(i);
    ms.push(performance.now() - t0);
    if (!check(v)) throw new Error('benchmark query returned an unexpected result');
  }
  ms.sort((a, b) => a - b);
  return { p50: pct(ms, 0.5), p95: pct(ms, 0.95) };
}

function grep(args: string[], file: string): { ms: number; lines: number } {
  const ms: number[] = [];
  let lines = 0;
  for (let i = 0; i < GREP_RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync('sh', ['-c', `${args.join(' ')} "$1" | wc -l`, 'sh', file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    ms.push(performance.now() - t0);
    lines = Number(r.stdout.trim());
  }
  ms.sort((a, b) => a - b);
  return { ms: pct(ms, 0.5), lines };
}

/** Generate ROWS rows into the store and the flat file; returns the load time in seconds. */
async function load(store: Store, dir: string, flat: string, now: number): Promise<number> {
  const start = now - 7 * DAY;
  const step = (7 * DAY) / ROWS;
  const r = rng(7);
  const out = fs.openSync(flat, 'w');
  const t0 = performance.now();
  let done = 0;
  try {
    while (done < ROWS) {
      const n = Math.min(CHUNK, ROWS - done);
      const lines: string[] = [];
      const raws: string[] = [];
      for (let i = 0; i < n; i++) {
        const t = Math.floor(start + (done + i) * step);
        const h = handsetLine(r, 5000, t);
        const rec = parseLine(h.line, { receivedAtMs: t, tz: 'UTC' }) as StoredRecord;
        const receivedAt = new Date(t).toISOString();
        rec.id = randomUUID();
        rec.time = rec.device_time ?? receivedAt;
        // Live ingestion: received within a second or two of the event, so rows land in the daily
        // partition of their day (received_at) as they would on a running service.
        rec.received_at = new Date(t + (i % 2000)).toISOString();
        rec.source_ip = h.host;
        rec.transport = 'udp';
        rec.session = '';
        rec.raw = h.line;
        lines.push(encodeLogRow(rec));
        // What rsyslog writes to a file: its receive time, then the message without PRI.
        raws.push(h.line.replace(/^<\d+>/, ''));
      }
      const seg = path.join(dir, `chunk-${done}.json`);
      fs.writeFileSync(seg, lines.join('\n') + '\n');
      fs.writeSync(out, raws.join('\n') + '\n');
      await store.insertFile(seg, `bench-${done}`);
      fs.unlinkSync(seg);
      done += n;
      process.stderr.write(`\rloaded ${done.toLocaleString('en-US')} / ${ROWS.toLocaleString('en-US')} rows`);
    }
  } finally {
    fs.closeSync(out);
  }
  const loadS = (performance.now() - t0) / 1000;
  process.stderr.write(`\nloaded in ${loadS.toFixed(0)} s; optimizing is left to background merges\n`);
  return loadS;
}

interface Loaded {
  rows: number;
  now: number;
  loadS: number;
}

async function main(): Promise<void> {
  const keep = process.env['BENCH_DIR'];
  const dir = keep === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-qbench-')) : path.resolve(keep);
  fs.mkdirSync(dir, { recursive: true });
  const flat = path.join(dir, 'syslog.log');
  const marker = path.join(dir, 'loaded.json');
  let loaded: Loaded | null = null;
  if (keep !== undefined && fs.existsSync(marker)) {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as Loaded;
    if (m.rows !== ROWS) throw new Error(`${dir} holds ${m.rows} rows, not BENCH_ROWS=${ROWS}: use another BENCH_DIR`);
    loaded = m;
    process.stderr.write(`reusing the store in ${dir} (${m.rows.toLocaleString('en-US')} rows, loaded ${new Date(m.now).toISOString()})\n`);
  }
  if (loaded === null && fs.existsSync(path.join(dir, 'data'))) {
    throw new Error(`${dir} holds a store whose load did not finish: remove it or use another BENCH_DIR`);
  }
  const store = await openStore({ dataDir: path.join(dir, 'data'), retentionDays: 30 });
  const now = loaded?.now ?? Date.now();
  const start = now - 7 * DAY;
  const loadS = loaded?.loadS ?? (await load(store, dir, flat, now));
  if (keep !== undefined && loaded === null) fs.writeFileSync(marker, JSON.stringify({ rows: ROWS, now, loadS } satisfies Loaded));
  const client = store.client;
  const iso = (ms: number) => new Date(ms).toISOString();
  const q = async (f: LogFilters) => searchLogs(client, { limit: 100, ...f });
  // The by-MAC questions ask about a different handset in each run (1234, 1235, …): a support
  // engineer looks up one handset after another, and no run finds another's granules in a cache.
  const mac = macOf(1234);
  const byMac = (run: number, f: LogFilters): LogFilters => ({ ...f, mac: [macOf(1234 + run)] });
  // A service answers queries all day: the first ones after opening the store pay for loading
  // its indexes and marks and for compiling the client's code. The first one is reported on its
  // own; then WARMUP untimed queries over other handsets (3000, 3001, …) before the timed runs.
  const t0 = performance.now();
  await q({ mac: [macOf(2999)], from: iso(now - DAY), to: iso(now) });
  const firstMs = performance.now() - t0;
  for (let i = 0; i < WARMUP; i++) await q({ mac: [macOf(3000 + i)], from: iso(now - DAY), to: iso(now) });
  const rows: string[] = [];
  const add = async (name: string, f: LogFilters, grepArgs: string[]) => {
    const t = await time(RUNS, (run) => q(f.mac === undefined ? f : byMac(run, f)), (p) => p.rows.length > 0);
    const g = grep(grepArgs, flat);
    rows.push(`| ${name} | ${t.p50.toFixed(1)} ms | ${t.p95.toFixed(1)} ms | ${g.ms.toFixed(0)} ms | ${(g.ms / t.p50).toFixed(0)}× |`);
    process.stderr.write(`${name}: p50 ${t.p50.toFixed(1)} ms, grep ${g.ms.toFixed(0)} ms (${g.lines} lines)\n`);
  };
  // grep gets the easy version of each question (no time window, no parsing): a lower bound for it.
  await add('one handset (MAC), last 24 h, newest 100', { mac: [mac], from: iso(now - DAY), to: iso(now) }, ['grep', '-F', mac]);
  await add('tags SipService\\|SlnkOTA, last hour', { tag: ['SipService', 'SlnkOTA'], from: iso(now - 3_600_000), to: iso(now) }, ['grep', '-E', "'(SipService|SlnkOTA)\\['"]);
  await add('Fatal + Error, 7 days', { severity: [0, 3], from: iso(start), to: iso(now) }, ['grep', '-E', "'\\|(128|131)\\|'"]);
  await add('text "Handshake failed", 7 days', { q: '"Handshake failed"', from: iso(start), to: iso(now) }, ['grep', '-F', "'Handshake failed'"]);
  // The same two questions as the UI's log table asks them: only the fields it shows
  // (LOG_TABLE_FIELDS in ui/src/lib/api.ts); the detail panel fetches a whole row.
  const tableFields = ['severity', 'severity_name', 'mac', 'tag', 'host', 'message', 'battery', 'parse_error'];
  await add('one handset (MAC), last 24 h, newest 100, UI table fields', { mac: [mac], from: iso(now - DAY), to: iso(now), fields: tableFields }, ['grep', '-F', mac]);
  await add('tags SipService\\|SlnkOTA, last hour, UI table fields', { tag: ['SipService', 'SlnkOTA'], from: iso(now - 3_600_000), to: iso(now), fields: tableFields }, ['grep', '-E', "'(SipService|SlnkOTA)\\['"]);
  const dev = await time(RUNS, () => listDevices(client), (d) => d.length === 5000);
  const g = grep(['grep', '-oE', "'00907a[0-9a-f]{6}'", '|', 'sort', '-u'], flat);
  rows.push(`| device list (5,000 handsets) | ${dev.p50.toFixed(1)} ms | ${dev.p95.toFixed(1)} ms | ${g.ms.toFixed(0)} ms | ${(g.ms / dev.p50).toFixed(0)}× |`);
  const size = fs.statSync(flat).size;
  process.stdout.write(
    `\n${ROWS.toLocaleString('en-US')} rows, 5,000 handsets, 7 days; flat file ${(size / 2 ** 30).toFixed(2)} GiB; load ${loadS.toFixed(0)} s; ` +
      `${os.cpus().length} cores, Node ${process.version}; ${RUNS} runs per question after ${WARMUP} untimed queries ` +
      `(the first query after opening the store: ${firstMs.toFixed(0)} ms); the by-MAC runs ask about ${RUNS} different handsets\n\n| question | handlog p50 | handlog p95 | grep (median of ${GREP_RUNS}) | grep / handlog |\n|---|---:|---:|---:|---:|\n${rows.join('\n')}\n`,
  );
  await store.close();
  if (keep === undefined) fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
