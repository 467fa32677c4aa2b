// `npm run bench:alert-cost`: what 20 alert rules cost ingest, measured the only way this machine
// allows — back-to-back runs of the ingest bench without rules and with them, alternating (pair 1:
// none then rules, pair 2: rules then none, …) so that a slow or fast phase of the VM does not land
// on one side only. Each run is a fresh `handlog serve` (ingest.bench.js as a child process).
//
// By default each run is the ingest benchmark exactly as `npm run bench:ingest` runs it: UDP paced
// at 60,000 msg/s, then TCP and TLS as fast as the service takes them. TCP and TLS are the
// throughput figures (their senders are not paced): the table gives each pair's end-to-end rates,
// the loss of each and the CPU per message, and the summary the median loss of each with its 95 %
// confidence interval. UDP is paced, so its rate says little about throughput: its messages lost
// and p99 send→queryable latency are listed instead.
//
// BENCH_UDP=0 BENCH_TLS=0 is the cold-start variant: TCP alone, first, so that every one-time cost
// of the rules (V8 compiling the evaluator, the first alert storm opening its groups, sending and
// storing their notices) lands in the one measured phase.
//
// BENCH_PAIRS (default 4), HANDLOG_BENCH_RULES (default 20), BENCH_TCP, BENCH_TLS, BENCH_UDP (the
// ingest bench's defaults). Any other variable (HANDLOG_BENCH_NO_CHANNEL, HANDLOG_BENCH_NODE_ARGS…)
// is passed to every run.

import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PAIRS = Number(process.env['BENCH_PAIRS'] ?? 4);
const RULES = Number(process.env['HANDLOG_BENCH_RULES'] ?? 20);
const INGEST_BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ingest.bench.js');

type TransportName = 'udp' | 'tcp' | 'tls';
/** The transports whose senders are not paced: their end-to-end rate is the service's throughput. */
const THROUGHPUT: readonly TransportName[] = ['tcp', 'tls'];

interface Row {
  /** End-to-end messages/s (send → all queryable). */
  rate: number;
  /** Messages not stored, in %. */
  lost: number;
  p99: number;
}

interface Run {
  rows: Partial<Record<TransportName, Row>>;
  /** Service CPU per message, all threads and the event loop (µs). */
  cpuAll: number;
  cpuLoop: number;
}

const num = (s: string | undefined) => Number((s ?? '').replace(/,/g, ''));

/** The transport rows and the CPU line of ingest.bench.js's report. */
function parseReport(out: string): Run {
  const rows: Partial<Record<TransportName, Row>> = {};
  for (const m of out.matchAll(/^\| (udp|tcp|tls) \| [\d,]+ \| ([\d,]+) \| [\d,]+ \| ([\d.]+) % \| [\d,]+ ms \| ([\d,]+) ms \|/gm)) {
    rows[m[1] as TransportName] = { rate: num(m[2]), lost: num(m[3]), p99: num(m[4]) };
  }
  const cpu = /CPU of handlog serve: [\d.]+ s in all threads \(([\d.]+) µs\/message\), [\d.]+ s in the event-loop thread \(([\d.]+) µs\/message\)/.exec(out);
  if (THROUGHPUT.every((t) => rows[t] === undefined) || cpu === null) {
    throw new Error(`the ingest bench did not report a TCP or TLS rate and its CPU:\n${out.slice(-2000)}`);
  }
  return { rows, cpuAll: Number(cpu[1]), cpuLoop: Number(cpu[2]) };
}

function runIngest(rules: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INGEST_BENCH], {
      env: { ...process.env, HANDLOG_BENCH_RULES: String(rules) },
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

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

function median(xs: readonly number[]): number {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * A 95 % confidence interval of the median (distribution-free: order statistics k and n − k + 1,
 * k the largest with P(Binomial(n, ½) < k) ≤ 2.5 %); null below 6 values, where none exists.
 */
function medianInterval(xs: readonly number[]): [number, number] | null {
  const n = xs.length;
  if (n < 6) return null;
  // P(X ≤ j) for X ~ Binomial(n, 1/2), summed in logs to stay exact enough for large n.
  const logC = (k: number) => {
    let s = 0;
    for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
    return s;
  };
  let cum = 0;
  let k = 0;
  while (k < n) {
    const next = cum + Math.exp(logC(k) - n * Math.LN2);
    if (next > 0.025) break;
    cum = next;
    k++;
  }
  if (k === 0) return null;
  const s = sorted(xs);
  return [s[k - 1] as number, s[n - k] as number];
}

function summary(name: string, losses: readonly number[]): string {
  if (losses.length === 0) return `${name}: not measured`;
  const ci = medianInterval(losses);
  return (
    `${name}: median loss ${median(losses).toFixed(1)} %` +
    (ci === null
      ? ' (too few pairs for a confidence interval: this VM\'s pairs spread by ±25 %; BENCH_PAIRS=30 for a verdict)'
      : ` (95 % confidence interval of the median ${ci[0].toFixed(1)} – ${ci[1].toFixed(1)} %)`) +
    `, pairs ${Math.min(...losses).toFixed(1)} – ${Math.max(...losses).toFixed(1)} %`
  );
}

async function main(): Promise<void> {
  if (!Number.isInteger(PAIRS) || PAIRS < 1) throw new Error(`BENCH_PAIRS must be a positive integer, got ${process.env['BENCH_PAIRS']}`);
  if (!Number.isInteger(RULES) || RULES < 1) throw new Error(`HANDLOG_BENCH_RULES must be a positive integer, got ${process.env['HANDLOG_BENCH_RULES']}`);
  const lines: string[] = [];
  const losses: Record<TransportName, number[]> = { udp: [], tcp: [], tls: [] };
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  const lost = (r: Row) => (r.lost > 0 ? ` (${r.lost.toFixed(3)} % lost)` : '');
  let udpSeen = false;
  for (let p = 1; p <= PAIRS; p++) {
    const order = p % 2 === 1 ? [0, RULES] : [RULES, 0];
    const got = new Map<number, Run>();
    for (const rules of order) {
      process.stderr.write(`pair ${p}/${PAIRS}: ingest bench with ${rules === 0 ? 'no rules' : `${rules} rules`}…\n`);
      got.set(rules, await runIngest(rules));
    }
    const none = got.get(0) as Run;
    const with_ = got.get(RULES) as Run;
    const cells: string[] = [];
    const said: string[] = [];
    for (const t of THROUGHPUT) {
      const a = none.rows[t];
      const b = with_.rows[t];
      if (a === undefined || b === undefined) {
        cells.push('', '');
        continue;
      }
      const loss = (1 - b.rate / a.rate) * 100;
      losses[t].push(loss);
      cells.push(`${fmt(a.rate)}${lost(a)} → ${fmt(b.rate)}${lost(b)}`, `${loss.toFixed(1)} %`);
      said.push(`${t} ${fmt(a.rate)} → ${fmt(b.rate)} msg/s, loss ${loss.toFixed(1)} %`);
    }
    const ua = none.rows.udp;
    const ub = with_.rows.udp;
    if (ua !== undefined && ub !== undefined) udpSeen = true;
    const udpCell = ua === undefined || ub === undefined ? '' : `${ua.lost.toFixed(2)} → ${ub.lost.toFixed(2)} % lost, p99 ${fmt(ua.p99)} → ${fmt(ub.p99)} ms`;
    lines.push(
      `| ${p} | ${order[0] === 0 ? 'none first' : 'rules first'} | ${cells.join(' | ')} | ${udpCell} | ` +
        `${none.cpuAll.toFixed(1)} → ${with_.cpuAll.toFixed(1)} µs | ${none.cpuLoop.toFixed(1)} → ${with_.cpuLoop.toFixed(1)} µs |`,
    );
    process.stderr.write(`pair ${p}: ${said.join('; ')}\n`);
  }
  const counts = (['udp', 'tcp', 'tls'] as const).map((t) => `${t.toUpperCase()} ${process.env[`BENCH_${t.toUpperCase()}`] ?? 'default'}`).join(', ');
  process.stdout.write(
    `\n${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; messages per run: ${counts} ` +
      `(defaults: those of the ingest bench); ${PAIRS} ${PAIRS === 1 ? 'pair' : 'pairs'} of runs without alert rules and with ${RULES}\n\n` +
      `| pair | order | TCP msg/s, none → ${RULES} rules | TCP loss | TLS msg/s, none → ${RULES} rules | TLS loss | UDP (paced) | CPU per message, all threads | event loop |\n` +
      `|---|---|---:|---:|---:|---:|---:|---:|---:|\n${lines.join('\n')}\n\n` +
      THROUGHPUT.map((t) => summary(t.toUpperCase(), losses[t])).join('\n') +
      (udpSeen ? '\nUDP is paced (its rate is the sender\'s): messages lost and p99 latency above, per run.' : '') +
      '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
