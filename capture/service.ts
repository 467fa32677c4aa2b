// Sessions inside `handlog serve`: uploads streamed to <data>/uploads under a size limit, imported one
// at a time (the embedded engine belongs to this process, so `handlog import` comes through here while
// the service runs), listed, shown and deleted.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RowFileFormat } from '../store/client.js';
import { HandlogError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/metrics.js';
import { toIso } from '../parsers/time.js';
import { importFiles, type ImportFileReport } from './import.js';
import {
  deleteSession,
  newSession,
  findSession,
  listSessions,
  saveSession,
  sessionHandsets,
  type SessionDetail,
  type SessionSummary,
} from './sessions.js';

export interface SessionServiceConfig {
  dataDir: string;
  tz: string;
  maxUploadBytes: number;
}

export interface SessionServiceDeps {
  client: ClickHouseClient;
  insertLines(lines: string[], dedupToken: string): Promise<void>;
  /** Inserts a file of encoded rows (the store's fast path); used when given. */
  insertFile?(filePath: string, dedupToken: string, format?: RowFileFormat): Promise<void>;
  logger: Logger;
  metrics: Registry;
  now?: () => number;
}

export interface UploadOptions {
  name: string;
  filename: string;
  declaredBytes: number | null;
  /** Zone of the file's zone-less times; default the service's `--tz`. */
  tz?: string;
  /**
   * Year anchor of the file's year-less times (`handlog import` sends `--now`, else the file's
   * modification time); default the upload's own modification time, i.e. when it arrived.
   */
  anchorMs?: number;
}

/** One upload this process received and what its import did (kept in memory: not across restarts). */
export interface UploadStatus {
  id: string;
  filename: string;
  state: 'queued' | 'importing' | 'done' | 'failed';
  /** The file's import report once done (as `handlog import --json` prints it); `duplicateOf` set when it had been imported before and was skipped. */
  file: ImportFileReport | null;
  error: string | null;
}

/** A session as GET /api/sessions/:id shows it: its handsets, and the uploads to it this process received. */
export interface SessionView extends SessionDetail {
  uploads: UploadStatus[];
}

/** Upload statuses kept (the oldest finished ones are forgotten first). */
const MAX_UPLOADS_KEPT = 1000;

export interface SessionService {
  /** Streams an upload to disk and queues its import; resolves once the bytes are on disk. */
  upload(body: ReadableStream<Uint8Array> | Readable, opts: UploadOptions): Promise<{ session: SessionSummary; upload: UploadStatus }>;
  list(): Promise<SessionSummary[]>;
  get(idOrName: string): Promise<SessionView | null>;
  remove(idOrName: string): Promise<void>;
  /** Waits for queued imports (tests, shutdown). */
  idle(): Promise<void>;
}

/** A session name people can type and put in a URL: letters, digits, `._-:@` and spaces. */
export function validateSessionName(name: string): string {
  const n = name.trim();
  if (n === '' || n.length > 200 || !/^[\p{L}\p{N}._\-:@ ]+$/u.test(n)) {
    throw new HandlogError('BAD_REQUEST', `name: "${name.slice(0, 60)}" is not a session name (1–200 letters, digits, spaces and . _ - : @)`);
  }
  return n;
}

export function createSessionService(cfg: SessionServiceConfig, deps: SessionServiceDeps): SessionService {
  const now = deps.now ?? Date.now;
  const uploadsDir = path.join(cfg.dataDir, 'uploads');
  const imported = deps.metrics.counter('handlog_import_rows_total', 'Rows stored by capture imports.');
  let queue: Promise<void> = Promise.resolve();
  const active = new Set<string>();
  /** Upload id → its session id and status, oldest first. */
  const uploads = new Map<string, { sessionId: string; status: UploadStatus }>();

  const remember = (sessionId: string, status: UploadStatus) => {
    uploads.set(status.id, { sessionId, status });
    for (const [id, u] of uploads) {
      if (uploads.size <= MAX_UPLOADS_KEPT) break;
      if (u.status.state === 'done' || u.status.state === 'failed') uploads.delete(id);
    }
  };

  const runImport = (session: SessionSummary, file: string, status: UploadStatus, opts: Pick<UploadOptions, 'tz' | 'anchorMs'>) => {
    active.add(session.id);
    queue = queue
      .then(async () => {
        const t0 = now();
        status.state = 'importing';
        // The same options `handlog import --data` passes: the zone and the year anchor the client
        // sent (its --tz, and its --now or the file's modification time), else the service's own.
        const { session: done, files } = await importFiles(
          {
            session: session.name,
            sessionId: session.id,
            files: [{ path: file, name: status.filename }],
            tz: opts.tz ?? cfg.tz,
            nowMs: now(),
            ...(opts.anchorMs === undefined ? {} : { anchorMs: opts.anchorMs }),
          },
          {
            client: deps.client,
            insertLines: deps.insertLines,
            ...(deps.insertFile === undefined ? {} : { insertFile: deps.insertFile, spoolDir: uploadsDir }),
          },
        );
        status.file = files[0] ?? null;
        status.state = 'done';
        imported.inc(undefined, done.stored - session.stored);
        deps.logger.info('session imported', { session: done.name, file: status.filename, stored: done.stored, unparsed: done.unparsed, ms: now() - t0 });
      })
      .catch((e: unknown) => {
        status.state = 'failed';
        status.error = errorMessage(e);
        deps.logger.error('session import failed', { session: session.name, file: status.filename, err: errorMessage(e) });
      })
      .finally(() => {
        active.delete(session.id);
        fs.promises.rm(file, { force: true }).catch(() => undefined);
      });
  };

  return {
    async upload(body, opts) {
      const name = validateSessionName(opts.name);
      const filename = path.basename(opts.filename || 'upload').slice(0, 200) || 'upload';
      if (opts.declaredBytes !== null && opts.declaredBytes > cfg.maxUploadBytes) {
        throw new HandlogError('PAYLOAD_TOO_LARGE', `upload of ${opts.declaredBytes} bytes is over the limit of ${cfg.maxUploadBytes} bytes (--max-upload-mb)`);
      }
      const existing = await findSession(deps.client, name);
      if (existing !== null && active.has(existing.id)) {
        throw new HandlogError('CONFLICT', `session "${name}" is still importing; try again when it is done`);
      }
      await fs.promises.mkdir(uploadsDir, { recursive: true });
      const file = path.join(uploadsDir, `${randomUUID()}.upload`);
      let bytes = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          if (bytes > cfg.maxUploadBytes) cb(new HandlogError('PAYLOAD_TOO_LARGE', `upload is over the limit of ${cfg.maxUploadBytes} bytes (--max-upload-mb)`));
          else cb(null, chunk);
        },
      });
      const source = body instanceof Readable ? body : Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
      try {
        await pipeline(source, limit, fs.createWriteStream(file));
      } catch (e: unknown) {
        await fs.promises.rm(file, { force: true });
        if (e instanceof HandlogError) throw e;
        throw new HandlogError('BAD_REQUEST', `upload failed: ${errorMessage(e)}`);
      }
      if (bytes === 0) {
        await fs.promises.rm(file, { force: true });
        throw new HandlogError('BAD_REQUEST', 'body: the upload is empty');
      }
      const nowIso = toIso(now()) as string;
      const session: SessionSummary = existing ?? newSession(randomUUID(), name, nowIso);
      session.state = 'importing';
      session.bytes_total += bytes;
      session.updated_at = toIso(Math.max(now(), Date.parse(session.updated_at) + 1)) as string;
      await saveSession(deps.client, session);
      const status: UploadStatus = { id: path.basename(file, '.upload'), filename, state: 'queued', file: null, error: null };
      remember(session.id, status);
      runImport(session, file, status, opts);
      return { session, upload: { ...status } };
    },
    list: () => listSessions(deps.client),
    async get(idOrName) {
      // The upload states are taken before the session is read: an upload is `done` only once its
      // import saved the session, so an upload shown done comes with the session it left.
      const kept = [...uploads.values()].map((u) => ({ sessionId: u.sessionId, status: { ...u.status } }));
      const s = await findSession(deps.client, idOrName);
      if (s === null) return null;
      const mine = kept.filter((u) => u.sessionId === s.id).map((u) => u.status);
      // The other way round, the import may save the finished session between the two reads: an
      // upload still under way then means the session is still importing (a player waiting for it
      // would otherwise stop waiting before the upload's report, its `duplicateOf`, is there).
      const pending = mine.some((u) => u.state === 'queued' || u.state === 'importing');
      const state = pending && s.state === 'done' ? 'importing' : s.state;
      return { ...s, state, handsets: await sessionHandsets(deps.client, s.name), uploads: mine };
    },
    async remove(idOrName) {
      const s = await findSession(deps.client, idOrName);
      if (s === null) throw new HandlogError('NOT_FOUND', `no session "${idOrName}"`);
      if (active.has(s.id)) throw new HandlogError('CONFLICT', `session "${s.name}" is still importing`);
      await deleteSession(deps.client, s, toIso(Math.max(now(), Date.parse(s.updated_at) + 1)) as string);
    },
    idle: async () => {
      for (;;) {
        const q = queue;
        await q;
        if (q === queue) return;
      }
    },
  };
}
