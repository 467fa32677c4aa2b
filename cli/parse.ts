// `handlog parse [--now ISO] [--tz ZONE] [FILE…]`: one JSON record per input line.

import { createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseLine } from '../parsers/detect.js';
import { isValidTimeZone } from '../parsers/time.js';
import { parseCommandArgs, UsageError } from './args.js';

export const PARSE_HELP = `Usage: handlog parse [--now ISO] [--tz ZONE] [FILE…]

Parse syslog lines (handset internal/network forms, RFC3164, RFC5424, syslog-server files,
rsyslog files, logcat) and print one JSON record per input line. Reads standard input when no
FILE is given.

Options:
  --now ISO     receive time used to infer the year of year-less timestamps (default: now)
  --tz ZONE     IANA time zone of zone-less timestamps (default: UTC)
  -h, --help    show this help
`;

export async function runParse(
  argv: string[],
  io: { stdin: Readable; stdout: Writable; nowMs: number },
): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    now: { type: 'string' },
    tz: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help'] === true) {
    io.stdout.write(PARSE_HELP);
    return 0;
  }
  const problems: string[] = [];
  let receivedAtMs = io.nowMs;
  const now = values['now'];
  if (typeof now === 'string') {
    receivedAtMs = Date.parse(now);
    if (Number.isNaN(receivedAtMs)) problems.push(`--now: "${now}" is not an ISO-8601 time (e.g. 2013-10-26T00:00:00Z)`);
  }
  const tzValue = values['tz'];
  const tz = typeof tzValue === 'string' ? tzValue : 'UTC';
  if (!isValidTimeZone(tz)) problems.push(`--tz: "${tz}" is not a known IANA time zone (e.g. UTC, America/Chicago)`);
  for (const f of positionals) {
    if (f === '-') continue;
    try {
      await access(f);
      if ((await stat(f)).isDirectory()) problems.push(`cannot read file "${f}": it is a directory`);
    } catch {
      problems.push(`cannot read file "${f}"`);
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));

  const ctx = { receivedAtMs, tz };
  const sources = positionals.length === 0 ? ['-'] : positionals;
  for (const f of sources) {
    const input = f === '-' ? io.stdin : createReadStream(f);
    // Lines as bytes (latin1 maps each byte to one char), decoded by parseLine like ingest does:
    // bytes that are not UTF-8 are read as Windows-1252 rather than becoming U+FFFD.
    input.setEncoding('latin1');
    const rl = createInterface({ input, crlfDelay: Infinity });
    let out = '';
    for await (const line of rl) {
      out += JSON.stringify(parseLine(Buffer.from(line, 'latin1'), ctx)) + '\n';
      if (out.length > 65_536) {
        if (!io.stdout.write(out)) await new Promise((r) => io.stdout.once('drain', r));
        out = '';
      }
    }
    if (out.length > 0 && !io.stdout.write(out)) await new Promise((r) => io.stdout.once('drain', r));
  }
  return 0;
}
