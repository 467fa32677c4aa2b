// `handlog parse` as a user runs it: the built CLI in a child process (npm test builds first).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', 'bin', 'handlog.js');

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 20_000 });
}

describe('handlog parse', () => {
  it('prints the issue example from stdin', () => {
    const r = run(
      ['parse', '--now', '2013-10-26T00:00:00Z'],
      '<135>Oct 25 06:50:09 00907a11baaa SlnkHTTPServerUtils: 1382727009525|SlnkHTTPServerUtils|7|00| <LineUnregistrationEvent>\n',
    );
    expect(r.status).toBe(0);
    const rec = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(rec).toMatchObject({
      mac: '00907a11baaa',
      tag: 'SlnkHTTPServerUtils',
      severity: 7,
      facility: 16,
      missed_events: 0,
      device_time: '2013-10-25T18:50:09.525Z',
    });
  });
  it('prints one record per line of each file, CRLF included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'handlog-parse-'));
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    writeFileSync(a, 'I/battery_level( 2488): [81,3986,254]\r\ngarbage\r\n');
    writeFileSync(b, '<13>Jan  1 00:00:00 h t: x\n');
    const r = run(['parse', '--now', '2026-01-01T00:00:00Z', '--tz', 'UTC', a, b]);
    expect(r.status).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { format: string; battery?: unknown });
    expect(recs.map((x) => x.format)).toEqual(['logcat', 'raw', 'rfc3164']);
    expect(recs[0]?.battery).toEqual({ level_pct: 81, voltage_mv: 3986, temperature_c: 25.4 });
  });
  it('exits 2 with a clear message on bad arguments', () => {
    for (const [args, pattern] of [
      [['parse', '--now', 'yesterday'], /--now: "yesterday" is not an ISO-8601 time/],
      [['parse', '--tz', 'Mars/Olympus'], /--tz: "Mars\/Olympus" is not a known IANA time zone/],
      [['parse', '/no/such/file'], /cannot read file "\/no\/such\/file"/],
      [['parse', '--bogus'], /Unknown option '--bogus'/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ] as const) {
      const r = run([...args], '');
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
  });
  it('shows help', () => {
    const r = run(['parse', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: handlog parse/);
  });
});
