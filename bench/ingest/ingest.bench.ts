// `npm run bench:ingest`: end-to-end ingest on loopback. Starts `handlog serve` (embedded store, fresh
// data directory), plays N handsets over TCP (octet counting), TLS and UDP, waits until every message
// is queryable through the API, and reports messages/s, loss, p99 send→queryable latency and RSS.
// Bounded: a fixed count per transport, loopback only, every wait has a deadline.

import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { TAGS, bsdTime, handsetLine, rng } from '../corpus.js';
import { freePort, getJson, makeCerts, startServe, waitForCount, waitForCountUntilStable } from './harness.js';
import { installBenchRules } from './alert-rules.js';

const COUNTS = {
  tcp: Number(process.env['BENCH_TCP'] ?? 1_000_000),
  tls: Number(process.env['BENCH_TLS'] ?? 300_000),
  udp: Number(process.env['BENCH_UDP'] ?? 300_000),
};
/**
 * UDP send rate. Above the issue's 50,000 msg/s so that the end-to-end rate (to the last row queryable,
 * which adds the final commit's latency to a few seconds of sending) is itself above 50,000.
 */
const UDP_RATE = Number(process.env['BENCH_UDP_RATE'] ?? 60_000);
const HANDSETS = 5000;
const PROBE_TAG = 'BenchProbe';
/** Not one of the corpus handsets (macOf(0..4999)): the probe poll is a primary-key lookup, not a tag scan. */
const PROBE_MAC = '00907afffffe';
/** Alert rules active during the run (HANDLOG_BENCH_RULES; 0 = none, the default rule disabled). */
const RULES = process.env['HANDLOG_BENCH_RULES'] === undefined ? null : Number(process.env['HANDLOG_BENCH_RULES']);

function frames(n: number, seed: number, octet: boolean): Buffer[] {
  const r = rng(seed);
  const t0 = Date.now();
  const chunks: Buffer[] = [];
  let parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const line = handsetLine(r, HANDSETS, t0 + i).line;
    parts.push(octet ? `${Buffer.byteLength(line)} ${line}` : line + '\n');
    if (parts.length === 2000) {
      chunks.push(Buffer.from(parts.join('')));
      parts = [];
    }
  }
  if (parts.length > 0) chunks.push(Buffer.from(parts.join('')));
  return chunks;
}

async function writeAll(sock: net.Socket, chunks: Buffer[]): Promise<void> {
  for (const c of chunks) {
    if (!sock.write(c)) await new Promise((r) => sock.once('drain', r));
  }
  await new Promise<void>((r) => sock.end(r));
}

function probeLine(id: number): string {
  return `<131>${bsdTime(Date.now())} 127.0.0.1 ${PROBE_TAG}[1]: ${PROBE_MAC}|${Date.now()}|${PROBE_TAG}|3|00| probe ${id}`;
}

/**
 * Sends a probe every 200 ms over `send` and records when each becomes visible through the API
 * (polled every 50 ms by the probes' MAC: a cheap query, so the polling does not load the service).
 */
function startProbes(http: string, send: (line: string) => void) {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let id = 0;
  let running = true;
  let lastSentMs = Date.now();
  const sender = setInterval(() => {
    lastSentMs = Date.now();
    sentAt.set(id, lastSentMs);
    send(probeLine(id));
    id++;
  }, 200);
  const poller = (async () => {
    while (running || sentAt.size > 0) {
      try {
        const page = await getJson<{ rows: { message: string }[] }>(`${http}/api/logs?mac=${PROBE_MAC}&limit=1000`);
        const now = Date.now();
        for (const row of page.rows) {
          const m = /probe (\d+)/.exec(row.message);
          const pid = m === null ? -1 : Number(m[1]);
          const t = sentAt.get(pid);
          if (t !== undefined) {
            latencies.push(now - t);
            sentAt.delete(pid);
          }
        }
      } catch {
        // keep polling
      }
      // A probe not seen 10 s after the last one was sent is lost (UDP) and not waited for.
      if (!running && sentAt.size > 0 && Date.now() - lastSentMs > 10_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    /** No more probes; the ones sent are still watched until stop(). */
    stopSending(): void {
      clearInterval(sender);
    },
    async stop(): Promise<{ p50: number; p99: number; n: number; lost: number }> {
      clearInterval(sender);
      running = false;
      await poller;
      const sorted = [...latencies].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
      return { p50: q(0.5), p99: q(0.99), n: sorted.length, lost: sentAt.size };
    },
    count: () => id,
  };
}

/** Stored load messages: every corpus tag, probes excluded. */
async function countLoad(http: string): Promise<number> {
  return (await getJson<{ count: number }>(`${http}/api/logs/count?tag=${encodeURIComponent(TAGS.join('|'))}`)).count;
}

function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m === null ? NaN : Number(m[1]) / 1024;
}

/**
 * CPU seconds (user + system) of a process, or of one of its threads: fields 14 and 15 of
 * /proc/…/stat in clock ticks (100 per second on Linux). Steadier than wall-clock rates on a
 * shared machine, for comparing runs (alert rules on and off).
 */
function cpuSeconds(pid: number, tid?: number): number {
  const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * CPU seconds of a process's live threads grouped by thread name (the engine names its pools:
 * MergeMutate, QueryPipelineEx…; Node's own threads are `node` and V8's `V8 Worker`…); what threads
 * that already ended used is the rest of the process total, under "(ended threads)".
 */
function cpuByThreadName(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let live = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = tid === String(pid) ? 'event loop' : fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const s = cpuSeconds(pid, Number(tid));
      byName.set(name, (byName.get(name) ?? 0) + s);
      live += s;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  byName.set('(ended threads)', Math.max(0, cpuSeconds(pid) - live));
  return byName;
}

/** The rsyslog daemon, when installed: the same TCP load into a plain file, for the ratio. */
function findRsyslogd(): string | null {
  for (const p of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd', '/usr/local/sbin/rsyslogd']) if (fs.existsSync(p)) return p;
  return null;
}

async function rsyslogTcp(bin: string, dir: string, n: number): Promise<{ seconds: number; stored: number } | null> {
  const port = await freePort();
  const work = path.join(dir, 'rsyslog');
  fs.mkdirSync(work, { recursive: true });
  const out = path.join(work, 'out.log');
  const conf = path.join(work, 'rsyslog.conf');
  fs.writeFileSync(
    conf,
    `global(workDirectory="${work}")\nmodule(load="imtcp")\ninput(type="imtcp" port="${port}" address="127.0.0.1")\n` +
      `*.* action(type="omfile" file="${out}")\n`,
  );
  const child = spawn(bin, ['-n', '-f', conf, '-i', path.join(work, 'rsyslogd.pid')], { stdio: 'ignore' });
  try {
    // Wait for the port.
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) break;
      if (i > 100 || child.exitCode !== null) return null;
      await new Promise((r) => setTimeout(r, 100));
    }
    const per = Math.ceil(n / 4);
    const chunkSets = Array.from({ length: 4 }, (_, k) => frames(Math.max(0, Math.min(per, n - k * per)), 100 + k, true));
    const t0 = Date.now();
    await Promise.all(chunkSets.map((chunks) => writeAll(net.connect(port, '127.0.0.1'), chunks)));
    const lines = () => {
      try {
        const b = fs.readFileSync(out);
        let c = 0;
        for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) c++;
        return c;
      } catch {
        return 0;
      }
    };
    let stored = 0;
    const deadline = Date.now() + 300_000;
    let last = -1;
    let stableSince = Date.now();
    while (Date.now() < deadline) {
      stored = lines();
      if (stored >= n) break;
      if (stored !== last) {
        last = stored;
        stableSince = Date.now();
      } else if (Date.now() - stableSince > 10_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return { seconds: (Date.now() - t0) / 1000, stored };
  } finally {
    child.kill('SIGTERM');
  }
}

interface Result {
  transport: string;
  sent: number;
  stored: number;
  seconds: number;
  sendSeconds: number;
  p50: number;
  p99: number;
}

/** The kernel's cap on a socket's receive buffer, which bounds the UDP burst the service can absorb. */
function rmemMax(): string {
  try {
    return `${(Number(fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim()) / 2 ** 20).toFixed(0)} MiB`;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-bench-'));
  const certs = makeCerts(path.join(dir, 'certs'));
  const [udpPort, tcpPort, tlsPort, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const served = await startServe([
    '--data', path.join(dir, 'data'),
    '--udp', `127.0.0.1:${udpPort}`,
    '--tcp', `127.0.0.1:${tcpPort}`,
    '--tls', `127.0.0.1:${tlsPort}`,
    '--tls-cert', certs.serverCert,
    '--tls-key', certs.serverKey,
    '--http', `127.0.0.1:${httpPort}`,
    '--log-level', 'warn',
  ]);
  const http = served.http;
  const alerting = RULES === null ? null : await installBenchRules(http, RULES);
  // This process shares the machine's cores with the service: its senders and, with alert rules,
  // the webhook receiver that answers the service's notifications.
  const benchCpu0 = process.cpuUsage();
  const results: Result[] = [];
  let expected = 0;
  const udp = dgram.createSocket('udp4');
  try {
    // UDP, paced at UDP_RATE datagrams/s (UDP has no backpressure: unpaced, the kernel drops).
    // The datagrams are built before the clock starts, so the sender's own cost stays small.
    {
      const n = COUNTS.udp;
      const r = rng(300);
      const base0 = Date.now();
      const datagrams: Buffer[] = [];
      for (let i = 0; i < n; i++) datagrams.push(Buffer.from(handsetLine(r, HANDSETS, base0 + i).line));
      const before = expected;
      const t0 = Date.now();
      const probes = startProbes(http, (l) => udp.send(l, udpPort, '127.0.0.1'));
      let sent = 0;
      while (sent < n) {
        // Catch up in small bursts only: real handsets send independently, not in blocks of
        // thousands after a pause of the load generator.
        const due = Math.min(n, Math.floor(((Date.now() - t0) / 1000) * UDP_RATE) + 100, sent + 200);
        while (sent < due) udp.send(datagrams[sent++] as Buffer, udpPort, '127.0.0.1');
        await new Promise((res) => setImmediate(res));
      }
      const sendSeconds = (Date.now() - t0) / 1000;
      probes.stopSending();
      // A datagram the kernel dropped never arrives: stop when the count has not grown for 3 s and
      // time the run to its last growth (waiting out a timeout would understate the rate).
      const done = await waitForCountUntilStable(http, '', before + n + probes.count(), 60_000, 100, 3_000);
      const seconds = (done.lastChangeMs - t0) / 1000;
      const lat = await probes.stop();
      expected = await countLoad(http);
      results.push({ transport: 'udp', sent: n, stored: expected - before, seconds, sendSeconds, p50: lat.p50, p99: lat.p99 });
    }
    // TCP (4 connections) and TLS (2 connections), octet counting.
    const connectTcp = async (): Promise<net.Socket> => {
      const sock = net.connect(tcpPort, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      return sock;
    };
    const connectTls = async (): Promise<net.Socket> => {
      const sock = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: fs.readFileSync(certs.caCert), servername: 'localhost' });
      await new Promise((r) => sock.once('secureConnect', r));
      return sock;
    };
    for (const [transport, connect, connections, seed] of [
      ['tcp', connectTcp, 4, 100],
      ['tls', connectTls, 2, 200],
    ] as const) {
      const n = COUNTS[transport];
      const per = Math.ceil(n / connections);
      const chunkSets = Array.from({ length: connections }, (_, k) => frames(Math.max(0, Math.min(per, n - k * per)), seed + k, true));
      const probeSock = await connect();
      const probes = startProbes(http, (l) => probeSock.write(`${Buffer.byteLength(l)} ${l}`));
      const t0 = Date.now();
      await Promise.all(chunkSets.map(async (chunks) => writeAll(await connect(), chunks)));
      const sendSeconds = (Date.now() - t0) / 1000;
      const before = expected;
      await waitForCount(http, '', before + n + probes.count(), 300_000, 100);
      const seconds = (Date.now() - t0) / 1000;
      const lat = await probes.stop();
      probeSock.end();
      expected = await countLoad(http);
      results.push({ transport, sent: n, stored: expected - before, seconds, sendSeconds, p50: lat.p50, p99: lat.p99 });
    }
  } finally {
    udp.close();
  }
  const benchCpuUs = process.cpuUsage(benchCpu0);
  const rss = served.child.pid === undefined ? NaN : peakRssMb(served.child.pid);
  const pid = served.child.pid;
  const cpu = pid === undefined ? { all: NaN, loop: NaN } : { all: cpuSeconds(pid), loop: cpuSeconds(pid, pid) };
  const threads = pid === undefined ? new Map<string, number>() : cpuByThreadName(pid);
  const metrics = await (await fetch(`${http}/metrics`)).text();
  await served.stop();
  await alerting?.close();
  if (RULES !== null) {
    const alertLines = metrics.split('\n').filter((l) => /^handlog_alert_(notices|notifications|skipped|suppressed)_total\{/.test(l));
    process.stdout.write(`\nalert rules active: ${RULES}; webhook notifications received: ${alerting?.received() ?? 0}\n${alertLines.join('\n')}\n`);
  }
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  const sentTotal = results.reduce((n, r) => n + r.sent, 0);
  const rows = results.filter((r) => r.sent > 0).map((r) => {
    const loss = ((r.sent - r.stored) / r.sent) * 100;
    return `| ${r.transport} | ${fmt(r.sent)} | ${fmt(r.sent / r.seconds)} | ${fmt(r.sent / r.sendSeconds)} | ${loss.toFixed(3)} % | ${fmt(r.p50)} ms | ${fmt(r.p99)} ms |`;
  });
  process.stdout.write(
    `\nmachine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ` +
      `net.core.rmem_max ${rmemMax()} (caps the UDP receive buffer)\n` +
      `\n| transport | messages | end-to-end msg/s (send → all queryable) | send msg/s | loss | p50 send→queryable | p99 send→queryable |\n|---|---:|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n` +
      `\npeak RSS of handlog serve: ${fmt(rss)} MiB\n` +
      `CPU of handlog serve: ${cpu.all.toFixed(1)} s in all threads (${((cpu.all / sentTotal) * 1e6).toFixed(1)} µs/message), ` +
      `${cpu.loop.toFixed(1)} s in the event-loop thread (${((cpu.loop / sentTotal) * 1e6).toFixed(1)} µs/message)\n` +
      `CPU by thread name (µs/message): ${[...threads]
        .filter(([, s]) => s >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([name, s]) => `${name} ${((s / sentTotal) * 1e6).toFixed(1)}`)
        .join(', ')}\n` +
      `CPU of this bench process (senders${RULES !== null && RULES > 0 ? ', webhook receiver' : ''}): ` +
      `${((benchCpuUs.user + benchCpuUs.system) / sentTotal).toFixed(1)} µs/message\n`,
  );
  const rsyslogd = findRsyslogd();
  if (rsyslogd === null) {
    process.stdout.write('\nrsyslogd is not installed: no rsyslog comparison (apt-get install rsyslog to add it).\n');
  } else {
    const tcp = results.find((r) => r.transport === 'tcp');
    const rs = await rsyslogTcp(rsyslogd, dir, COUNTS.tcp);
    if (rs === null || tcp === undefined) process.stdout.write('\nrsyslogd did not start: no comparison.\n');
    else {
      const rate = COUNTS.tcp / rs.seconds;
      process.stdout.write(
        `\nrsyslog ${/rsyslogd\s+([\d.]+)/.exec(execFileSync(rsyslogd, ['-v']).toString())?.[1] ?? ''}, same TCP load into a plain file: ` +
          `${fmt(rate)} msg/s, ${fmt(rs.stored)} of ${fmt(COUNTS.tcp)} lines written; ` +
          `handlog/rsyslog = ${(tcp.sent / tcp.seconds / rate).toFixed(2)} (handlog parses, indexes and stores queryable rows; rsyslog appends text)\n`,
      );
    }
  }
  const drops = metrics.split('\n').filter((l) => l.startsWith('handlog_dropped_total') || l.startsWith('handlog_udp_kernel_drops') || l.startsWith('handlog_insert_batches_total'));
  if (drops.length > 0) process.stdout.write(`\n${drops.join('\n')}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
