// Import sessions in the store: the `sessions` table (migration 4) holds one row per state change of a
// session, ReplacingMergeTree keeps the newest; the handsets of a session are read from `logs`.

import type { ClickHouseClient } from '@clickhouse/client';
import { chToIso } from '../store/rows.js';
import { isoToCh } from '../store/schema.js';

export type SessionState = 'importing' | 'done' | 'failed' | 'deleted';

export interface SessionFile {
  name: string;
  /** Content fingerprint (size + head + tail digest): the same file imported again is recognised. */
  hash: string;
  /** pcap, pcapng or text, with `+gzip` when it was compressed. */
  format: string;
  /** Bytes of the file when it was imported (0: imported by a version that did not record it). */
  size: number;
}

export interface SessionSummary {
  id: string;
  name: string;
  state: SessionState;
  files: SessionFile[];
  created_at: string;
  updated_at: string;
  /** Time range of the session's rows (event time). */
  from: string | null;
  to: string | null;
  lines_read: number;
  stored: number;
  /** Files skipped because they had been imported before. */
  duplicates: number;
  unparsed: number;
  unparsed_reasons: Record<string, number>;
  /** Capture packets that held nothing to import, by reason (not syslog, truncated, …). */
  skipped: Record<string, number>;
  bytes_total: number;
  bytes_done: number;
  error: string | null;
}

export interface SessionDetail extends SessionSummary {
  handsets: { mac: string; count: number; errors: number }[];
}

interface SessionRow {
  id: string;
  name: string;
  state: string;
  files: string[];
  file_hashes: string[];
  formats: string[];
  file_sizes?: (string | number)[];
  created_at: string;
  updated_at: string;
  from_time: string | null;
  to_time: string | null;
  lines_read: string | number;
  stored: string | number;
  duplicates: string | number;
  unparsed: string | number;
  unparsed_reasons: string;
  skipped: string;
  bytes_total: string | number;
  bytes_done: string | number;
  error: string;
  deleted: number;
}

/** A session that has imported nothing yet. */
export function newSession(id: string, name: string, nowIso: string): SessionSummary {
  return {
    id,
    name,
    state: 'importing',
    files: [],
    created_at: nowIso,
    updated_at: nowIso,
    from: null,
    to: null,
    lines_read: 0,
    stored: 0,
    duplicates: 0,
    unparsed: 0,
    unparsed_reasons: {},
    skipped: {},
    bytes_total: 0,
    bytes_done: 0,
    error: null,
  };
}


function counts(json: string): Record<string, number> {
  try {
    return JSON.parse(json || '{}') as Record<string, number>;
  } catch {
    return {}; // a hand-edited row: counts unknown
  }
}

function fromRow(r: SessionRow): SessionSummary {
  const reasons = counts(r.unparsed_reasons);
  return {
    id: r.id,
    name: r.name,
    state: (r.deleted ? 'deleted' : r.state) as SessionState,
    files: r.files.map((name, i) => ({ name, hash: r.file_hashes[i] ?? '', format: r.formats[i] ?? '', size: Number(r.file_sizes?.[i] ?? 0) })),
    created_at: chToIso(r.created_at) as string,
    updated_at: chToIso(r.updated_at) as string,
    from: chToIso(r.from_time),
    to: chToIso(r.to_time),
    lines_read: Number(r.lines_read),
    stored: Number(r.stored),
    duplicates: Number(r.duplicates),
    unparsed: Number(r.unparsed),
    unparsed_reasons: reasons,
    skipped: counts(r.skipped),
    bytes_total: Number(r.bytes_total),
    bytes_done: Number(r.bytes_done),
    error: r.error === '' ? null : r.error,
  };
}

/** Writes the current state of a session (a new version row; the newest `updated_at` wins). */
export async function saveSession(client: ClickHouseClient, s: SessionSummary, deleted = false): Promise<void> {
  const ch = (iso: string | null) => (iso === null ? null : isoToCh(iso));
  await client.insert({
    table: 'sessions',
    format: 'JSONEachRow',
    values: [
      {
        id: s.id,
        name: s.name,
        state: s.state,
        files: s.files.map((f) => f.name),
        file_hashes: s.files.map((f) => f.hash),
        formats: s.files.map((f) => f.format),
        file_sizes: s.files.map((f) => f.size),
        created_at: ch(s.created_at),
        updated_at: ch(s.updated_at),
        from_time: ch(s.from),
        to_time: ch(s.to),
        lines_read: s.lines_read,
        stored: s.stored,
        duplicates: s.duplicates,
        unparsed: s.unparsed,
        unparsed_reasons: JSON.stringify(s.unparsed_reasons),
        skipped: JSON.stringify(s.skipped),
        bytes_total: s.bytes_total,
        bytes_done: s.bytes_done,
        error: s.error ?? '',
        deleted: deleted ? 1 : 0,
      },
    ],
  });
}

async function select(client: ClickHouseClient, where: string, params: Record<string, unknown>): Promise<SessionSummary[]> {
  const rs = await client.query({
    query: `SELECT * FROM sessions FINAL WHERE deleted = 0 ${where} ORDER BY created_at DESC`,
    query_params: params,
    format: 'JSONEachRow',
  });
  return (await rs.json<SessionRow>()).map(fromRow);
}

export function listSessions(client: ClickHouseClient): Promise<SessionSummary[]> {
  return select(client, '', {});
}

/** A session by id or by name. */
export async function findSession(client: ClickHouseClient, idOrName: string): Promise<SessionSummary | null> {
  const rows = await select(client, 'AND (id = {k:String} OR name = {k:String})', { k: idOrName });
  return rows.find((s) => s.id === idOrName) ?? rows[0] ?? null;
}

/** The sessions that hold a completely imported file with this fingerprint. */
export async function sessionsWithFile(client: ClickHouseClient, hash: string): Promise<SessionSummary[]> {
  // A file counts once its import finished: its format is written only then.
  return select(client, "AND arrayExists((x, f) -> x = {h:String} AND f != '', file_hashes, formats)", { h: hash });
}

/**
 * Plain text files imported completely and smaller than `below` bytes, newest sessions first (at
 * most `limit`): the candidates a grown file may be a later copy of.
 */
export async function importedTextFiles(
  client: ClickHouseClient,
  below: number,
  limit = 200,
): Promise<{ session: string; name: string; hash: string; size: number }[]> {
  const rs = await client.query({
    query: `SELECT name AS session_name, f.1 AS file_name, f.2 AS hash, f.4 AS size
            FROM sessions FINAL ARRAY JOIN arrayZip(files, file_hashes, formats, file_sizes) AS f
            WHERE deleted = 0 AND f.3 = 'text' AND 0 < f.4 AND f.4 < {below:UInt64}
            ORDER BY created_at DESC LIMIT {limit:UInt32}`,
    query_params: { below, limit },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ session_name: string; file_name: string; hash: string; size: string | number }>()).map((r) => ({
    session: r.session_name,
    name: r.file_name,
    hash: r.hash,
    size: Number(r.size),
  }));
}

export async function sessionHandsets(client: ClickHouseClient, name: string): Promise<SessionDetail['handsets']> {
  const rs = await client.query({
    query: `SELECT mac, count() AS count, countIf(severity <= 3) AS errors FROM logs
            WHERE session = {s:String} AND mac != '' GROUP BY mac ORDER BY count DESC LIMIT 10000`,
    query_params: { s: name },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ mac: string; count: string; errors: string }>()).map((r) => ({ mac: r.mac, count: Number(r.count), errors: Number(r.errors) }));
}

/** Marks the session deleted and removes its rows (a lightweight DELETE: rows vanish from queries at once). */
export async function deleteSession(client: ClickHouseClient, s: SessionSummary, nowIso: string): Promise<void> {
  await client.command({ query: 'DELETE FROM logs WHERE session = {s:String}', query_params: { s: s.name } });
  await saveSession(client, { ...s, updated_at: nowIso }, true);
}
