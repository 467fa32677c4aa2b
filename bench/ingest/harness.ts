// Helpers shared by the ingest benchmark and the end-to-end tests: start `handlog serve` as a
// child process on loopback, wait for it, and make self-signed certificates with openssl.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The checkout root, found upward from this file (it runs from source in tests and from dist/ in benchmarks). */
function findRepo(): string {
  let dir = import.meta.dirname;
  while (!fs.existsSync(path.join(dir, 'bin', 'handlog.js'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the handlog checkout from ' + import.meta.dirname);
    dir = up;
  }
  return dir;
}

export const REPO = findRepo();
export const BIN = path.join(REPO, 'bin', 'handlog.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Certs {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, via the openssl CLI. */
export function makeCerts(dir: string = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-certs-'))): Certs {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=handlog test CA']);
  fs.writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  ssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('server.ext')]);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=handset-00907a11baaa']);
  ssl(['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.crt'), '-days', '2']);
  return { dir, caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}

export interface Served {
  child: ChildProcess;
  http: string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Start `handlog serve` with `args` and wait until /healthz answers (any status). */
export async function startServe(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Served> {
  const httpIdx = args.indexOf('--http');
  const http = httpIdx >= 0 ? `http://${args[httpIdx + 1] ?? ''}` : 'http://127.0.0.1:8080';
  // HANDLOG_BENCH_NODE_ARGS: extra node flags for the service, e.g. `--cpu-prof --cpu-prof-dir=prof`
  // (node refuses --cpu-prof in NODE_OPTIONS).
  const nodeArgs = (process.env['HANDLOG_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', ...args], {
    env: { ...process.env, ...opts.env },
    // HANDLOG_BENCH_SERVE_STDOUT=FILE keeps the service's stdout (e.g. node's --trace-gc lines).
    stdio: ['ignore', process.env['HANDLOG_BENCH_SERVE_STDOUT'] === undefined ? 'ignore' : fs.openSync(process.env['HANDLOG_BENCH_SERVE_STDOUT'], 'w'), 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 1_000_000) err = err.slice(-500_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`handlog serve exited with ${child.exitCode}:\n${err}`);
    try {
      const r = await fetch(`${http}/healthz`);
      await r.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`handlog serve did not answer on ${http} in time:\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    child,
    http,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  const body = (await r.json()) as T;
  if (!r.ok) throw new Error(`${url}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/** Poll /api/logs/count until it reaches `n` or the deadline passes; returns the last count. */
export async function waitForCount(http: string, query: string, n: number, timeoutMs: number, pollMs = 50): Promise<number> {
  return (await waitForCountUntilStable(http, query, n, timeoutMs, pollMs, Infinity)).count;
}

/**
 * Polls the count until it reaches `n`, stops growing for `stableMs` (lost messages never arrive:
 * UDP), or `timeoutMs` passes. `lastChangeMs` is when the count last grew (Date.now() clock).
 */
export async function waitForCountUntilStable(
  http: string,
  query: string,
  n: number,
  timeoutMs: number,
  pollMs: number,
  stableMs: number,
): Promise<{ count: number; lastChangeMs: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let lastChangeMs = Date.now();
  for (;;) {
    const { count } = await getJson<{ count: number }>(`${http}/api/logs/count${query}`);
    const now = Date.now();
    if (count !== last) {
      last = count;
      lastChangeMs = now;
    }
    if (count >= n || now > deadline || now - lastChangeMs >= stableMs) return { count: last, lastChangeMs };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
