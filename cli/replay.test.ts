// `handlog replay --session` through a running service that wants a token: the error says how to give one.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPLAY_HELP, runReplay } from './replay.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A data directory "held" by a live process (our parent) whose API answers every request with `status`. */
async function heldDataDir(status: number, message: string): Promise<string> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-replay-'));
  fs.writeFileSync(path.join(dir, 'handlog.pid'), String(process.ppid));
  fs.writeFileSync(path.join(dir, 'handlog.http'), `http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  cleanups.push(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('handlog replay', () => {
  it('names the service answer and how to pass a token on a 401', async () => {
    const dir = await heldDataDir(401, 'an API token is required (Authorization: Bearer <token>)');
    await expect(runReplay(['--session', 'ticket 4711', '--data', dir, '--to', 'udp://127.0.0.1:9', '--speed', '0'])).rejects.toThrow(
      /answered 401 to the export of session "ticket 4711": an API token is required .*--token or HANDLOG_API_TOKEN_VIEWER/,
    );
  });

  it('refuses an unknown --tz (it replayed with every time lost, "spanning 0.0 s")', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-replay-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'syslog.txt');
    fs.writeFileSync(file, 'Nov 15 10:23:16 host cron[1]: plain\n');
    await expect(runReplay([file, '--to', 'udp://127.0.0.1:9', '--tz', 'Mars/Base'])).rejects.toThrow(/--tz: "Mars\/Base" is not a known IANA time zone/);
    const saved = process.env['HANDLOG_TZ'];
    process.env['HANDLOG_TZ'] = 'Mars/Base';
    try {
      await expect(runReplay([file, '--to', 'udp://127.0.0.1:9'])).rejects.toThrow(/Mars\/Base/);
    } finally {
      if (saved === undefined) delete process.env['HANDLOG_TZ'];
      else process.env['HANDLOG_TZ'] = saved;
    }
  });

  it('documents the token environment variables in --help', () => {
    expect(REPLAY_HELP).toMatch(/--token TOKEN[\s\S]*HANDLOG_API_TOKEN_VIEWER/);
  });
});
