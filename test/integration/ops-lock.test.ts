// The data directory's lock after a crash: `handlog.pid` left by a killed service must not block the
// next start once its pid belongs to another process (pids are reused after a reboot or a container
// restart: the old pid is often alive as something else).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDirHolder } from '../../cli/serve.js';
import { startTestService, tempDir } from './helpers.js';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'handlog.js');

describe('data directory lock', () => {
  it('a lock left by a killed service whose pid is now another live process is stale', async () => {
    const dir = tempDir('handlog-ops-lock-');
    const child = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--udp', 'off', '--tcp', 'off', '--http', '127.0.0.1:0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('handlog serving') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain('handlog serving');
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    const lockPath = path.join(dir, 'handlog.pid');
    const left = fs.readFileSync(lockPath, 'utf8');
    expect(left).toMatch(new RegExp(`^${child.pid}\\b`));
    // The crashed service's pid now belongs to some other program (here: a sleep).
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(lockPath, left.replace(/^\d+/, String(other.pid)));
      expect(dataDirHolder(dir)).toBeNull();
      const svc = await startTestService({ data: dir });
      await svc.stop();
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('a live service holding the directory is still found', async () => {
    const svc = await startTestService();
    try {
      // Seen from this process the holder is itself (not "another" holder); the lock names it.
      expect(fs.readFileSync(path.join(svc.dir, 'handlog.pid'), 'utf8')).toMatch(new RegExp(`^${process.pid}\\b`));
    } finally {
      await svc.stop();
    }
  });

  it('spool files of an import that was interrupted (Ctrl-C, kill) are removed by the next holder of the directory', async () => {
    const dir = tempDir('handlog-ops-lock-');
    fs.mkdirSync(path.join(dir, 'uploads'));
    const stale = path.join(dir, 'uploads', 'import-999999-0123456789abcdef-4.tsv');
    const other = path.join(dir, 'uploads', 'capture.pcap');
    fs.writeFileSync(stale, 'x\t'.repeat(1000));
    fs.writeFileSync(other, 'not a spool');
    const svc = await startTestService({ data: dir });
    await svc.stop();
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(other)).toBe(true);
  });
});
