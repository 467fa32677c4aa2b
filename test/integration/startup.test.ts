// `handlog serve` when an address it must bind is taken: the start fails with LISTEN_FAILED within
// seconds, whatever had been started (store, WAL, sink, alerts, other listeners) is stopped, the data
// directory's lock is released and the directory opens again; the CLI says so and exits with 2.
// Real sockets on 127.0.0.1, held by plain net/dgram servers.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HandlogError } from '../../core/errors.js';
import { dataDirHolder } from '../../cli/serve.js';
import { api, startTestService, tempDir } from './helpers.js';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'handlog.js');

const holders: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of holders.splice(0)) await close();
});

async function holdTcp(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  holders.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

async function holdUdp(): Promise<number> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  holders.push(() => new Promise<void>((r) => sock.close(() => r())));
  return sock.address().port;
}

/** Starts the service expecting LISTEN_FAILED naming `what`; returns how long the refusal took. */
async function expectListenFailed(dir: string, flags: Record<string, string>, what: RegExp): Promise<number> {
  const t0 = Date.now();
  const err = await startTestService({ data: dir, ...flags }).then(
    async (svc) => {
      await svc.stop();
      return null;
    },
    (e: unknown) => e,
  );
  const ms = Date.now() - t0;
  expect(err).toBeInstanceOf(HandlogError);
  expect((err as HandlogError).code).toBe('LISTEN_FAILED');
  expect((err as HandlogError).message).toMatch(what);
  return ms;
}

/** The directory is free again: no lock file, and a service starts on it, serves, and stops. */
async function expectReusable(dir: string): Promise<void> {
  expect(fs.existsSync(path.join(dir, 'handlog.pid'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'handlog.http'))).toBe(false);
  expect(dataDirHolder(dir)).toBeNull();
  const svc = await startTestService({ data: dir, udp: 'off', tcp: 'off' });
  try {
    expect((await api<{ status: string }>(svc.http, '/healthz')).body.status).toBe('ok');
  } finally {
    await svc.stop();
  }
  expect(fs.existsSync(path.join(dir, 'handlog.pid'))).toBe(false);
}

describe('handlog serve with an address in use', () => {
  it('refuses a taken HTTP port with LISTEN_FAILED within seconds, after the listeners started, and frees the data directory', async () => {
    const dir = tempDir('handlog-busy-http-');
    const port = await holdTcp();
    // UDP and TCP listeners bind first (port 0): they, the sink, the WAL and the store are all running
    // when the HTTP bind fails.
    const ms = await expectListenFailed(dir, { http: `127.0.0.1:${port}` }, new RegExp(`HTTP on 127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    expect(ms).toBeLessThan(10_000);
    await expectReusable(dir);
  }, 60_000);

  it('refuses a taken UDP port the same way', async () => {
    const dir = tempDir('handlog-busy-udp-');
    const port = await holdUdp();
    const ms = await expectListenFailed(dir, { udp: `127.0.0.1:${port}` }, new RegExp(`UDP on 127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    expect(ms).toBeLessThan(10_000);
    await expectReusable(dir);
  }, 60_000);

  it('refuses a taken TCP port the same way (the UDP listener already running is stopped)', async () => {
    const dir = tempDir('handlog-busy-tcp-');
    const port = await holdTcp();
    const ms = await expectListenFailed(dir, { tcp: `127.0.0.1:${port}` }, new RegExp(`TCP on 127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    expect(ms).toBeLessThan(10_000);
    await expectReusable(dir);
  }, 60_000);

  it('the CLI prints the LISTEN_FAILED error and exits with status 2, leaving no lock behind', async () => {
    const dir = tempDir('handlog-busy-cli-');
    const port = await holdTcp();
    const child = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--udp', 'off', '--tcp', 'off', '--http', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A process that hangs instead (the bug this guards against spun at 100 % CPU) is killed and fails the test.
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(killer);
    expect(stderr).toMatch(new RegExp(`^handlog: LISTEN_FAILED: cannot listen for HTTP on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`, 'm'));
    expect(code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'handlog.pid'))).toBe(false);
  }, 60_000);
});
