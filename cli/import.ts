// `handlog import FILE… [--session NAME]`: capture files into the store as one named session.
// The embedded engine allows one process per data directory: when `handlog serve` holds it, the files
// are uploaded to the running service (POST /api/sessions) instead, found through <data>/handlog.http.

import { orderFiles, yearAnchorMs } from '../capture/file-times.js';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { importFiles, type ImportFileReport } from '../capture/import.js';
import type { SessionDetail, SessionSummary } from '../capture/sessions.js';
import { validateSessionName, type SessionView, type UploadStatus } from '../capture/service.js';
import { HandlogError, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { isValidTimeZone } from '../parsers/time.js';
import { openStore } from '../store/client.js';
import { parseCommandArgs, UsageError } from './args.js';
import { bar, createProgress, formatBytes } from './progress.js';
import { lockDataDir, runningServiceUrl } from './serve.js';
import { callService } from './service-client.js';

export const IMPORT_HELP = `Usage: handlog import FILE… [--session NAME] [options]

Import captured logs into the store as one named session: the handset's syslog.txt.1…5 files
(pulled with adb), syslog-server files (Kiwi-style or rsyslog), logcat dumps, packet captures
(pcap, pcapng: UDP datagrams and TCP streams), and .gz of any of these. The format is read from
the content. Importing a file again adds nothing. Search the rows with /api/logs?session=NAME
or the UI's Sessions page.

While \`handlog serve\` runs on the data directory, the files are sent to it over its API.

Options:
  --session NAME        session name (default: the first file's name); an existing session of
                        that name gets the files added
  --data DIR            data directory of the embedded store (default ./data, env HANDLOG_DATA)
  --clickhouse-url URL  import into a ClickHouse server instead (env CLICKHOUSE_URL)
  --server URL          send the files to this running handlog service (default: the one that
                        holds --data, if any)
  --token TOKEN         admin API token for the service (env HANDLOG_API_TOKEN_ADMIN)
  --tz ZONE             IANA zone of zone-less timestamps (default UTC, env HANDLOG_TZ)
  --now ISO             anchor for year-less timestamps (default: each file's modification time)
  --json                print the summary as JSON
  -h, --help            show this help
`;

interface Io {
  stdout: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
}


export async function runImport(argv: string[], io: Io = { stdout: process.stdout, env: process.env }): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    session: { type: 'string' },
    data: { type: 'string' },
    'clickhouse-url': { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    tz: { type: 'string' },
    now: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help'] === true) {
    io.stdout.write(IMPORT_HELP);
    return 0;
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const problems: string[] = [];
  if (positionals.length === 0) problems.push('no FILE given (see handlog import --help)');
  for (const f of positionals) {
    try {
      if (!fs.statSync(f).isFile()) problems.push(`"${f}" is not a file`);
    } catch {
      problems.push(`cannot read file "${f}"`);
    }
  }
  const tz = str('tz') ?? io.env['HANDLOG_TZ'] ?? 'UTC';
  if (!isValidTimeZone(tz)) problems.push(`--tz: "${tz}" is not a known IANA time zone`);
  let anchorMs: number | undefined;
  const now = str('now');
  if (now !== undefined) {
    anchorMs = Date.parse(now);
    if (Number.isNaN(anchorMs)) problems.push(`--now: "${now}" is not an ISO-8601 time`);
  }
  const serverFlag = str('server');
  if (serverFlag !== undefined && !/^https?:\/\/./.test(serverFlag)) problems.push(`--server: "${serverFlag}" is not an http:// or https:// URL`);
  let session = '';
  try {
    session = validateSessionName(str('session') ?? path.basename(positionals[0] ?? 'import'));
  } catch (e: unknown) {
    problems.push(`--session: ${errorMessage(e).replace(/^name: /, '')}`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));

  const dataDir = str('data') ?? io.env['HANDLOG_DATA'] ?? './data';
  const clickhouseUrl = str('clickhouse-url') ?? io.env['HANDLOG_CLICKHOUSE_URL'] ?? io.env['CLICKHOUSE_URL'];
  const server = str('server') ?? (clickhouseUrl === undefined ? runningServiceUrl(dataDir) : null);
  const progress = createProgress();
  const t0 = Date.now();
  let result: SessionSummary;
  let reports: ImportFileReport[] | null = null;
  let handsets: SessionDetail['handsets'] | null = null;
  if (server !== null) {
    const token = str('token') ?? io.env['HANDLOG_API_TOKEN_ADMIN'] ?? io.env['HANDLOG_API_TOKEN'];
    process.stderr.write(`handlog import: sending to the running service at ${server}\n`);
    const out = await importThroughService(server, token, { session, tz, ...(anchorMs === undefined ? {} : { anchorMs }) }, positionals, progress);
    const { handsets: held, uploads: _uploads, ...summary } = out.session;
    result = summary;
    reports = out.files;
    handsets = held;
  } else {
    const logger = createLogger({ level: 'warn' });
    const unlock = clickhouseUrl === undefined ? lockDataDir(dataDir, logger) : () => undefined;
    try {
      const store = await openStore({ dataDir, ...(clickhouseUrl === undefined ? {} : { clickhouseUrl }), retentionDays: 30, logger, env: io.env });
      try {
        if (store.mode === 'server') await store.migrate();
        const out = await importFiles(
          {
            session,
            files: positionals.map((p) => ({ path: p })),
            tz,
            nowMs: Date.now(),
            ...(anchorMs === undefined ? {} : { anchorMs }),
            onProgress: (s, f) => {
              const secs = Math.max(0.001, (Date.now() - t0) / 1000);
              progress.update(
                `${bar(s.bytes_done / Math.max(1, s.bytes_total))} ${formatBytes(s.bytes_done)}/${formatBytes(s.bytes_total)}  ${s.lines_read.toLocaleString('en')} lines  ${Math.round(s.lines_read / secs).toLocaleString('en')}/s  ${f.name}`,
              );
            },
          },
          {
            client: store.client,
            insertLines: (l, t) => store.insertLines(l, t),
            insertFile: (f, t, fmt) => store.insertFile(f, t, fmt),
            spoolDir: path.join(dataDir, 'uploads'),
          },
        );
        result = out.session;
        reports = out.files;
        const { sessionHandsets } = await import('../capture/sessions.js');
        handsets = await sessionHandsets(store.client, session);
      } finally {
        await store.close();
      }
    } finally {
      unlock();
    }
  }
  progress.done();
  const secs = (Date.now() - t0) / 1000;
  if (values['json'] === true) {
    io.stdout.write(JSON.stringify({ session: result, files: reports, handsets, seconds: secs }, null, 2) + '\n');
  } else io.stdout.write(summaryText(result, reports, handsets, secs));
  return result.state === 'done' ? 0 : 1;
}

function summaryText(s: SessionSummary, files: ImportFileReport[] | null, handsets: SessionDetail['handsets'] | null, secs: number): string {
  const n = (x: number) => x.toLocaleString('en');
  const out: string[] = [];
  out.push(`session "${s.name}" (${s.id}): ${s.state}`);
  for (const f of files ?? []) {
    if (f.duplicateOf !== null) out.push(`  ${f.name}: already imported (session "${f.duplicateOf}"), skipped`);
    else {
      const skipped = Object.entries(f.stats.skipped).map(([k, v]) => `${k} ${n(v)}`).join(', ');
      const extra = f.stats.packets > 0 ? `, ${n(f.stats.packets)} packets${f.stats.tcpFlows > 0 ? `, ${f.stats.tcpFlows} TCP streams` : ''}${skipped === '' ? '' : ` (skipped: ${skipped})`}` : '';
      const grown = f.grownFrom === undefined ? '' : ` — grown since "${f.grownFrom.name}" was imported (session "${f.grownFrom.session}", ${n(f.grownFrom.bytes)} bytes then): only the new lines`;
      out.push(`  ${f.name} [${f.format}]: ${n(f.stats.messages)} messages, ${n(f.stored)} stored, ${n(f.unparsed)} unparsed${extra}${grown}${f.stats.error === null ? '' : ` — stopped: ${f.stats.error}`}`);
    }
  }
  out.push(`lines read ${n(s.lines_read)}, stored ${n(s.stored)}, unparsed ${n(s.unparsed)} (stored raw), files skipped as already imported ${n(s.duplicates)}`);
  const reasons = Object.entries(s.unparsed_reasons).sort((a, b) => b[1] - a[1]);
  if (reasons.length > 0) {
    out.push('unparsed, by reason:');
    for (const [r, c] of reasons.slice(0, 10)) out.push(`  ${String(c).padStart(8)}  ${r}`);
  }
  const skipped = Object.entries(s.skipped);
  if (skipped.length > 0) out.push(`capture packets skipped: ${skipped.map(([r, c]) => `${r} ${n(c)}`).join(', ')}`);
  if (s.from !== null) out.push(`time range ${s.from} → ${s.to}`);
  if (handsets !== null) out.push(`handsets ${handsets.length}${handsets.length > 0 ? `: ${handsets.slice(0, 5).map((h) => `${h.mac} (${n(h.count)})`).join(', ')}${handsets.length > 5 ? ', …' : ''}` : ''}`);
  if (s.error !== null) out.push(`error: ${s.error}`);
  // The rate of this run: the session's totals also count files imported before (and skipped now).
  const read = files === null ? s.lines_read : files.reduce((a, f) => a + f.stats.messages, 0);
  out.push(`${secs.toFixed(1)} s, ${n(Math.round(read / Math.max(secs, 0.001)))} lines/s`);
  return out.join('\n') + '\n';
}

/**
 * Uploads the files one by one to the service's POST /api/sessions with the options an import into
 * the data directory would use (tz; each file's year anchor: --now, else its modification time) and
 * follows each upload's import; returns the session and each file's report, as importFiles does.
 */
async function importThroughService(
  base: string,
  token: string | undefined,
  opts: { session: string; tz: string; anchorMs?: number },
  files: string[],
  progress: ReturnType<typeof createProgress>,
): Promise<{ session: SessionView; files: ImportFileReport[] }> {
  const service = { base, token, tokenHint: 'pass an admin token with --token or HANDLOG_API_TOKEN_ADMIN' };
  const call = (url: string, init: RequestInit = {}): Promise<Response> => callService(url, service, init);
  let id = '';
  const reports: ImportFileReport[] = [];
  const show = async (): Promise<SessionView> => (await (await call(`${base}/api/sessions/${encodeURIComponent(id)}`)).json()) as SessionView;
  // The service imports each upload on its own: send the handset's rotated set oldest first, as an
  // import into the data directory orders it.
  const ordered = (await orderFiles(files.map((p) => ({ path: p })), opts.tz, opts.anchorMs)).map((f) => f.path);
  for (const file of ordered) {
    const size = fs.statSync(file).size;
    let sent = 0;
    const count = new Transform({
      transform(chunk: Buffer, _e, cb) {
        sent += chunk.length;
        progress.update(`uploading ${path.basename(file)} ${bar(sent / Math.max(1, size))} ${formatBytes(sent)}/${formatBytes(size)}`);
        cb(null, chunk);
      },
    });
    const body = Readable.toWeb(fs.createReadStream(file).pipe(count)) as ReadableStream<Uint8Array>;
    const now = new Date(await yearAnchorMs(file, opts.anchorMs)).toISOString();
    const q = new URLSearchParams({ name: opts.session, filename: path.basename(file), now, tz: opts.tz });
    const res = await call(`${base}/api/sessions?${q}`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      duplex: 'half',
    } as RequestInit);
    const posted = (await res.json()) as { session: SessionSummary; upload?: UploadStatus };
    id = posted.session.id;
    for (;;) {
      // The upload was taken: if the service goes away now (stopped, restarted), it may have imported
      // the file anyway (a stop waits for the import under way) — say so, and how to make sure.
      const s = await show().catch((e: unknown) => {
        if (!(e instanceof HandlogError) || e.code !== 'STORE_UNAVAILABLE') throw e;
        throw new HandlogError(
          'STORE_UNAVAILABLE',
          `lost the service at ${base} while it imported "${path.basename(file)}" (${errorMessage(e).replace(/^cannot reach the handlog service at \S+: /, '')}); ` +
            'it may have finished that file before stopping: run the same import again to continue (files already imported are skipped)',
        );
      });
      progress.update(`importing ${path.basename(file)} ${bar(s.bytes_done / Math.max(1, s.bytes_total))} ${s.lines_read.toLocaleString('en')} lines`);
      // This upload's own state: its report is there a moment after the session says done (a
      // service that keeps no upload states, or lost them in a restart: the session's state).
      const upload = (s.uploads ?? []).find((u) => u.id === posted.upload?.id);
      const finished = upload === undefined ? s.state !== 'importing' : upload.state === 'done' || upload.state === 'failed';
      if (finished) {
        if (upload !== undefined && upload.file !== null) reports.push(upload.file);
        if (upload?.state === 'failed') return { session: { ...s, state: 'failed', error: s.error ?? upload.error }, files: reports };
        if (s.state === 'failed') return { session: s, files: reports };
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { session: await show(), files: reports };
}
