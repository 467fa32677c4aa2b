// The one module that sees every stage: frame → parse → enrich → (subscribers: tail, alerts) → WAL.
// The sink drains the WAL into ClickHouse on its own loop.

import { sequentialIds } from '../core/ids.js';
import type { Counter, Registry } from '../core/metrics.js';
import { snippet, type Logger } from '../core/logger.js';
import { eventTime, FRAME_CUT_NOTE, prependParseError, type StoredRecord, type Transport } from '../core/record.js';
import { parseLine } from '../parsers/detect.js';
import { decodeText } from '../parsers/text.js';
import { toIso } from '../parsers/time.js';
import { encodeLogRowLenient, encodeLogRowTsv } from '../store/encode.js';
import type { Wal } from './wal.js';

/** One syslog message as a listener hands it over. */
export interface IngestFrame {
  data: Buffer;
  sourceIp: string;
  transport: Transport;
  receivedAtMs: number;
  /** The frame was cut at the maximum frame size. */
  truncated: boolean;
  /** The connection ended before the frame did (stored with a parse_error saying so). */
  incomplete?: boolean;
}

/** parse_error of a message the connection ended in the middle of. */
export const INCOMPLETE_NOTE = 'message incomplete: connection closed before its end';

/** A subscriber gets each accepted row and the time its bytes were received (epoch ms). */
export type RecordListener = (row: StoredRecord, receivedAtMs: number) => void;

export interface Pipeline {
  /** Parse, enrich and log one frame. Returns false when it was dropped (UDP with the WAL full). */
  ingest(frame: IngestFrame): boolean;
  /** Rows go to every subscriber as they are accepted (live tail, alert evaluation). */
  subscribe(listener: RecordListener): () => void;
}

export interface PipelineConfig {
  tz: string;
  session?: string;
}

export interface PipelineDeps {
  wal: Wal;
  metrics: Registry;
  logger: Logger;
  /** The shared `handlog_dropped_total{reason}` counter. */
  dropped: Counter;
}

export function createPipeline(config: PipelineConfig, deps: PipelineDeps): Pipeline {
  const received = deps.metrics.counter('handlog_received_total', 'Messages received, by transport.');
  const parsed = deps.metrics.counter('handlog_parsed_total', 'Messages parsed, by detected format.');
  const unparsed = deps.metrics.counter('handlog_unparsed_total', 'Messages stored raw because no format was recognised.');
  const listeners = new Set<RecordListener>();
  const session = config.session ?? '';
  const nextId = sequentialIds();

  const receivedBy = new Map<Transport, { inc(by?: number): void }>();
  const parsedBy = new Map<string, { inc(by?: number): void }>();
  const receivedCounter = (t: Transport) => {
    let c = receivedBy.get(t);
    if (c === undefined) receivedBy.set(t, (c = received.labels({ transport: t })));
    return c;
  };
  const parsedCounter = (f: string) => {
    let c = parsedBy.get(f);
    if (c === undefined) parsedBy.set(f, (c = parsed.labels({ format: f })));
    return c;
  };

  function ingest(frame: IngestFrame): boolean {
    receivedCounter(frame.transport).inc();
    const raw = decodeText(frame.data); // not-UTF-8 bytes as Windows-1252, not U+FFFD
    const rec = parseLine(raw, { receivedAtMs: frame.receivedAtMs, tz: config.tz });
    if (frame.truncated) prependParseError(rec, FRAME_CUT_NOTE);
    if (frame.incomplete === true) prependParseError(rec, INCOMPLETE_NOTE);
    if (rec.format === 'raw') unparsed.inc();
    else parsedCounter(rec.format).inc();
    const receivedAt = toIso(frame.receivedAtMs) ?? new Date(frame.receivedAtMs).toISOString();
    // The parsed record becomes the stored row in place: copying its fields per message showed in
    // the ingest profile.
    const row = rec as StoredRecord;
    row.id = nextId();
    row.time = eventTime(rec, receivedAt);
    row.received_at = receivedAt;
    row.source_ip = frame.sourceIp;
    row.transport = frame.transport;
    row.session = session;
    row.raw = raw;
    const line = encodeRow(row);
    if (line === null) return false;
    // UDP cannot be paused: when the WAL is full its overflow is dropped and counted. Stream bytes
    // were already read from a socket that the pressure signal pauses, so they are kept.
    const kept = deps.wal.append(line, { force: frame.transport !== 'udp' });
    if (!kept) {
      deps.dropped.inc({ reason: 'udp_wal_full' });
      return false;
    }
    for (const l of listeners) {
      try {
        l(row, frame.receivedAtMs);
      } catch (e: unknown) {
        deps.logger.error('record subscriber failed', { err: e instanceof Error ? e.message : String(e) });
      }
    }
    return true;
  }

  function encodeRow(row: StoredRecord): string | null {
    const r = encodeLogRowLenient(row, encodeLogRowTsv);
    if (r.line !== null) return r.line;
    deps.logger.error('row cannot be stored', { err: r.error, raw: snippet(row.raw) });
    deps.dropped.inc({ reason: 'unstorable' });
    return null;
  }

  return {
    ingest,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
