// Query-string parsing for the API routes: every parameter validated, every problem a 400 that
// names the parameter, and each route accepts only its own list of parameters. Values reach SQL
// only as query parameters (store/queries.ts).

import { HandlogError } from '../core/errors.js';
import { SEVERITY_NAMES } from '../core/record.js';
import { parseMac } from '../parsers/mac.js';
import { isValidTimeZone } from '../parsers/time.js';
import { MAX_TEXT_TERMS, textTerms } from '../core/text-query.js';
import { decodeCursor, DEFAULT_LIMIT, LOG_FIELDS, MAX_LIMIT, type LogFilters } from '../store/queries.js';

/** The log filters of DESIGN §4 (paging and format are per route). */
export const LOG_FILTER_PARAMS = ['mac', 'tag', 'tag_contains', 'severity', 'max_severity', 'q', 'host', 'session', 'from', 'to'] as const;

/** Tail streams rows as they arrive: a time range, a cursor or a limit mean nothing there. */
const TAIL_FILTER_PARAMS = LOG_FILTER_PARAMS.filter((p) => p !== 'from' && p !== 'to');

/** Known query parameters of each route; anything else is a 400. */
export const ROUTE_PARAMS = {
  logs: [...LOG_FILTER_PARAMS, 'limit', 'cursor', 'fields'],
  'logs/count': [...LOG_FILTER_PARAMS],
  'logs/export': [...LOG_FILTER_PARAMS, 'format'],
  'logs/tail': TAIL_FILTER_PARAMS,
  'logs/:id': [],
  stats: [...LOG_FILTER_PARAMS, 'interval'],
  tags: ['q', 'from', 'to', 'limit'],
  devices: ['sort', 'q', 'limit'],
  'devices/:mac': [],
  'devices/:mac/battery': ['from', 'to'],
  'alerts/rules': [],
  'alerts/rules/:id': [],
  'alerts/channels': [],
  'alerts/channels/:id': [],
  'alerts/silences': [],
  'alerts/silences/:id': [],
  'alerts/events': ['state', 'rule_id', 'mac', 'limit'],
  'alerts/summary': [],
  sessions: ['name', 'filename'],
  'sessions/:id': [],
  whoami: [],
} as const satisfies Record<string, readonly string[]>;

export type RouteName = keyof typeof ROUTE_PARAMS;

/** Query parameters of POST /api/sessions, the upload (GET /api/sessions takes ROUTE_PARAMS.sessions). */
export const UPLOAD_PARAMS = ['name', 'filename', 'now', 'tz'] as const;

/** Accepted on every route: an access token for clients that cannot set headers (EventSource). */
const ANY_ROUTE = ['token'];

/** Parameters that may be repeated; their values are joined (`tag` with `|`, the others with `,`). */
const REPEATABLE: ReadonlySet<string> = new Set(['mac', 'tag', 'severity']);

export function bad(param: string, message: string): HandlogError {
  return new HandlogError('BAD_REQUEST', `${param}: ${message}`);
}

/** 400 for the first parameter the route does not know (`known`: of another method than GET). */
export function rejectUnknown(q: URLSearchParams, route: RouteName, known: readonly string[] = ROUTE_PARAMS[route]): void {
  for (const key of q.keys()) {
    if (!known.includes(key) && !ANY_ROUTE.includes(key)) {
      throw bad(key, `unknown parameter for /api/${route} (known: ${known.length === 0 ? 'none' : known.join(', ')})`);
    }
  }
}

/** The single value of a parameter (repeatable ones joined); 400 when a single one is repeated. */
export function one(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  if (all.length > 1 && !REPEATABLE.has(name)) throw bad(name, 'given more than once');
  return all.length === 0 ? undefined : all.join(name === 'tag' ? '|' : ',');
}

/** A whole number from 1 to max; `def` when absent. */
export function parseLimit(q: URLSearchParams, name: string, def: number, max: number): number {
  const v = one(q, name);
  if (v === undefined) return def;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1 || Number(v) > max) throw bad(name, `"${v}" is not a whole number between 1 and ${max}`);
  return Number(v);
}

/** A severity given as a number 0–7 or a name (Fatal, error, WARNING, emerg, crit, err, …). */
export function parseSeverity(param: string, v: string): number {
  const t = v.trim();
  if (/^[0-7]$/.test(t)) return Number(t);
  const lower = t.toLowerCase();
  const i = SEVERITY_NAMES.findIndex((n) => n.toLowerCase() === lower);
  if (i >= 0) return i;
  const aliases: Record<string, number> = { emerg: 0, emergency: 0, crit: 2, err: 3, warn: 4, informational: 6, verbose: 7 };
  const a = aliases[lower];
  if (a !== undefined) return a;
  throw bad(param, `"${v}" is not a severity (0–7 or ${SEVERITY_NAMES.join(', ')})`);
}

const RELATIVE = /^-(\d{1,9})(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `YYYY-MM-DD`, optionally `T` or a blank and `hh:mm[:ss[.fff]]`, optionally a zone (`Z`, `±hh[:mm]`). */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Milliseconds of an ISO-8601 time, null when a field is out of range. Without a zone it is UTC. */
function isoTimeMs(t: string): number | null {
  const m = ISO_TIME.exec(t);
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const zone = /^([+-])(\d{2}):?(\d{2})?$/.exec(m[8] ?? 'Z');
  const [oh, om] = [Number(zone?.[2] ?? 0), Number(zone?.[3] ?? 0)];
  if (h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return null;
  // setUTCFullYear, not Date.UTC: Date.UTC takes years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  // February 30 would roll over into March.
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  date.setUTCHours(h, mi, s, ms);
  return date.getTime() - (zone?.[1] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
}

/** Whether a time parameter is relative to the clock (`-15m`, `now`) rather than absolute. */
function isRelativeTime(v: string): boolean {
  const t = v.trim();
  return t === 'now' || RELATIVE.test(t);
}

/**
 * ISO-8601 (without a zone: UTC, like every time the API returns) or relative to `nowMs`
 * (`-15m`, `-2h`, `-7d`, `now`) → ISO-8601 UTC.
 */
export function parseTime(param: string, v: string, nowMs: number): string {
  const t = v.trim();
  if (t === 'now') return new Date(nowMs).toISOString();
  const m = RELATIVE.exec(t);
  if (m !== null) {
    const d = new Date(nowMs - Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000));
    if (Number.isNaN(d.getTime())) throw bad(param, `"${v}" reaches further back than a time can be`);
    return d.toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) throw bad(param, `"${v}" is not an ISO-8601 time or a relative time like -15m, -2h, -7d`);
  const ms = isoTimeMs(t);
  if (ms === null) throw bad(param, `"${v}" is not a valid time (YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]; UTC without a zone)`);
  return new Date(ms).toISOString();
}

/** An IANA time zone name (`Europe/Berlin`, `UTC`), as `--tz` takes it. */
export function parseTimeZone(param: string, v: string): string {
  const t = v.trim();
  if (t === '' || !isValidTimeZone(t)) throw bad(param, `"${v}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  return t;
}

/** `from` and `to` (ISO or relative); 400 when from is after to. */
export function parseTimeRange(q: URLSearchParams, nowMs: number): { from?: string; to?: string } {
  const r: { from?: string; to?: string } = {};
  const from = one(q, 'from');
  if (from !== undefined && from !== '') r.from = parseTime('from', from, nowMs);
  const to = one(q, 'to');
  if (to !== undefined && to !== '') r.to = parseTime('to', to, nowMs);
  if (r.from !== undefined && r.to !== undefined && r.from > r.to) throw bad('from', 'is after to');
  return r;
}

/** A bucket width like `30s`, `5m`, `1h`, `1d`, `1w` → milliseconds. */
export function parseInterval(param: string, v: string): number {
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(v.trim());
  const n = m === null ? 0 : Number(m[1]);
  if (m === null || n < 1) throw bad(param, `"${v}" is not an interval like 30s, 5m, 1h, 1d or 1w`);
  return n * (UNIT_MS[m[2] ?? 's'] ?? 1000);
}

/** Octets with 1 or 2 digits (macOS prints `0:90:7a:11:ba:aa`), one separator throughout. */
const MAC_OCTETS = /^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(?:\1[0-9a-f]{1,2}){4}$/i;
/** Three quads with `-` (HPE Comware, Huawei: `0090-7a11-baaa`), or two halves (ProCurve: `00907a-11baaa`). */
const MAC_QUADS = /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$|^[0-9a-f]{6}-[0-9a-f]{6}$/i;

/** A MAC typed by a user in any notation → 12 lowercase hex digits, or 400. */
export function parseMacParam(param: string, v: string): string {
  const t = v.trim();
  const n =
    parseMac(t) ??
    (MAC_OCTETS.test(t) ? t.split(/[:-]/).map((o) => o.padStart(2, '0')).join('').toLowerCase() : null) ??
    (MAC_QUADS.test(t) ? t.replace(/-/g, '').toLowerCase() : null);
  if (n === null) throw bad(param, `"${v}" is not a MAC address (e.g. 00:90:7a:11:ba:aa or 00907a11baaa)`);
  return n;
}

function list(v: string, sep: string | RegExp): string[] {
  return v
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `fields`: a comma list of record fields (id and time come anyway). */
export function parseFields(v: string): string[] {
  const names = [...new Set(list(v, ','))];
  if (names.length === 0) throw bad('fields', `is empty (known: ${LOG_FIELDS.join(', ')})`);
  for (const n of names) {
    if (!(LOG_FIELDS as readonly string[]).includes(n)) throw bad('fields', `unknown field ${JSON.stringify(n)} (known: ${LOG_FIELDS.join(', ')})`);
  }
  return names;
}

/**
 * Parse the log filters of DESIGN §4 from a query string, for one of the routes that take them.
 * Unknown parameters (for that route) are a 400; `limit`/`cursor` are read where the route pages.
 */
export function parseLogFilters(
  q: URLSearchParams,
  nowMs: number,
  route: 'logs' | 'logs/count' | 'logs/export' | 'logs/tail' | 'stats' = 'logs',
): LogFilters {
  rejectUnknown(q, route);
  const f: LogFilters = {};
  const mac = one(q, 'mac');
  if (mac !== undefined) {
    f.mac = list(mac, /[,\s]+/).map((m) => parseMacParam('mac', m));
    if (f.mac.length === 0) throw bad('mac', 'is empty');
  }
  const tag = one(q, 'tag');
  if (tag !== undefined) {
    // The handset's filter syntax: exact, case-sensitive tags joined by `|`.
    // Blanks around a `|` are not part of a tag (tags never hold blanks).
    f.tag = list(tag, '|');
    if (f.tag.length === 0) throw bad('tag', 'is empty');
  }
  const tagContains = one(q, 'tag_contains');
  if (tagContains !== undefined && tagContains !== '') f.tag_contains = tagContains;
  const severity = one(q, 'severity');
  if (severity !== undefined) {
    f.severity = [...new Set(list(severity, ',').map((s) => parseSeverity('severity', s)))];
    if (f.severity.length === 0) throw bad('severity', 'is empty');
  }
  const maxSev = one(q, 'max_severity');
  if (maxSev !== undefined) f.max_severity = parseSeverity('max_severity', maxSev);
  const text = parseTextQuery('q', one(q, 'q') ?? '');
  if (text !== '') f.q = text;
  const host = one(q, 'host');
  if (host !== undefined && host !== '') f.host = host;
  const session = one(q, 'session');
  if (session !== undefined && session !== '') f.session = session;
  const cursor = route === 'logs' ? one(q, 'cursor') : undefined;
  // A later page resolves a relative range (`-15m`) against the first page's clock, kept in the
  // cursor: otherwise the window slides while the user pages and its oldest rows are never shown.
  const anchorMs = cursor === undefined || cursor === '' ? nowMs : (decodeCursor(cursor).anchorMs ?? nowMs);
  if (route !== 'logs/tail') Object.assign(f, parseTimeRange(q, anchorMs));
  if (route === 'logs') {
    f.limit = parseLimit(q, 'limit', DEFAULT_LIMIT, MAX_LIMIT);
    if (cursor !== undefined && cursor !== '') f.cursor = cursor;
    if ([one(q, 'from'), one(q, 'to')].some((t) => t !== undefined && isRelativeTime(t))) f.anchor_ms = anchorMs;
    const fields = one(q, 'fields');
    if (fields !== undefined) f.fields = parseFields(fields);
  }
  return f;
}

/**
 * A text search (`q`): trimmed, '' when it has no terms (only blanks or empty quotes), a 400 naming
 * the parameter when it has more terms than one query takes.
 */
export function parseTextQuery(name: string, raw: string): string {
  const text = raw.trim();
  const terms = textTerms(text);
  if (terms.length > MAX_TEXT_TERMS) throw bad(name, `has ${terms.length} words and phrases; at most ${MAX_TEXT_TERMS}`);
  return terms.length === 0 ? '' : text;
}
