// The built CLI as a sysadmin runs it (child processes of bin/handlog.js; `npm test` builds first):
// operational failures end with one clear line on stderr and the documented exit status, never a
// stack trace; output into a closed pipe (`handlog parse … | head`) ends quietly.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
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
});
