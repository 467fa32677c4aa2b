// `npm run bench:alert-cost`: what 20 alert rules cost ingest, measured the only way this machine
// allows — back-to-back runs of the ingest bench without rules and with them, alternating (pair 1:
// none then rules, pair 2: rules then none, …) so that a slow or fast phase of the VM does not land
// on one side only. Each run is a fresh `handlog serve` (ingest.bench.js as a child process, TCP
// only by default); the table gives each pair's end-to-end TCP rate, the loss and the CPU per
// message, and the median loss over the pairs, which is the figure the alerts issue asks about
// (a run that did not store every message says how many it lost, beside its rate).
//
// BENCH_PAIRS (default 4), HANDLOG_BENCH_RULES (default 20), BENCH_TCP (default 1,000,000 per run);
// BENCH_TLS and BENCH_UDP default to 0 here (set them to include those transports). Any other
// variable (HANDLOG_BENCH_NO_CHANNEL, HANDLOG_BENCH_NODE_ARGS…) is passed to every run.

import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PAIRS = Number(process.env['BENCH_PAIRS'] ?? 4);
const RULES = Number(process.env['HANDLOG_BENCH_RULES'] ?? 20);
const INGEST_BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ingest.bench.js');

interface Run {
  /** End-to-end TCP messages/s (send → all queryable). */
  rate: number;
  /** TCP messages not stored, in %. */
  loss: number;
  /** Service CPU per message, all threads and the event loop (µs). */
  cpuAll: number;
  cpuLoop: number;
}

/** The TCP row and the CPU line of ingest.bench.js's report. */
function parseReport(out: string): Run {
  const tcp = /^\| tcp \| [\d,]+ \| ([\d,]+) \| [\d,]+ \| ([\d.]+) % \|/m.exec(out);
  const cpu = /CPU of handlog serve: [\d.]+ s in all threads \(([\d.]+) µs\/message\), [\d.]+ s in the event-loop thread \(([\d.]+) µs\/message\)/.exec(out);
  if (tcp === null || cpu === null) throw new Error(`the ingest bench did not report a TCP rate and its CPU:\n${out.slice(-2000)}`);
  return { rate: Number((tcp[1] as string).replace(/,/g, '')), loss: Number(tcp[2]), cpuAll: Number(cpu[1]), cpuLoop: Number(cpu[2]) };
}

function runIngest(rules: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INGEST_BENCH], {
      env: {
        ...process.env,
        HANDLOG_BENCH_RULES: String(rules),
        BENCH_TLS: process.env['BENCH_TLS'] ?? '0',
        BENCH_UDP: process.env['BENCH_UDP'] ?? '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`ingest bench (rules ${rules}) exited with ${code}:\n${out.slice(-2000)}`));
      else {
        try {
          resolve(parseReport(out));
        } catch (e: unknown) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  if (!Number.isInteger(PAIRS) || PAIRS < 1) throw new Error(`BENCH_PAIRS must be a positive integer, got ${process.env['BENCH_PAIRS']}`);
  if (!Number.isInteger(RULES) || RULES < 1) throw new Error(`HANDLOG_BENCH_RULES must be a positive integer, got ${process.env['HANDLOG_BENCH_RULES']}`);
  const rows: string[] = [];
  const losses: number[] = [];
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  const lost = (r: Run) => (r.loss > 0 ? ` (${r.loss.toFixed(3)} % lost)` : '');
  for (let p = 1; p <= PAIRS; p++) {
    const order = p % 2 === 1 ? [0, RULES] : [RULES, 0];
    const got = new Map<number, Run>();
    for (const rules of order) {
      process.stderr.write(`pair ${p}/${PAIRS}: ingest bench with ${rules === 0 ? 'no rules' : `${rules} rules`}…\n`);
      got.set(rules, await runIngest(rules));
    }
    const none = got.get(0) as Run;
    const with_ = got.get(RULES) as Run;
    const loss = (1 - with_.rate / none.rate) * 100;
    losses.push(loss);
    rows.push(
      `| ${p} | ${order[0] === 0 ? 'none first' : 'rules first'} | ${fmt(none.rate)}${lost(none)} | ${fmt(with_.rate)}${lost(with_)} | ${loss.toFixed(1)} % | ` +
        `${none.cpuAll.toFixed(1)} → ${with_.cpuAll.toFixed(1)} µs | ${none.cpuLoop.toFixed(1)} → ${with_.cpuLoop.toFixed(1)} µs |`,
    );
    process.stderr.write(`pair ${p}: ${fmt(none.rate)} → ${fmt(with_.rate)} msg/s, loss ${loss.toFixed(1)} %\n`);
  }
  const tcp = Number(process.env['BENCH_TCP'] ?? 1_000_000);
  process.stdout.write(
    `\n${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${fmt(tcp)} TCP messages per run, ` +
      `${PAIRS} ${PAIRS === 1 ? 'pair' : 'pairs'} of runs without alert rules and with ${RULES}\n\n` +
      `| pair | order | no rules, TCP msg/s | ${RULES} rules, TCP msg/s | loss | CPU per message, all threads | event loop |\n` +
      `|---|---|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n\n` +
      `median loss ${median(losses).toFixed(1)} % (range ${Math.min(...losses).toFixed(1)} – ${Math.max(...losses).toFixed(1)} %)\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
