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
  text: string;
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
        const text = `event: log\ndata: ${JSON.stringify(storedFields(row))}\n\n`;
        entry = { text, bytes: Buffer.byteLength(text), row: true };
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
    let queue: Entry[] = [];
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
        const text = `event: overflow\ndata: ${JSON.stringify({ dropped_rows: this.queuedRows + 1, reason: 'client too slow' })}\n\n`;
        queue = [{ text, bytes: text.length, row: false }];
        this.queuedRows = 0;
        this.queuedBytes = text.length;
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

    const comment = (text: string): Entry => ({ text, bytes: text.length, row: false });

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
            if (queue.length === 0) client.push(comment(': ping\n\n'));
          }, lim.heartbeatMs);
          heartbeat.unref();
        },
        async pull(c) {
          while (queue.length === 0 && !ending) await new Promise<void>((resolve) => (wake = resolve));
          if (ended) return;
          if (queue.length === 0) {
            // Ending and drained (the overflow notice, if any, went out).
            finish();
            c.close();
            return;
          }
          let take = 0;
          let size = 0;
          while (take < queue.length && (take === 0 || size < lim.maxChunkBytes)) {
            const e = queue[take++] as Entry;
            size += e.bytes;
            if (e.row) client.queuedRows -= 1;
          }
          client.queuedBytes -= size;
          const parts = queue.splice(0, take);
          c.enqueue(encoder.encode(parts.length === 1 ? (parts[0] as Entry).text : parts.map((p) => p.text).join('')));
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
