// The built CLI as a sysadmin runs it (child processes of bin/handlog.js; `npm test` builds first):
// operational failures end with one clear line on stderr and the documented exit status, never a
// stack trace; output into a closed pipe (`handlog parse … | head`) ends quietly.

import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'handlog.js');

function run(args: string[], opts: { input?: string; cwd?: string } = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    env: { ...process.env, HANDLOG_API_TOKEN_ADMIN: '' },
  });
}

const STACK = /\n\s+at /;

describe('handlog CLI operational errors', () => {
  it('parse into a pipe closed early (| head -1) exits quietly, without an EPIPE stack', () => {
    const dir = tempDir('handlog-ops-');
    const file = path.join(dir, 'many.log');
    fs.writeFileSync(file, '<134>Oct 25 06:50:09 host tag: a message\n'.repeat(200_000));
    const r = spawnSync('bash', ['-c', `node ${JSON.stringify(BIN)} parse ${JSON.stringify(file)} | head -1 >/dev/null; echo "rc=\${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(r.stdout.trim()).toBe('rc=0');
  });

  it('parse of a directory is a usage error (exit 2) naming the file', () => {
    const dir = tempDir('handlog-ops-');
    const r = run(['parse', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`"${dir}"`);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('serve --data naming a regular file is a configuration error (exit 2), not a crash', () => {
    const dir = tempDir('handlog-ops-');
    const file = path.join(dir, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const r = run(['serve', '--data', file, '--udp', 'off', '--tcp', 'off', '--http', '127.0.0.1:0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--data/);
    expect(r.stderr).toContain(file);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('import --server that nothing answers says so in one line (exit 1), without a stack', () => {
    const dir = tempDir('handlog-ops-');
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, '<134>Oct 25 06:50:09 host tag: a message\n');
    const r = run(['import', file, '--server', 'http://127.0.0.1:1', '--session', 'x']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the handlog service at http:\/\/127\.0\.0\.1:1/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('import --server that is not an http(s) URL is a usage error (exit 2)', () => {
    const dir = tempDir('handlog-ops-');
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, '<134>Oct 25 06:50:09 host tag: a message\n');
    const r = run(['import', file, '--server', 'notaurl', '--session', 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--server: "notaurl"/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('serve takes SIGHUP during start-up and without TLS (logrotate) in its stride, then stops on SIGTERM with 0', async () => {
    const dir = tempDir('handlog-ops-');
    const child = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--udp', 'off', '--tcp', 'off', '--http', '127.0.0.1:0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
    // Node is up (its handlers could be), the store is still opening.
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGHUP');
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('handlog serving') && child.exitCode === null && child.signalCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(child.signalCode).toBeNull();
    expect(stderr).toContain('handlog serving');
    child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":"error"/);
    expect(stderr).toMatch(/SIGHUP: no TLS listener, nothing to reload/);
  });

  it('serve stopped while --clickhouse-url never answered says the accepted rows wait in the WAL', async () => {
    const dir = tempDir('handlog-ops-');
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--data', dir, '--clickhouse-url', 'http://127.0.0.1:1/handlog', '--udp', 'off', '--tcp', '127.0.0.1:0', '--http', '127.0.0.1:0'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('handlog serving') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const serving = JSON.parse(stderr.split('\n').find((l) => l.includes('handlog serving')) ?? '{}') as { tcp?: string };
    const port = Number(/:(\d+)$/.exec(serving.tcp ?? '')?.[1]);
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.end('<134>Oct 25 06:50:09 host tag: kept for later\n'));
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/"msg":"shutdown: the store was never ready; rows left in the write-ahead log will be inserted at next start".*"rows":1/);
  });

  it('handlog without a command is a usage error: the usage goes to stderr (exit 2), --help to stdout (exit 0)', () => {
    const none = run([]);
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^Usage: handlog <command>/);
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: handlog <command>/);
  });

  it('import through a service that fails (5xx) exits 1 with its error, not 2 (a usage error)', async () => {
    const srv = http.createServer((_req, res) => {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'STORE_UNAVAILABLE', message: 'the store cannot be reached' } }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const dir = tempDir('handlog-ops-');
      const file = path.join(dir, 'a.log');
      fs.writeFileSync(file, '<134>Oct 25 06:50:09 host tag: a message\n');
      const port = (srv.address() as { port: number }).port;
      const child = spawn(process.execPath, [BIN, 'import', file, '--server', `http://127.0.0.1:${port}`, '--session', 'x'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const code = await new Promise((r) => child.on('exit', r));
      expect(code).toBe(1);
      expect(stderr).toMatch(/the service answered 503: the store cannot be reached/);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it('replay interrupted with Ctrl-C says how many messages it sent before exiting 130', async () => {
    const dir = tempDir('handlog-ops-');
    const file = path.join(dir, 'slow.log');
    // 120 messages one second apart: at --speed 10 the replay takes 12 s.
    const lines: string[] = [];
    for (let i = 0; i < 120; i++) lines.push(`<134>2026-11-01T10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z host tag - - - message ${i}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const sock = dgram.createSocket('udp4');
    let received = 0;
    sock.on('message', () => received++);
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      const child = spawn(process.execPath, [BIN, 'replay', file, '--to', `udp://127.0.0.1:${sock.address().port}`, '--speed', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const code = new Promise((r) => child.on('exit', (c, sig) => r(c ?? sig)));
      const deadline = Date.now() + 20_000;
      while (received < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGINT');
      expect(await code).toBe(130);
      const m = /interrupted: sent (\d+) of 120 messages/.exec(stdout);
      expect(m, stdout + stderr).not.toBeNull();
      await new Promise((r) => setTimeout(r, 200));
      expect(Number(m?.[1])).toBe(received);
    } finally {
      sock.close();
    }
  });

  it('import through a service that goes away after taking the upload says the import may have gone on there and how to continue', async () => {
    const srv = http.createServer((req, res) => {
      if (req.method === 'POST') {
        req.resume();
        req.on('end', () => {
          res.writeHead(202, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ session: { id: 'sid-1', name: 'x' }, upload: { id: 'up-1', filename: 'a.log', state: 'queued' } }));
          // The service stops: nothing answers any more.
          setImmediate(() => srv.close());
        });
        return;
      }
      req.socket.destroy();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('handlog-ops-');
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, '<134>Oct 25 06:50:09 host tag: a message\n');
    const port = (srv.address() as { port: number }).port;
    const child = spawn(process.execPath, [BIN, 'import', file, '--server', `http://127.0.0.1:${port}`, '--session', 'x'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(stderr).toMatch(/lost the service at http:\/\/127\.0\.0\.1:\d+ while it imported "a\.log"/);
    expect(stderr).toMatch(/run the same import again/);
  });
});
