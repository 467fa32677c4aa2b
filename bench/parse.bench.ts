// `npm run bench`: parser throughput on one core, handlog beside the npm parsers a user would pick.
// Every timed case checks its result (host and severity of every line, plus MAC and tag for ours),
// so a parser that skips work cannot win.

import glossy from 'glossy';
import nsyslog from 'nsyslog-parser';
import syslogParse from 'syslog-parse';
import { parseLine } from '../parsers/detect.js';
import { bsdTime, handsetLine, ipOf, rng } from './corpus.js';

const N = 20_000;
const MIN_MS = 1500;
const WARMUP_MS = 500;
const ctx = { receivedAtMs: Date.parse('2026-06-01T12:00:00Z'), tz: 'UTC' };

interface Case {
  lines: string[];
  hosts: string[];
  sev: number[];
  macs?: string[];
  tags?: string[];
}

function makeCases(): Record<'handset' | 'rfc3164' | 'rfc5424', Case> {
  const r = rng(42);
  const t0 = ctx.receivedAtMs - 3_600_000;
  const handset: Case = { lines: [], hosts: [], sev: [], macs: [], tags: [] };
  const b3164: Case = { lines: [], hosts: [], sev: [] };
  const b5424: Case = { lines: [], hosts: [], sev: [] };
  for (let i = 0; i < N; i++) {
    const t = t0 + i * 37;
    const h = handsetLine(r, 5000, t);
    handset.lines.push(h.line);
    handset.hosts.push(h.host);
    handset.sev.push(h.severity);
    handset.macs?.push(h.mac);
    handset.tags?.push(h.tag);
    const host = ipOf(i % 5000);
    const sev = i % 8;
    b3164.lines.push(`<${16 * 8 + sev}>${bsdTime(t)} ${host} sshd[${1000 + (i % 500)}]: Accepted publickey for user${i % 50} from 10.0.0.${i % 250} port 22`);
    b3164.hosts.push(host);
    b3164.sev.push(sev);
    b5424.lines.push(
      `<${16 * 8 + sev}>1 ${new Date(t).toISOString()} ${host} app${i % 9} ${1000 + (i % 500)} ID${i % 40} ` +
        `[exampleSDID@32473 iut="3" eventSource="Application" eventID="${1000 + (i % 90)}"] message number ${i} here`,
    );
    b5424.hosts.push(host);
    b5424.sev.push(sev);
  }
  return { handset, rfc3164: b3164, rfc5424: b5424 };
}

type Parser = (line: string, c: Case, i: number) => boolean;

const parsers: Record<string, Parser> = {
  handlog: (line, c, i) => {
    const rec = parseLine(line, ctx);
    let ok = rec.host === c.hosts[i] && rec.severity === c.sev[i];
    if (c.macs !== undefined) ok = ok && rec.mac === c.macs[i] && rec.tag === c.tags?.[i] && rec.device_time !== null;
    return ok;
  },
  glossy: (line, c, i) => {
    const rec = glossy.Parse.parse(line);
    return rec !== null && rec.host === c.hosts[i] && rec.severityID === c.sev[i];
  },
  'nsyslog-parser': (line, c, i) => {
    const rec = nsyslog(line);
    return rec.host === c.hosts[i] && rec.levelval === c.sev[i];
  },
  'syslog-parse': (line, c, i) => {
    const rec = syslogParse(line);
    return rec !== null && rec.host === c.hosts[i] && rec.severityCode === c.sev[i];
  },
};

function run(parser: Parser, c: Case): { perSec: number; correct: number } {
  // Warm up (until the JIT has settled), then time whole passes until MIN_MS has elapsed.
  const warmEnd = Date.now() + WARMUP_MS;
  while (Date.now() < warmEnd) for (let i = 0; i < c.lines.length; i++) parser(c.lines[i] as string, c, i);
  let n = 0;
  let correct = 0;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < MIN_MS) {
    for (let i = 0; i < c.lines.length; i++) if (parser(c.lines[i] as string, c, i)) correct++;
    n += c.lines.length;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { perSec: (n / elapsedMs) * 1000, correct: correct / n };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const cases = makeCases();
const rows: string[] = [];
let failed = false;
for (const [caseName, c] of Object.entries(cases)) {
  for (const [name, p] of Object.entries(parsers)) {
    if (caseName === 'handset' && name !== 'handlog') continue; // no npm parser reads the pipe body
    if (caseName === 'rfc5424' && name === 'syslog-parse') continue; // RFC3164 only
    const r = run(p, c);
    const note = r.correct === 1 ? 'all correct' : `${(r.correct * 100).toFixed(1)} % correct`;
    if (name === 'handlog' && r.correct !== 1) failed = true;
    rows.push(`| ${caseName} | ${name} | ${fmt(r.perSec)} | ${note} |`);
    process.stderr.write(`${caseName} ${name}: ${fmt(r.perSec)} lines/s (${note})\n`);
  }
}
process.stdout.write(`\n| input | parser | lines/s (one core) | check |\n|---|---|---:|---|\n${rows.join('\n')}\n`);
if (failed) {
  process.stderr.write('handlog parsed some benchmark lines wrongly\n');
  process.exitCode = 1;
}
