// `handlog import` and POST /api/sessions: capture files → parsed rows → the store, as one named
// session. Streams every file (bounded memory whatever its size), inserts in batches of BATCH_ROWS.
//
// Re-importing never duplicates rows, in two layers:
// - a file is known by a fingerprint of its size, head and tail; a file already imported completely
//   (into any session) is skipped and reported as a duplicate;
// - a plain text file that has grown since it was imported (a handset's syslog.txt pulled again, a
//   server log copied again) is recognised by the fingerprint of its first bytes: only what it
//   gained is imported;
// - an import cut short (crash, kill) and run again sends the same batches with the same insert
//   deduplication tokens (`import:<fingerprint>:<batch>`), so the batches that had landed are dropped
//   by the store; row ids are derived from fingerprint and line number, so they are stable too.

import { createHash, randomUUID } from 'node:crypto';
import { uuidAt, uuidPrefix } from '../core/ids.js';
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { FRAME_CUT_NOTE, prependParseError, type StoredRecord } from '../core/record.js';
import { parseLine, type ParsedRecord } from '../parsers/detect.js';
import { toIso } from '../parsers/time.js';
import { encodeLogRow, encodeLogRowLenient, encodeLogRowTsv } from '../store/encode.js';
import type { RowFileFormat } from '../store/client.js';
import { fileParseContext, LineTimes, orderFiles, ownTime, yearAnchorMs, type NamedFile } from './file-times.js';
import { isGzipHead, newReadStats, readCapture, utf16Bom, type CaptureMessage, type ReadStats } from './reader.js';
import { sniffCapture } from './pcap.js';
import { findSession, importedTextFiles, newSession, saveSession, sessionsWithFile, type SessionFile, type SessionSummary } from './sessions.js';

export const BATCH_ROWS = 50_000;
const PROGRESS_SAVE_MS = 1000;
const MAX_REASONS = 20;

export interface ImportFile extends NamedFile {
  /** Where the bytes are. */
  path: string;
  /** The name shown in the session (an upload's original file name); default the path's base name. */
  name?: string;
}

export interface ImportOptions {
  session: string;
  files: ImportFile[];
  tz: string;
  /** Import time (received_at of the rows; retention counts from it). */
  nowMs: number;
  /**
   * Year-inference anchor for text lines (a year-less time more than a day after it is last year's);
   * default each file's modification time.
   */
  anchorMs?: number;
  maxFrameBytes?: number;
  /** Called after every batch and at the end of each file. */
  onProgress?: (s: SessionSummary, file: ImportFileReport) => void;
  /** Existing session id to continue (an upload), else found by name or created. */
  sessionId?: string;
}

export interface ImportDeps {
  client: ClickHouseClient;
  insertLines(lines: string[], dedupToken: string): Promise<void>;
  /**
   * Inserts a file of encoded rows; with the embedded engine this reads the file natively and is
   * several times faster than insertLines. Used with `spoolDir`.
   */
  insertFile?(filePath: string, dedupToken: string, format?: RowFileFormat): Promise<void>;
  /** Where batches are written for insertFile. */
  spoolDir?: string;
}

export interface ImportFileReport {
  name: string;
  format: string;
  /** Already imported before: skipped. */
  duplicateOf: string | null;
  /**
   * The file is an earlier import (`name` in `session`, `bytes` long then) that has grown since:
   * only the lines after those bytes were imported.
   */
  grownFrom?: { session: string; name: string; bytes: number };
  stats: ReadStats;
  stored: number;
  unparsed: number;
}

/** Size + first and last 64 KiB: cheap on a 1 GB capture, and different captures do not collide in practice. */
export async function fingerprint(file: string): Promise<string> {
  return fingerprintOf(file);
}

/** The fingerprint of the file's first `prefix` bytes (default: all of it) — what it was at that size. */
async function fingerprintOf(file: string, prefix?: number): Promise<string> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const size = prefix ?? (await fd.stat()).size;
    const h = createHash('sha256').update(`${size}:`);
    const n = Math.min(size, 65_536);
    const head = Buffer.alloc(n);
    await fd.read(head, 0, n, 0);
    h.update(head);
    if (size > n) {
      const tail = Buffer.alloc(n);
      await fd.read(tail, 0, n, size - n);
      h.update(tail);
    }
    return h.digest('hex').slice(0, 32);
  } finally {
    await fd.close();
  }
}

/**
 * The id of line `ordinal` of a file: a UUID (RFC 9562 version 8 layout) whose first bytes come from
 * the file's fingerprint and whose last six bytes are the line number — stable across re-imports,
 * unique per line, and no hashing per row.
 */
export function stableIdFactory(fileHash: string): (ordinal: number) => string {
  const prefix = uuidPrefix(createHash('sha1').update(fileHash).digest());
  return (ordinal) => uuidAt(prefix, ordinal);
}

/**
 * Whether this plain text file is a file imported before that has grown since (a handset's
 * syslog.txt pulled again, a server log copied again): its first `size` bytes have the fingerprint
 * of an imported file of that size. Returns the newest such import and the byte where the new lines
 * start (the start of the line the old copy ended in, when it ended mid-line), or null.
 */
async function grownFrom(
  file: string,
  size: number,
  client: ClickHouseClient,
): Promise<{ session: string; name: string; size: number; startByte: number } | null> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fd.read(head, 0, 4, 0);
    if (bytesRead < 4 || isGzipHead(head) || utf16Bom(head) !== null || sniffCapture(head) !== null) return null;
    const candidates = await importedTextFiles(client, size);
    const checked = new Map<number, string>();
    for (const c of candidates) {
      let fp = checked.get(c.size);
      if (fp === undefined) {
        fp = await fingerprintOf(file, c.size);
        checked.set(c.size, fp);
      }
      if (fp !== c.hash) continue;
      // Back to the start of the line the old copy ended in (its partial line is read again whole).
      const look = Buffer.alloc(Math.min(c.size, 65_536));
      await fd.read(look, 0, look.length, c.size - look.length);
      const nl = look.lastIndexOf(0x0a);
      const startByte = nl === look.length - 1 ? c.size : nl >= 0 ? c.size - look.length + nl + 1 : c.size;
      return { session: c.session, name: c.name, size: c.size, startByte };
    }
    return null;
  } finally {
    await fd.close();
  }
}

export async function importFiles(opts: ImportOptions, deps: ImportDeps): Promise<{ session: SessionSummary; files: ImportFileReport[] }> {
  const nowIso = toIso(opts.nowMs) as string;
  const existing = opts.sessionId !== undefined ? await findSession(deps.client, opts.sessionId) : await findSession(deps.client, opts.session);
  const session: SessionSummary = existing ?? newSession(opts.sessionId ?? randomUUID(), opts.session, nowIso);
  session.state = 'importing';
  session.error = null;
  const sizes = await Promise.all(opts.files.map((f) => fs.promises.stat(f.path).then((s) => s.size, () => 0)));
  const bytesBefore = session.bytes_done;
  session.bytes_total = bytesBefore + sizes.reduce((a, b) => a + b, 0);
  let lastSave = 0;
  // A progress save is not waited for: the engine runs it after the batch insert in flight, and
  // waiting held the parser idle for most of that insert once a second (a third of an import's time).
  // One at a time (the next is skipped while one runs); a forced save waits for it, then writes.
  let progressSave: Promise<void> | null = null;
  let progressError: unknown = null;
  const save = async (force: boolean) => {
    const t = Date.now();
    if (!force && (progressSave !== null || t - lastSave < PROGRESS_SAVE_MS)) return;
    lastSave = t;
    if (force) {
      // The forced save writes the latest state: a failed progress save before it is superseded.
      if (progressSave !== null) await progressSave;
      progressError = null;
    } else if (progressError !== null) throw progressError;
    session.updated_at = toIso(Math.max(t, Date.parse(session.updated_at) + 1)) as string;
    const write = saveSession(deps.client, session);
    if (force) return write;
    progressSave = write.then(
      () => {
        progressSave = null;
      },
      (e: unknown) => {
        progressSave = null;
        progressError = e;
      },
    );
  };
  await save(true);

  const reports: ImportFileReport[] = [];
  const ordered = await orderFiles(opts.files, opts.tz, opts.anchorMs);
  let bytesDoneFiles = bytesBefore;
  try {
    for (const f of ordered) {
      const name = f.name ?? path.basename(f.path);
      const report = await importOne(f, name, session, opts, deps, nowIso, () => bytesDoneFiles, save);
      reports.push(report);
      bytesDoneFiles += sizes[opts.files.indexOf(f)] ?? 0;
      session.bytes_done = bytesDoneFiles;
      opts.onProgress?.(session, report);
    }
    session.state = 'done';
  } catch (e: unknown) {
    session.state = 'failed';
    session.error = e instanceof Error ? e.message : String(e);
    await save(true);
    throw e;
  }
  await save(true);
  return { session, files: reports };
}

async function importOne(
  f: ImportFile,
  name: string,
  session: SessionSummary,
  opts: ImportOptions,
  deps: ImportDeps,
  importedAtIso: string,
  bytesBefore: () => number,
  save: (force: boolean) => Promise<void>,
): Promise<ImportFileReport> {
  const stats = newReadStats();
  const report: ImportFileReport = { name, format: '', duplicateOf: null, stats, stored: 0, unparsed: 0 };
  const hash = await fingerprint(f.path).catch(() => null);
  if (hash === null) throw new Error(`cannot read ${name}`);
  const done = (s: SessionSummary) => s.files.find((x) => x.hash === hash && x.format !== '');
  const before = done(session) !== undefined ? session : (await sessionsWithFile(deps.client, hash))[0];
  if (before !== undefined) {
    report.duplicateOf = before.name;
    report.format = done(before)?.format ?? '';
    session.duplicates++;
    return report;
  }
  const size = await fs.promises.stat(f.path).then((st) => st.size);
  const grown = await grownFrom(f.path, size, deps.client);
  if (grown !== null) report.grownFrom = { session: grown.session, name: grown.name, bytes: grown.size };
  const anchorMs = await yearAnchorMs(f.path, opts.anchorMs);
  const anchorIso = toIso(Math.round(anchorMs)) ?? importedAtIso;
  const anchorCtx = fileParseContext(anchorMs, opts.tz);
  // An import of this file that was cut short left its entry without a format: continue it.
  let entry: SessionFile | undefined = session.files.find((x) => x.hash === hash);
  if (entry === undefined) {
    entry = { name, hash, format: '', size };
    session.files.push(entry);
  }
  // Encoded rows go straight into a byte buffer (as in the write-ahead log): keeping 10,000 row
  // strings and joining them cost more than parsing, in flattening and garbage collection.
  let buf = Buffer.allocUnsafe(16 * 1024 * 1024);
  let used = 0;
  let rows = 0;
  let batch = 0;
  let ordinal = 0;
  const idOf = stableIdFactory(hash);
  // Spooled batches are TabSeparated (the engine loads them several times faster than JSON lines);
  // batches handed to insertLines are JSON lines.
  const spooling = deps.insertFile !== undefined && deps.spoolDir !== undefined;
  const encode = spooling ? encodeLogRowTsv : encodeLogRow;
  const append = (line: string) => {
    const need = Buffer.byteLength(line) + 1;
    if (used + need > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, used + need));
      buf.copy(bigger, 0, 0, used);
      buf = bigger;
    }
    used += buf.write(line, used);
    buf[used++] = 0x0a;
    rows++;
  };
  // One insert runs while the next batch is parsed: the engine inserts on its own threads.
  let inFlight: Promise<void> | null = null;
  let inFlightError: unknown = null;
  const settle = async () => {
    if (inFlight !== null) await inFlight;
    inFlight = null;
    if (inFlightError !== null) throw inFlightError;
  };
  const flush = async () => {
    if (rows === 0) return;
    await settle();
    const token = `import:${hash}:${batch++}`;
    const bytes = buf.subarray(0, used);
    const n = rows;
    let insert: Promise<void>;
    if (spooling && deps.insertFile !== undefined && deps.spoolDir !== undefined) {
      const spool = path.join(deps.spoolDir, `import-${process.pid}-${hash}-${batch}.tsv`);
      await fs.promises.mkdir(deps.spoolDir, { recursive: true });
      await fs.promises.writeFile(spool, bytes);
      const insertFile = deps.insertFile;
      insert = insertFile(spool, token, 'TabSeparated').finally(() => fs.promises.rm(spool, { force: true }));
    } else insert = deps.insertLines(bytes.toString('utf8').split('\n').slice(0, -1), token);
    inFlight = insert.then(
      () => {
        report.stored += n;
        session.stored += n;
      },
      (e: unknown) => {
        inFlightError = e;
      },
    );
    rows = 0;
    used = 0;
  };
  const store = (rec: ParsedRecord, m: CaptureMessage, ordinal: number, time: string) => {
    const row = rec as StoredRecord;
    row.id = idOf(ordinal);
    row.time = time;
    row.received_at = importedAtIso;
    row.source_ip = m.sourceIp;
    row.transport = 'import';
    row.session = session.name;
    row.raw = m.raw;
    const enc = encodeLogRowLenient(row, encode);
    if (enc.line === null) {
      countReason(session, `not storable: ${enc.error}`);
      return;
    }
    if (rec.format === 'raw') {
      report.unparsed++;
      session.unparsed++;
      countReason(session, rec.parse_error ?? 'unrecognised');
    }
    if (session.from === null || row.time < session.from) session.from = row.time;
    if (session.to === null || row.time > session.to) session.to = row.time;
    append(enc.line);
  };
  // A text line without a time of its own takes its neighbour's (file-times.ts); its syslog_time and
  // device_time stay null, so the row shows that its time is not its own. Packets have their capture time.
  interface Held {
    rec: ParsedRecord;
    m: CaptureMessage;
    ordinal: number;
  }
  const lineTimes = new LineTimes<Held, string>(anchorIso, (h, time) => store(h.rec, h.m, h.ordinal, time));
  const readOpts = { ...(opts.maxFrameBytes === undefined ? {} : { maxFrameBytes: opts.maxFrameBytes }), ...(grown === null ? {} : { startByte: grown.startByte }) };
  for await (const messages of readCapture(f.path, stats, readOpts)) {
    // A turn of the event loop per chunk read (about 1 MiB): inside `handlog serve` the listeners
    // keep receiving while an upload is imported.
    await new Promise((r) => setImmediate(r));
    for (const m of messages) {
      ordinal++;
      session.lines_read++;
      const rec = parseLine(m.raw, m.tsMs === null ? anchorCtx : { receivedAtMs: m.tsMs, tz: opts.tz });
      if (m.truncated) prependParseError(rec, FRAME_CUT_NOTE);
      if (m.tsMs === null) lineTimes.push({ rec, m, ordinal }, ownTime(rec));
      else store(rec, m, ordinal, ownTime(rec) ?? toIso(Math.round(m.tsMs)) ?? importedAtIso);
      if (rows >= BATCH_ROWS) {
        await flush();
        session.bytes_done = bytesBefore() + stats.bytesRead;
        opts.onProgress?.(session, report);
        await save(false);
      }
    }
  }
  lineTimes.end();
  await flush();
  await settle();
  entry.format = (stats.kind ?? 'text') + (stats.gzip ? '+gzip' : '');
  report.format = entry.format;
  if (stats.error !== null) countReason(session, `${name}: ${stats.error}`);
  for (const [reason, n] of Object.entries(stats.skipped)) session.skipped[reason] = (session.skipped[reason] ?? 0) + (n ?? 0);
  return report;
}

function countReason(s: SessionSummary, reason: string): void {
  const key = reason.length > 80 ? `${reason.slice(0, 77)}...` : reason;
  if (key in s.unparsed_reasons || Object.keys(s.unparsed_reasons).length < MAX_REASONS) {
    s.unparsed_reasons[key] = (s.unparsed_reasons[key] ?? 0) + 1;
  } else s.unparsed_reasons['other'] = (s.unparsed_reasons['other'] ?? 0) + 1;
}
