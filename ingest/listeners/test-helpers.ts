// Test helpers for the listeners: injected deps that record frames, polling waits, socket clients,
// and certificates made with the openssl CLI.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../core/logger.js';
import { Registry } from '../../core/metrics.js';
import type { Frame, ListenerDeps } from './types.js';

export interface Harness {
  frames: Frame[];
  texts: () => string[];
  registry: Registry;
  deps: ListenerDeps;
  /** A metric sample from the rendered registry, 0 when absent. */
  metric: (name: string, labels?: Record<string, string>) => number;
}

export function harness(extra: Partial<ListenerDeps> = {}): Harness {
  const frames: Frame[] = [];
  const registry = new Registry();
  return {
    frames,
    texts: () => frames.map((f) => f.data.toString('latin1') + (f.truncated ? '[cut]' : '') + (f.incomplete === true ? '[incomplete]' : '')),
    registry,
    deps: { onFrame: (f) => frames.push({ ...f, data: Buffer.from(f.data) }), metrics: registry, logger: silentLogger, ...extra },
    metric: (name, labels = {}) => sample(registry.render(), name, labels),
  };
}

export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const keys = Object.keys(labels).sort();
  const want = keys.length === 0 ? name : `${name}{${keys.map((k) => `${k}="${labels[k] ?? ''}"`).join(',')}}`;
  for (const line of text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === want) return Number(line.slice(sp + 1));
  }
  return 0;
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the socket closes (the server may close it before or after we look). */
export function closed(s: net.Socket): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve) => s.once('close', () => resolve()));
}

/** Writes pieces one by one with a pause between, so they travel as separate TCP segments. */
export async function writeSlowly(s: net.Socket, data: Buffer, sizes: number[], pauseMs = 2): Promise<void> {
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const n = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    await new Promise<void>((r) => s.write(data.subarray(pos, pos + n), () => r()));
    pos += n;
    await sleep(pauseMs);
  }
}

export function ipv6Available(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((a) => a.family === 'IPv6' && a.address === '::1'));
}

export interface Certs {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** A second server certificate (other subject) for reload tests. */
  server2Cert: string;
  server2Key: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not trust. */
  rogueCert: string;
  rogueKey: string;
}

/** CA, two server certificates for 127.0.0.1, a client certificate, and one from an untrusted CA. */
export function makeCerts(): Certs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-listener-certs-'));
  const f = (n: string): string => path.join(dir, n);
  const ssl = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  const ca = (name: string, cn: string): void =>
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`), '-days', '2', '-subj', `/CN=${cn}`]);
  const leaf = (name: string, cn: string, caName: string, ext?: string): void => {
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`]);
    ssl([
      'x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${caName}.crt`), '-CAkey', f(`${caName}.key`), '-CAcreateserial',
      '-out', f(`${name}.crt`), '-days', '2', ...(ext === undefined ? [] : ['-extfile', ext]),
    ]);
  };
  ca('ca', 'handlog test CA');
  ca('rogue-ca', 'rogue CA');
  fs.writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n');
  leaf('server', 'handlog server one', 'ca', f('server.ext'));
  leaf('server2', 'handlog server two', 'ca', f('server.ext'));
  leaf('client', 'handset-00907a11baaa', 'ca');
  leaf('rogue', 'rogue handset', 'rogue-ca');
  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    server2Cert: f('server2.crt'),
    server2Key: f('server2.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    rogueCert: f('rogue.crt'),
    rogueKey: f('rogue.key'),
  };
}
