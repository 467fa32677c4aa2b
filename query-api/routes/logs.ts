// GET /api/logs, /api/logs/count, /api/logs/export, /api/logs/tail, /api/logs/:id (DESIGN §4).

import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { HandlogError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { StoredRecord } from '../../core/record.js';
import { countLogs, exportLogs, getLog, searchLogs } from '../../store/queries.js';
import { csvHeader, csvRow } from '../csv.js';
import { bad, one, parseLogFilters, rejectUnknown } from '../params.js';
import type { TailHub } from '../tail.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Export rows are gathered into writes of about this many characters. */
const EXPORT_CHUNK_CHARS = 64 * 1024;

const EXPORT_FORMATS = {
  ndjson: { type: 'application/x-ndjson; charset=utf-8', header: '', row: (r: StoredRecord) => JSON.stringify(r) + '\n' },
  csv: { type: 'text/csv; charset=utf-8; header=present', header: csvHeader(), row: csvRow },
} as const;

export interface LogRouteDeps {
  client: ClickHouseClient;
  now: () => number;
  logger: Logger;
  tail: TailHub;
}

export function logRoutes(deps: LogRouteDeps): Hono {
  const r = new Hono();
  const query = (url: string) => new URL(url).searchParams;

  r.get('/', async (c) => {
    const f = parseLogFilters(query(c.req.url), deps.now(), 'logs');
    return c.json(await searchLogs(deps.client, f));
  });
  r.get('/count', async (c) => {
    const f = parseLogFilters(query(c.req.url), deps.now(), 'logs/count');
    return c.json({ count: await countLogs(deps.client, f) });
  });

  r.get('/export', async (c) => {
    const q = query(c.req.url);
    const f = parseLogFilters(q, deps.now(), 'logs/export');
    const name = one(q, 'format') ?? 'ndjson';
    if (name !== 'ndjson' && name !== 'csv') throw bad('format', `"${name}" is not an export format (ndjson or csv)`);
    const fmt = EXPORT_FORMATS[name];
    const stamp = new Date(deps.now()).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
    const headers = {
      'Content-Type': fmt.type,
      'Content-Disposition': `attachment; filename="handlog-${stamp}.${name}"`,
      'Cache-Control': 'no-store',
    };
    // Hono answers HEAD with the GET handler's headers and drops its body without cancelling it:
    // a query started here would keep its result open for good.
    if (c.req.method === 'HEAD') return new Response(null, { headers });
    const rows = exportLogs(deps.client, f);
    // The first page is read before the answer starts, so that a store failure is still a JSON error.
    let pending: IteratorResult<StoredRecord> | undefined = await rows.next();
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>(
      {
        start(ctrl) {
          if (fmt.header !== '') ctrl.enqueue(encoder.encode(fmt.header));
        },
        async pull(ctrl) {
          let out = '';
          try {
            while (out.length < EXPORT_CHUNK_CHARS) {
              const it = pending ?? (await rows.next());
              pending = undefined;
              if (it.done === true) {
                if (out !== '') ctrl.enqueue(encoder.encode(out));
                ctrl.close();
                return;
              }
              out += fmt.row(it.value);
            }
            ctrl.enqueue(encoder.encode(out));
          } catch (e: unknown) {
            // Headers are gone: erroring the stream cuts the response, so the client sees a failed
            // download rather than a silently short file.
            deps.logger.warn('log export failed mid-stream', { err: errorMessage(e) });
            ctrl.error(e);
          }
        },
        async cancel() {
          await rows.return(undefined);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { headers });
  });

  r.get('/tail', (c) => {
    const f = parseLogFilters(query(c.req.url), deps.now(), 'logs/tail');
    const headers = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      // nginx and similar proxies buffer responses unless told otherwise.
      'X-Accel-Buffering': 'no',
    };
    // A HEAD body is dropped without being cancelled: a client opened for it would never leave.
    if (c.req.method === 'HEAD') return new Response(null, { headers });
    return new Response(deps.tail.open(f, c.req.raw.signal), { headers });
  });

  r.get('/:id', async (c) => {
    rejectUnknown(query(c.req.url), 'logs/:id');
    const id = c.req.param('id');
    if (!UUID.test(id)) throw new HandlogError('BAD_REQUEST', `id: "${id}" is not a log id (a UUID)`);
    const row = await getLog(deps.client, id);
    if (row === null) throw new HandlogError('NOT_FOUND', `no log with id ${id}`);
    return c.json(row);
  });
  return r;
}
