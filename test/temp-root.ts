// Vitest global setup: every temp directory a test run makes (engine data, WALs, certificates,
// captures; also those of the `handlog serve` children and the browser) goes under one directory of
// this run, removed when the run ends — a run leaves nothing behind in the system's temp directory,
// also when a test forgot to clean up or failed before it could. Forked workers and child processes
// inherit TMPDIR, which os.tmpdir() reads on every call.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-test-run-'));
  const before = process.env['TMPDIR'];
  process.env['TMPDIR'] = root;
  return () => {
    if (before === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = before;
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
}
