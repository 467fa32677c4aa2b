// Durability of the real service as a child process: kill -9 during a TCP load, then restart; and
// a store outage (server mode pointed where nothing answers), then the same data directory started
// again with a reachable store. Every accepted message must end up stored exactly once.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, getJson, startServe, waitForCount } from '../../bench/ingest/harness.js';
import { tempDir } from './helpers.js';

function msg(seq: number): string {
  return `<134>Mar 10 11:59:58 172.29.4.17 SipService[3367]: 00907a22${(seq % 65536).toString(16).padStart(4, '0')}|${1773143998000 + seq}|SipService|6|00| seq=${seq}`;
}

function octet(m: string): string {
  return `${Buffer.byteLength(m)} ${m}`;
}

async function seqsStored(http: string): Promise<number[]> {
  const seqs: number[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page: { rows: { message: string }[]; next_cursor: string | null } = await getJson(`${http}/api/logs?tag=SipService&limit=10000${q}`);
    for (const r of page.rows) seqs.push(Number(/seq=(\d+)/.exec(r.message)?.[1] ?? -1));
    cursor = page.next_cursor;
  } while (cursor !== null);
  return seqs.sort((a, b) => a - b);
}

async function args(dir: string): Promise<string[]> {
  return ['--data', dir, '--udp', 'off', '--tcp', `127.0.0.1:${await freePort()}`, '--http', `127.0.0.1:${await freePort()}`, '--log-level', 'warn'];
}

describe('durability', () => {
  it('kill -9 during a TCP load, then restart: every accepted message stored exactly once', async () => {
    const dir = tempDir('handlog-kill-');
    const a = await args(dir);
    const served = await startServe(a);
    const tcpPort = Number(a[a.indexOf('--tcp') + 1]?.split(':')[1]);
    const sock = net.connect(tcpPort, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    // Stream messages; kill the service once some are visible in the store, load still running.
    let seq = 0;
    let writing = true;
    const writer = (async () => {
      while (writing && !sock.destroyed) {
        let batch = '';
        for (let i = 0; i < 500; i++) batch += octet(msg(seq++));
        if (!sock.write(batch)) await new Promise((r) => sock.once('drain', r).once('close', r));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await waitForCount(served.http, '?tag=SipService', 5000, 30_000);
    served.child.kill('SIGKILL');
    await served.stop();
    writing = false;
    sock.destroy();
    await writer;
    expect(seq).toBeGreaterThan(5000);

    // The restart inserts whatever the WAL held.
    const restarted = await startServe(a);
    try {
      let prev = -1;
      let seqs: number[] = [];
      for (let i = 0; i < 100; i++) {
        seqs = await seqsStored(restarted.http);
        if (seqs.length === prev && i > 3) break;
        prev = seqs.length;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(seqs.length).toBeGreaterThanOrEqual(5000);
      // Exactly once: no duplicates, and one TCP stream in order means a gapless prefix.
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs[0]).toBe(0);
      expect(seqs[seqs.length - 1]).toBe(seqs.length - 1);
    } finally {
      await restarted.stop();
    }
  }, 180_000);

  it('a store outage loses nothing: accepted into the WAL, then inserted exactly once', async () => {
    const dir = tempDir('handlog-outage-');
    const a = await args(dir);
    const down = await startServe([...a, '--clickhouse-url', 'http://127.0.0.1:1/handlog']);
    const tcpPort = Number(a[a.indexOf('--tcp') + 1]?.split(':')[1]);
    const n = 3000;
    try {
      await new Promise<void>((resolve, reject) => {
        const s = net.connect(tcpPort, '127.0.0.1', () => {
          let batch = '';
          for (let i = 0; i < n; i++) batch += octet(msg(i));
          s.end(batch);
        });
        s.on('close', () => resolve());
        s.on('error', reject);
      });
      // Still up, and it says the store is unreachable and the WAL holds the rows.
      let health: { status: string; store: { reachable: boolean }; wal: { rows: number } } | undefined;
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${down.http}/healthz`);
        health = (await r.json()) as typeof health;
        if (r.status === 503 && (health?.wal.rows ?? 0) >= n) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(health?.status).toBe('degraded');
      expect(health?.store.reachable).toBe(false);
      expect(health?.wal.rows).toBeGreaterThanOrEqual(n);
      const metrics = await (await fetch(`${down.http}/metrics`)).text();
      expect(metrics).toMatch(/handlog_wal_bytes \d+/);
      expect(Number(/handlog_wal_bytes (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    } finally {
      await down.stop();
    }
    expect(fs.readdirSync(path.join(dir, 'wal')).length).toBeGreaterThan(0);
    // The same data directory with a reachable store (the embedded one): everything, once.
    const up = await startServe(a);
    try {
      const count = await waitForCount(up.http, '?tag=SipService', n, 60_000);
      expect(count).toBe(n);
      await new Promise((r) => setTimeout(r, 1000));
      const seqs = await seqsStored(up.http);
      expect(seqs.length).toBe(n);
      expect(new Set(seqs).size).toBe(n);
    } finally {
      await up.stop();
    }
  }, 180_000);
});
