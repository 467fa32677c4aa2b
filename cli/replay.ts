// `handlog replay FILE…|--session NAME --to udp|tcp|tls://HOST:PORT [--speed N] …`: re-send captured
// messages, as the handset sent them (the original frames), with their original timing ÷ speed.

import fs from 'node:fs';
import { fileParseContext, LineTimes, orderFiles, ownTime, yearAnchorMs } from '../capture/file-times.js';
import { readCapture, newReadStats } from '../capture/reader.js';
import { parseTarget, replay, scheduleMs, timeSpanMs, type ReplayMessage } from '../capture/replay.js';
import { HandlogError, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { parseLine, senderFrame } from '../parsers/detect.js';
import { parseMac } from '../parsers/mac.js';
import { isValidTimeZone } from '../parsers/time.js';
import { openStore } from '../store/client.js';
import { parseCommandArgs, UsageError } from './args.js';
import { bar, createProgress } from './progress.js';
import { lockDataDir, runningServiceUrl } from './serve.js';
import { callService } from './service-client.js';

export const REPLAY_HELP = `Usage: handlog replay FILE… --to udp|tcp|tls://HOST:PORT [options]
       handlog replay --session NAME --to udp|tcp|tls://HOST:PORT [options]

Re-send captured syslog messages to a syslog server (handlog or any other) with their original
inter-arrival timing divided by --speed, as the handsets sent them (the original frames; a
syslog-server file line becomes <PRI> + the sender's message). FILE is any capture handlog import
reads (pcap/pcapng use packet times; log files use each line's time, as handlog import gives it),
in the order handlog import reads them (the handset's syslog.txt.N files oldest first). A message
older than one sent before it goes right after it.

Options:
  --to URL              target: udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (required)
  --speed N             timing divisor: 1 = real time (default), 10 = ten times faster,
                        0 = as fast as possible
  --from T, --to-time T only messages from T (inclusive) to T (exclusive), ISO-8601
  --mac M               only this handset (any MAC notation; comma list)
  --session NAME        replay an imported session from the store instead of files
  --data DIR            data directory for --session (default ./data, env HANDLOG_DATA)
  --clickhouse-url URL  read --session from a ClickHouse server (env CLICKHOUSE_URL)
  --token TOKEN         API token when --session is read through the running service
                        (env HANDLOG_API_TOKEN_VIEWER or HANDLOG_API_TOKEN_ADMIN)
  --framing MODE        TCP/TLS framing: octet-counting (default) or lf
  --ca FILE             CA bundle to verify a TLS target
  --insecure            do not verify the TLS target's certificate
  --cert FILE, --key FILE
                        client certificate and key (PEM) for a TLS target that requires one
  --tz ZONE             IANA zone of zone-less timestamps in log files (default UTC, env HANDLOG_TZ)
  -h, --help            show this help
`;

interface Filter {
  fromMs: number | null;
  toMs: number | null;
  macs: Set<string> | null;
}

function keep(f: Filter, tMs: number, mac: string | null): boolean {
  if (f.fromMs !== null && tMs < f.fromMs) return false;
  if (f.toMs !== null && tMs >= f.toMs) return false;
  if (f.macs !== null && (mac === null || !f.macs.has(mac))) return false;
  return true;
}

/**
 * The messages of the files, in the order and with the times `handlog import` gives them (file-times.ts):
 * rotated syslog.txt.N files oldest first, year-less times no later than a day after the file was
 * written, lines without a time of their own at their neighbour's. Each file's lines stay in file order.
 */
async function fromFiles(files: string[], f: Filter, tz: string): Promise<ReplayMessage[]> {
  const out: ReplayMessage[] = [];
  for (const { path: file } of await orderFiles(files.map((p) => ({ path: p })), tz)) {
    const anchor = await yearAnchorMs(file);
    const ctx = fileParseContext(anchor, tz);
    const lineTimes = new LineTimes<{ raw: string; mac: string | null }, number>(anchor, (m, t) => {
      if (keep(f, t, m.mac)) out.push({ raw: m.raw, tMs: t });
    });
    for await (const batch of readCapture(file, newReadStats())) {
      for (const m of batch) {
        if (m.tsMs !== null) {
          // A packet: the frame as captured, at its capture time.
          const mac = f.macs === null ? null : parseLine(m.raw, { receivedAtMs: m.tsMs, tz }).mac;
          if (keep(f, m.tsMs, mac)) out.push({ raw: m.raw, tMs: m.tsMs });
          continue;
        }
        const rec = parseLine(m.raw, ctx);
        const own = ownTime(rec);
        lineTimes.push({ raw: senderFrame(m.raw), mac: rec.mac }, own === null ? null : Date.parse(own));
      }
    }
    lineTimes.end();
  }
  return out;
}

interface SessionRow {
  id: string;
  time: string;
  raw: string;
  mac: string | null;
  /** '' for the lines of log files, the sender's address for captured packets. */
  source_ip: string;
}

async function fromSession(name: string, f: Filter, values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<ReplayMessage[]> {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const dataDir = str('data') ?? env['HANDLOG_DATA'] ?? './data';
  const clickhouseUrl = str('clickhouse-url') ?? env['HANDLOG_CLICKHOUSE_URL'] ?? env['CLICKHOUSE_URL'];
  let rows: SessionRow[];
  const server = clickhouseUrl === undefined ? runningServiceUrl(dataDir) : null;
  if (server !== null) {
    const token = str('token') ?? env['HANDLOG_API_TOKEN_VIEWER'] ?? env['HANDLOG_API_TOKEN_ADMIN'] ?? env['HANDLOG_API_TOKEN'];
    const res = await callService(`${server}/api/logs/export?format=ndjson&session=${encodeURIComponent(name)}`, {
      base: server,
      token,
      what: ` to the export of session "${name}"`,
      tokenHint: 'pass an API token with --token or HANDLOG_API_TOKEN_VIEWER',
    });
    rows = (await res.text())
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as SessionRow);
  } else {
    const logger = createLogger({ level: 'warn' });
    const unlock = clickhouseUrl === undefined ? lockDataDir(dataDir, logger) : () => undefined;
    try {
      const store = await openStore({ dataDir, ...(clickhouseUrl === undefined ? {} : { clickhouseUrl }), retentionDays: 30, logger, env });
      try {
        const rs = await store.client.query({
          query: `SELECT toString(id) AS id, formatDateTime(time, '%Y-%m-%dT%H:%i:%S.%fZ') AS time, raw, nullIf(CAST(mac AS String), '') AS mac,
                         CAST(source_ip AS String) AS source_ip
                  FROM logs WHERE session = {s:String} ORDER BY time, id`,
          query_params: { s: name },
          format: 'JSONEachRow',
        });
        rows = await rs.json<SessionRow>();
      } finally {
        await store.close();
      }
    } finally {
      unlock();
    }
  }
  if (rows.length === 0) throw new HandlogError('BAD_ARGUMENT', `session "${name}" has no rows (see handlog import, or GET /api/sessions)`);
  // Lines of log files are sent as their sender sent them (a syslog server's line: <PRI> + the
  // sender's message); captured packets as captured.
  const msgs = rows.map((r) => ({ raw: r.source_ip === '' ? senderFrame(r.raw) : r.raw, tMs: Date.parse(r.time), mac: r.mac, id: r.id }));
  // Oldest first; rows with the same time in the order they were read (the ids of one file count its lines).
  msgs.sort((a, b) => a.tMs - b.tMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return msgs.filter((m) => keep(f, m.tMs, m.mac)).map(({ raw, tMs }) => ({ raw, tMs }));
}

export async function runReplay(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    to: { type: 'string' },
    speed: { type: 'string' },
    from: { type: 'string' },
    'to-time': { type: 'string' },
    mac: { type: 'string' },
    session: { type: 'string' },
    data: { type: 'string' },
    'clickhouse-url': { type: 'string' },
    token: { type: 'string' },
    framing: { type: 'string' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    insecure: { type: 'boolean' },
    tz: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help'] === true) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const problems: string[] = [];
  const to = str('to');
  let target: ReturnType<typeof parseTarget> | null = null;
  if (to === undefined) problems.push('--to udp|tcp|tls://HOST:PORT is required');
  else {
    try {
      target = parseTarget(to);
    } catch (e: unknown) {
      problems.push(errorMessage(e));
    }
  }
  const speedText = str('speed') ?? '1';
  const speed = Number(speedText);
  if (!/^\d+(\.\d+)?$/.test(speedText) || !Number.isFinite(speed)) problems.push(`--speed: "${speedText}" is not a number ≥ 0`);
  const time = (k: string): number | null => {
    const v = str(k);
    if (v === undefined) return null;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) problems.push(`--${k}: "${v}" is not an ISO-8601 time`);
    return ms;
  };
  const filter: Filter = { fromMs: time('from'), toMs: time('to-time'), macs: null };
  const macText = str('mac');
  if (macText !== undefined) {
    filter.macs = new Set();
    for (const m of macText.split(',')) {
      const mac = parseMac(m.trim());
      if (mac === null) problems.push(`--mac: "${m}" is not a MAC address`);
      else filter.macs.add(mac);
    }
  }
  const framing = str('framing') ?? 'octet-counting';
  if (framing !== 'octet-counting' && framing !== 'lf') problems.push(`--framing: "${framing}" is not octet-counting or lf`);
  const session = str('session');
  if (session === undefined && positionals.length === 0) problems.push('give FILE… or --session NAME');
  if (session !== undefined && positionals.length > 0) problems.push('give FILE… or --session NAME, not both');
  for (const f of positionals) if (!fs.existsSync(f)) problems.push(`cannot read file "${f}"`);
  const ca = str('ca');
  if (ca !== undefined && !fs.existsSync(ca)) problems.push(`--ca: cannot read "${ca}"`);
  const cert = str('cert');
  const key = str('key');
  if (cert !== undefined && !fs.existsSync(cert)) problems.push(`--cert: cannot read "${cert}"`);
  if (key !== undefined && !fs.existsSync(key)) problems.push(`--key: cannot read "${key}"`);
  if ((cert === undefined) !== (key === undefined)) problems.push('--cert and --key go together');
  // the same zone handlog import would use, so `replay FILE` and `replay --session` of its import agree
  const tz = str('tz') ?? process.env['HANDLOG_TZ'] ?? 'UTC';
  if (!isValidTimeZone(tz)) problems.push(`--tz: "${tz}" is not a known IANA time zone`);
  if (problems.length > 0 || target === null) throw new UsageError(problems.join('\n'));

  const messages = session !== undefined ? await fromSession(session, filter, values, process.env) : await fromFiles(positionals, filter, tz);
  if (messages.length === 0) throw new HandlogError('BAD_ARGUMENT', 'no messages to replay (check the files, --from/--to-time and --mac)');
  const span = timeSpanMs(messages);
  const takes = scheduleMs(messages);
  process.stderr.write(
    `replaying ${messages.length.toLocaleString('en')} messages spanning ${(span / 1000).toFixed(1)} s to ${to} at ${speed === 0 ? 'full speed' : `${speed}x (about ${(takes / 1000 / speed).toFixed(1)} s)`}\n`,
  );
  const progress = createProgress();
  // Ctrl-C (or a kill) mid-replay: say how far it got, as the end of a replay does.
  let sentSoFar = 0;
  let msSoFar = 0;
  const onStop = (sig: NodeJS.Signals): void => {
    progress.done();
    process.stdout.write(
      `interrupted: sent ${sentSoFar.toLocaleString('en')} of ${messages.length.toLocaleString('en')} messages in ${(msSoFar / 1000).toFixed(2)} s\n`,
      () => process.exit(sig === 'SIGINT' ? 130 : 143),
    );
  };
  process.once('SIGINT', onStop);
  process.once('SIGTERM', onStop);
  const result = await replay(messages, {
    target,
    speed,
    framing: framing === 'lf' ? 'lf' : 'octet-counting',
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
    insecure: values['insecure'] === true,
    onProgress: (sent, total, ms) => {
      sentSoFar = sent;
      msSoFar = ms;
      progress.update(`${bar(sent / total)} ${sent.toLocaleString('en')}/${total.toLocaleString('en')} sent, ${(ms / 1000).toFixed(1)} s`);
    },
  }).finally(() => {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
  });
  progress.done();
  process.stdout.write(
    `sent ${result.sent.toLocaleString('en')} of ${messages.length.toLocaleString('en')} messages in ${(result.elapsedMs / 1000).toFixed(2)} s${result.failed > 0 ? `; ${result.failed} failed (last: ${result.lastError})` : ''}\n`,
  );
  return result.failed > 0 ? 1 : 0;
}
