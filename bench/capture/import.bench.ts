// `npm run bench:import`: import throughput and memory of `handlog import` (capture/import.ts) into the
// embedded store. Generates a syslog-server style text file and a pcap of UDP syslog datagrams
// (HANDLOG_BENCH_LINES lines each, default 1,000,000), imports each as a session, and reports lines/s
// and the peak resident memory sampled during the import. The stored row count is checked.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importFiles } from '../../capture/import.js';
import { LINKTYPE } from '../../capture/packet.js';
import { openStore } from '../../store/client.js';
import { handsetLine, rng } from '../corpus.js';

const LINES = Number(process.env['HANDLOG_BENCH_LINES'] ?? 1_000_000);
const HANDSETS = 2000;

function udpPacket(payload: Buffer, srcIp: number): Buffer {
  // Ethernet II + IPv4 + UDP, checksums zero (as offloaded captures have them).
  const frame = Buffer.alloc(14 + 20 + 8 + payload.length);
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(20 + 8 + payload.length, 16);
  frame[14 + 9] = 17;
  frame.writeUInt32BE(srcIp >>> 0, 14 + 12);
  frame.writeUInt32BE(0x0a000005, 14 + 16);
  frame.writeUInt16BE(40000, 34);
  frame.writeUInt16BE(514, 36);
  frame.writeUInt16BE(8 + payload.length, 38);
  payload.copy(frame, 42);
  return frame;
}

async function writeInputs(dir: string): Promise<{ text: string; pcap: string }> {
  const r = rng(42);
  const t0 = Date.UTC(2026, 10, 1);
  const text = path.join(dir, 'server.log');
  const pcap = path.join(dir, 'capture.pcap');
  const tw = fs.createWriteStream(text);
  const pw = fs.createWriteStream(pcap);
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(262_144, 16);
  g.writeUInt32LE(LINKTYPE.ETHERNET, 20);
  pw.write(g);
  let tb: string[] = [];
  let pb: Buffer[] = [];
  const flush = async () => {
    if (!tw.write(tb.join(''))) await new Promise<void>((res) => tw.once('drain', () => res()));
    if (!pw.write(Buffer.concat(pb))) await new Promise<void>((res) => pw.once('drain', () => res()));
    tb = [];
    pb = [];
  };
  for (let i = 0; i < LINES; i++) {
    const t = t0 + i * 20;
    const h = handsetLine(r, HANDSETS, t);
    tb.push(`${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} Local0.Info ${h.host} ${h.line}\n`);
    const frame = udpPacket(Buffer.from(h.line), 0xac1d0000 + (i % HANDSETS));
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(t / 1000), 0);
    rec.writeUInt32LE((t % 1000) * 1000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    pb.push(rec, frame);
    if (tb.length >= 10_000) await flush();
  }
  await flush();
  await Promise.all([new Promise((res) => tw.end(res)), new Promise((res) => pw.end(res))]);
  return { text, pcap };
}

/** Waits until no merge is running (at most 120 s). */
async function waitForMerges(store: Awaited<ReturnType<typeof openStore>>): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < 120_000) {
    const rs = await store.client.query({ query: 'SELECT count() AS n FROM system.merges', format: 'JSONEachRow' });
    if (Number((await rs.json<{ n: string }>())[0]?.n) === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-bench-import-'));
  try {
    console.log(`generating ${LINES.toLocaleString('en')} lines as a syslog-server file and as a pcap…`);
    const inputs = await writeInputs(dir);
    const store = await openStore({ dataDir: path.join(dir, 'data'), retentionDays: 30 });
    const results: string[] = [];
    try {
      for (const [label, file] of [
        ['syslog-server text file', inputs.text],
        ['pcap (UDP datagrams)', inputs.pcap],
      ] as const) {
        // Each phase starts on an empty table with the engine idle. Otherwise the second format pays
        // for the first: its parts land in the same daily partition and the engine merges them with
        // the first import's (measured: whichever format runs second is ~10 % slower).
        if (results.length > 0) {
          for (const t of ['logs', 'devices', 'device_errors_hourly']) await store.client.command({ query: `TRUNCATE TABLE ${t}` });
        }
        await waitForMerges(store);
        const size = fs.statSync(file).size;
        let peak = process.memoryUsage().rss;
        let insertMs = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
        const t = performance.now();
        const { session } = await importFiles(
          { session: label, files: [{ path: file }], tz: 'UTC', nowMs: Date.now() },
          {
            client: store.client,
            insertLines: (l, tok) => store.insertLines(l, tok),
            insertFile: async (f, tok, fmt) => {
              const t1 = performance.now();
              await store.insertFile(f, tok, fmt);
              insertMs += performance.now() - t1;
            },
            spoolDir: path.join(dir, 'spool'),
          },
        );
        const secs = (performance.now() - t) / 1000;
        clearInterval(sampler);
        const rs = await store.client.query({ query: 'SELECT count() AS c FROM logs WHERE session = {s:String}', query_params: { s: label }, format: 'JSONEachRow' });
        const stored = Number((await rs.json<{ c: string }>())[0]?.c);
        if (stored !== LINES || session.unparsed !== 0) throw new Error(`${label}: stored ${stored}, unparsed ${session.unparsed}, expected ${LINES}`);
        const line = `${label.padEnd(26)} ${(size / 1024 ** 2).toFixed(0).padStart(5)} MiB  ${secs.toFixed(1).padStart(6)} s  ${Math.round(LINES / secs).toLocaleString('en').padStart(9)} lines/s  ${(size / 1024 ** 2 / secs).toFixed(1)} MiB/s  peak RSS ${(peak / 1024 ** 2).toFixed(0)} MiB, inserts ${(insertMs / 1000).toFixed(1)} s`;
        console.log(line);
        results.push(line);
      }
    } finally {
      await store.close();
    }
    console.log(`\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
