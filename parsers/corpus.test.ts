// Corpus tests: every line of fixtures/*.log is parsed and compared with the JSON record beside it
// in fixtures/*.expected.jsonl. The first comment line sets `now` and `tz`.
// After a deliberate change, regenerate with UPDATE_FIXTURES=1 and review the diff line by line.

import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLine } from './detect.js';

const dir = join(import.meta.dirname, 'fixtures');
const files = readdirSync(dir).filter((f) => f.endsWith('.log'));

function load(file: string): { now: string; tz: string; lines: string[] } {
  const text = readFileSync(join(dir, file), 'utf8');
  const all = text.split('\n');
  const header = all[0] ?? '';
  const now = /now=(\S+)/.exec(header)?.[1] ?? '';
  const tz = /tz=(\S+)/.exec(header)?.[1] ?? 'UTC';
  const lines = all.filter((l, i) => !(l.startsWith('# ') && i < 5) && !(i === all.length - 1 && l === ''));
  return { now, tz, lines };
}

describe('fixture corpus', () => {
  it('has fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });
  for (const file of files) {
    it(file, () => {
      const { now, tz, lines } = load(file);
      const ctx = { receivedAtMs: Date.parse(now), tz };
      const got = lines.map((l) => JSON.parse(JSON.stringify(parseLine(l, ctx))) as unknown);
      const expectedPath = join(dir, file.replace(/\.log$/, '.expected.jsonl'));
      if (process.env['UPDATE_FIXTURES'] === '1' || !existsSync(expectedPath)) {
        writeFileSync(expectedPath, got.map((g) => JSON.stringify(g)).join('\n') + '\n');
      }
      const expected = readFileSync(expectedPath, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as unknown);
      expect(got.length).toBe(expected.length);
      for (let i = 0; i < got.length; i++) {
        expect(got[i], `${file} line: ${lines[i]}`).toEqual(expected[i]);
      }
    });
  }
});
