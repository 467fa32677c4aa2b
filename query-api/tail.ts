// Live tail: rows go from the pipeline to Server-Sent Events clients as they are accepted. The
// pipeline calls the hub synchronously on the ingest path, so the hub only matches, serializes
// once per row and appends to each client's bounded queue; the socket is written from the
// stream's pull, at the pace the client reads. A client whose queue is full is told
// (`event: overflow`) and disconnected: it never slows ingestion or the other clients.

import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/metrics.js';
import type { StoredRecord } from '../core/record.js';
import type { RecordListener } from '../ingest/pipeline.js';
import { LOG_FIELDS, type LogFilters } from '../store/queries.js';
import { compileFilters, type RowMatcher } from './match.js';

export interface RecordSource {
  subscribe(listener: RecordListener): () => void;
}

export interface TailLimits {
  /** Rows queued for one client before it is dropped. */
  maxBufferRows: number;
  /** UTF-8 bytes queued for one client before it is dropped. */
  maxBufferBytes: number;
  /** `: ping` comment interval: keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** How long a dropped client gets to read its overflow event before the socket is destroyed. */
  overflowGraceMs: number;
  /** Most bytes handed to the socket per write. */
  maxChunkBytes: number;
}

export const DEFAULT_TAIL_LIMITS: Readonly<TailLimits> = Object.freeze({
  maxBufferRows: 10_000,
  maxBufferBytes: 8 * 1024 * 1024,
  heartbeatMs: 15_000,
  overflowGraceMs: 5_000,
  maxChunkBytes: 256 * 1024,
});

export interface TailHub {
  /**
   * An SSE body for one client. It ends when the client goes away (the response stream is
   * cancelled, or `signal` aborts) or is dropped for not keeping up.
   */
  open(filters: LogFilters, signal?: AbortSignal): ReadableStream<Uint8Array>;
  /** Connected clients. */
  readonly clients: number;
}

interface Entry {
  /** UTF-8, encoded once per row however many clients it goes to. */
  data: Uint8Array;
  bytes: number;
  /** A row (counted against the buffer), as opposed to a comment or the overflow notice. */
  row: boolean;
}

interface Client {
  match: RowMatcher;
  queuedBytes: number;
  queuedRows: number;
  push(entry: Entry): void;
  overflow(): void;
}

/**
 * The row as the store keeps it and /api/logs returns it: a parser's extra fields that are not
 * stored (RFC5424 msgid and structured data) are left out.
 */
function storedFields(row: StoredRecord): Record<string, unknown> {
  const all = row as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of LOG_FIELDS) if (all[f] !== undefined) out[f] = all[f];
  return out;
}

export function createTailHub(
  source: RecordSource,
  deps: { metrics: Registry; logger: Logger },
  limits: Partial<TailLimits> = {},
): TailHub {
  const lim: TailLimits = { ...DEFAULT_TAIL_LIMITS, ...limits };
  const gauge = deps.metrics.gauge('handlog_tail_clients', 'Live tail (SSE) clients connected.');
  const dropped = deps.metrics.counter('handlog_tail_dropped_clients_total', 'Live tail clients disconnected because they could not keep up.');
  gauge.set(0);
  dropped.labels({});
  const clients = new Set<Client>();
  let unsubscribe: (() => void) | null = null;
  const encoder = new TextEncoder();

  const onRow = (row: StoredRecord): void => {
    let entry: Entry | null = null;
    for (const c of clients) {
      if (!c.match(row)) continue;
      if (entry === null) {
        const data = encoder.encode(`event: log\ndata: ${JSON.stringify(storedFields(row))}\n\n`);
        entry = { data, bytes: data.length, row: true };
      }
      if (c.queuedRows + 1 > lim.maxBufferRows || c.queuedBytes + entry.bytes > lim.maxBufferBytes) c.overflow();
      else c.push(entry);
    }
  };

  const attach = (c: Client): void => {
    clients.add(c);
    gauge.set(clients.size);
    unsubscribe ??= source.subscribe(onRow);
  };
  const detach = (c: Client): void => {
    if (!clients.delete(c)) return;
    gauge.set(clients.size);
    if (clients.size === 0 && unsubscribe !== null) {
      unsubscribe();
      unsubscribe = null;
    }
  };

  function open(filters: LogFilters, signal?: AbortSignal): ReadableStream<Uint8Array> {
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    // Entries before `head` are sent: a pull advances it instead of shifting the array, which cost
    // the length of the queue per pull (a client 10,000 rows behind made every pull slow ingest).
    let queue: Entry[] = [];
    let head = 0;
    let wake: (() => void) | null = null;
    /** No more rows are taken; the stream closes once the queue is drained. */
    let ending = false;
    /** The stream is done (closed, cancelled or errored). */
    let ended = false;
    let heartbeat: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;

    const wakeReader = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const stopTaking = (): void => {
      ending = true;
      detach(client);
      if (heartbeat !== undefined) clearInterval(heartbeat);
      wakeReader();
    };
    const finish = (): void => {
      ended = true;
      stopTaking();
      if (grace !== undefined) clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      if (ended) return;
      finish();
      try {
        controller?.close();
      } catch {
        // already closed
      }
    };

    const comment = (text: string): Entry => {
      const data = encoder.encode(text);
      return { data, bytes: data.length, row: false };
    };

    const client: Client = {
      match: compileFilters(filters),
      queuedBytes: 0,
      queuedRows: 0,
      push(entry) {
        if (ending) return;
        queue.push(entry);
        this.queuedBytes += entry.bytes;
        if (entry.row) this.queuedRows += 1;
        wakeReader();
      },
      overflow() {
        if (ending) return;
        dropped.inc();
        deps.logger.warn('tail client dropped: it did not keep up', { queued_rows: this.queuedRows, queued_bytes: this.queuedBytes });
        // The queued rows are discarded: the client learns how many rows it missed, not the rows.
        const notice = comment(`event: overflow\ndata: ${JSON.stringify({ dropped_rows: this.queuedRows + 1, reason: 'client too slow' })}\n\n`);
        queue = [notice];
        head = 0;
        this.queuedRows = 0;
        this.queuedBytes = notice.bytes;
        stopTaking();
        // A client that reads nothing at all would hold its socket forever: destroy it after a grace period.
        grace = setTimeout(() => {
          if (ended) return;
          finish();
          try {
            controller?.error(new Error('tail client did not read its overflow event'));
          } catch {
            // already closed
          }
        }, lim.overflowGraceMs);
        grace.unref();
      },
    };


    return new ReadableStream<Uint8Array>(
      {
        start(c) {
          controller = c;
          if (signal?.aborted === true) {
            ended = ending = true;
            c.close();
            return;
          }
          signal?.addEventListener('abort', onAbort, { once: true });
          attach(client);
          // Sent at once so that the client sees the stream open before the first row.
          client.push(comment(': tail open\nretry: 3000\n\n'));
          heartbeat = setInterval(() => {
            // A client with rows queued has not caught up; a ping would only lengthen its queue.
            if (queue.length === head) client.push(comment(': ping\n\n'));
          }, lim.heartbeatMs);
          heartbeat.unref();
        },
        async pull(c) {
          while (queue.length === head && !ending) await new Promise<void>((resolve) => (wake = resolve));
          if (ended) return;
          if (queue.length === head) {
            // Ending and drained (the overflow notice, if any, went out).
            finish();
            c.close();
            return;
          }
          const start = head;
          let size = 0;
          while (head < queue.length && (head === start || size < lim.maxChunkBytes)) {
            const e = queue[head++] as Entry;
            size += e.bytes;
            if (e.row) client.queuedRows -= 1;
          }
          client.queuedBytes -= size;
          const parts = queue.slice(start, head);
          // Drop what was sent: all of it, or (amortized) a long enough prefix.
          if (head === queue.length) {
            queue = [];
            head = 0;
          } else if (head >= 4096) {
            queue = queue.slice(head);
            head = 0;
          }
          c.enqueue(parts.length === 1 ? (parts[0] as Entry).data : Buffer.concat(parts.map((p) => p.data), size));
        },
        cancel() {
          finish();
        },
      },
      { highWaterMark: 0 },
    );
  }

  return {
    open,
    get clients() {
      return clients.size;
    },
  };
}
