// Query-string parsing for the log routes: every parameter validated, every problem a 400 that
// names the parameter. Values reach SQL only as query parameters (store/queries.ts).

import { HandlogError } from '../core/errors.js';
import { SEVERITY_NAMES } from '../core/record.js';
import { parseMac } from '../parsers/mac.js';
import { DEFAULT_LIMIT, MAX_LIMIT, type LogFilters } from '../store/queries.js';

export const FILTER_PARAMS = [
  'mac', 'tag', 'tag_contains', 'severity', 'max_severity', 'q', 'host', 'session', 'from', 'to', 'limit', 'cursor',
] as const;

function bad(param: string, message: string): HandlogError {
  return new HandlogError('BAD_REQUEST', `${param}: ${message}`);
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

/** ISO-8601 or relative to `nowMs` (`-15m`, `-2h`, `-7d`, `now`) → ISO-8601 UTC. */
export function parseTime(param: string, v: string, nowMs: number): string {
  const t = v.trim();
  if (t === 'now') return new Date(nowMs).toISOString();
  const m = RELATIVE.exec(t);
  if (m !== null) return new Date(nowMs - Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000)).toISOString();
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) throw bad(param, `"${v}" is not an ISO-8601 time or a relative time like -15m, -2h, -7d`);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw bad(param, `"${v}" is not a valid time`);
  return new Date(ms).toISOString();
}

function list(v: string, sep: string | RegExp): string[] {
  return v
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Parse the log filters of DESIGN §4 from a query string. */
export function parseLogFilters(q: URLSearchParams, nowMs: number, opts: { paging: boolean } = { paging: true }): LogFilters {
  const f: LogFilters = {};
  const one = (name: string): string | undefined => {
    const all = q.getAll(name);
    if (all.length > 1 && name !== 'mac' && name !== 'tag' && name !== 'severity') throw bad(name, 'given more than once');
    return all.length === 0 ? undefined : all.join(name === 'tag' ? '|' : ',');
  };
  const mac = one('mac');
  if (mac !== undefined) {
    f.mac = list(mac, /[,\s]+/).map((m) => {
      const n = parseMac(m);
      if (n === null) throw bad('mac', `"${m}" is not a MAC address (e.g. 00:90:7a:11:ba:aa or 00907a11baaa)`);
      return n;
    });
    if (f.mac.length === 0) throw bad('mac', 'is empty');
  }
  const tag = one('tag');
  if (tag !== undefined) {
    // The handset's filter syntax: exact, case-sensitive tags joined by `|`.
    f.tag = tag.split('|').filter((t) => t !== '');
    if (f.tag.length === 0) throw bad('tag', 'is empty');
  }
  const tagContains = one('tag_contains');
  if (tagContains !== undefined && tagContains !== '') f.tag_contains = tagContains;
  const severity = one('severity');
  if (severity !== undefined) {
    f.severity = [...new Set(list(severity, ',').map((s) => parseSeverity('severity', s)))];
    if (f.severity.length === 0) throw bad('severity', 'is empty');
  }
  const maxSev = one('max_severity');
  if (maxSev !== undefined) f.max_severity = parseSeverity('max_severity', maxSev);
  const text = one('q');
  if (text !== undefined && text.trim() !== '') f.q = text.trim();
  const host = one('host');
  if (host !== undefined && host !== '') f.host = host;
  const session = one('session');
  if (session !== undefined && session !== '') f.session = session;
  const from = one('from');
  if (from !== undefined && from !== '') f.from = parseTime('from', from, nowMs);
  const to = one('to');
  if (to !== undefined && to !== '') f.to = parseTime('to', to, nowMs);
  if (f.from !== undefined && f.to !== undefined && f.from > f.to) throw bad('from', 'is after to');
  if (opts.paging) {
    const limit = one('limit');
    if (limit !== undefined) {
      if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT)
        throw bad('limit', `"${limit}" is not a whole number between 1 and ${MAX_LIMIT}`);
      f.limit = Number(limit);
    } else f.limit = DEFAULT_LIMIT;
    const cursor = one('cursor');
    if (cursor !== undefined && cursor !== '') f.cursor = cursor;
  }
  for (const key of q.keys()) {
    if (!(FILTER_PARAMS as readonly string[]).includes(key) && key !== 'format' && key !== 'token')
      throw bad(key, `unknown parameter (known: ${FILTER_PARAMS.join(', ')})`);
  }
  return f;
}
