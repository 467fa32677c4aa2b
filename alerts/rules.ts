// Alert rules: the stored shape, validation of API bodies (every problem a 400 naming the field),
// and the compiled per-row test the evaluator runs. The filter has the semantics of the log
// filters (query-api/match.ts), so "test this rule" can run the same filter as SQL.

import { randomUUID } from 'node:crypto';
import type { StoredRecord } from '../core/record.js';
import { BATTERY_HEALTH_NAMES } from '../parsers/battery.js';
import { compileFilters, type RowMatcher } from '../query-api/match.js';
import { bad, parseMacParam, parseSeverity, parseTextQuery } from '../query-api/params.js';
import type { LogFilters } from '../store/queries.js';
import { bool, int, isObject, list, object, oneOf, onlyKeys, real, str, type Json } from './validate.js';

/** What a matching row must also show, beyond the filter. `match`: the filter alone. */
export const RULE_KINDS = ['match', 'battery_level_below', 'battery_temperature_above', 'battery_health_in', 'missed_events_jump'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Battery health values worth an alert (DESIGN §2 names). */
export const BAD_HEALTH = ['Overheat', 'Dead', 'Over voltage', 'Cold', 'Unspecified failure'] as const;

export interface RuleFilter {
  /** Severities (0–7), any of; [] = any. */
  severity: number[];
  /** That level and worse; null = none. */
  max_severity: number | null;
  /** Exact, case-sensitive tags, any of; [] = any. */
  tag: string[];
  /** Case-insensitive substring of the tag; '' = none. */
  tag_contains: string;
  /** Normalized MACs; [] = any handset. */
  mac: string[];
  /** Case-insensitive text in the message; '' = none. */
  q: string;
}

export type RuleCondition =
  | { type: 'every' }
  | { type: 'threshold'; count: number; window_s: number; per: 'handset' | 'overall' };

export interface AlertRule {
  id: string;
  name: string;
  enabled: boolean;
  kind: RuleKind;
  /** battery_level_below: percent; battery_temperature_above: °C; missed_events_jump: N; else null. */
  value: number | null;
  /** battery_health_in: health names; else []. */
  health: string[];
  filter: RuleFilter;
  condition: RuleCondition;
  /** One notification per group per cooldown; events in between are folded into the next one. */
  cooldown_s: number;
  /** A group quiet this long gets a resolved notice. */
  resolve_after_s: number;
  /** Events of a new group are collected this long before its first notification. */
  group_wait_ms: number;
  /** Channel ids; [] = every channel. */
  channels: string[];
  created_at: string;
  updated_at: string;
}

export const DEFAULT_RULE_ID = 'default';
export const DEFAULT_COOLDOWN_S = 300;
export const DEFAULT_GROUP_WAIT_MS = 500;
/** Most events a threshold rule can ask for (the evaluator keeps that many times per window). */
export const MAX_THRESHOLD_COUNT = 100_000;

const RULE_FIELDS = ['id', 'name', 'enabled', 'kind', 'value', 'health', 'filter', 'condition', 'cooldown_s', 'resolve_after_s', 'group_wait_ms', 'channels', 'created_at', 'updated_at'];
const FILTER_FIELDS = ['severity', 'max_severity', 'tag', 'tag_contains', 'mac', 'q'];

export function emptyFilter(): RuleFilter {
  return { severity: [], max_severity: null, tag: [], tag_contains: '', mac: [], q: '' };
}

/** "Fatal or Error from any handset": on out of the box, can be disabled. */
export function defaultRule(nowIso: string): AlertRule {
  return {
    id: DEFAULT_RULE_ID,
    name: 'Fatal or Error from any handset',
    enabled: true,
    kind: 'match',
    value: null,
    health: [],
    filter: { ...emptyFilter(), max_severity: 3 },
    condition: { type: 'every' },
    cooldown_s: DEFAULT_COOLDOWN_S,
    resolve_after_s: DEFAULT_COOLDOWN_S,
    group_wait_ms: DEFAULT_GROUP_WAIT_MS,
    channels: [],
    created_at: nowIso,
    updated_at: nowIso,
  };
}

function severityValue(v: unknown, field: string): number {
  if (typeof v === 'number' || typeof v === 'string') return parseSeverity(field, String(v));
  throw bad(field, 'must be a severity (0–7 or a name)');
}

export function validateFilter(v: unknown): RuleFilter {
  const o = object(v, 'filter', true);
  onlyKeys(o, FILTER_FIELDS, 'filter');
  const severity = [...new Set(list(o['severity'], 'filter.severity', ',').map((s) => severityValue(s, 'filter.severity')))].sort();
  const maxSev = o['max_severity'];
  const mac = [...new Set(list(o['mac'], 'filter.mac', /[,\s]+/).map((m) => parseMacParam('filter.mac', m)))];
  return {
    severity,
    max_severity: maxSev === undefined || maxSev === null || maxSev === '' ? null : severityValue(maxSev, 'filter.max_severity'),
    // The handset's filter syntax: exact, case-sensitive tags joined by `|`.
    tag: [...new Set(list(o['tag'], 'filter.tag', '|'))],
    tag_contains: str(o['tag_contains'], 'filter.tag_contains', { def: '', max: 200 }).trim(),
    mac,
    q: parseTextQuery('filter.q', str(o['q'], 'filter.q', { def: '', max: 500 })),
  };
}

function validateCondition(v: unknown): RuleCondition {
  const o = object(v ?? { type: 'every' }, 'condition');
  const type = oneOf(o['type'], 'condition.type', ['every', 'threshold'] as const, 'every');
  if (type === 'every') {
    onlyKeys(o, ['type'], 'condition');
    return { type };
  }
  onlyKeys(o, ['type', 'count', 'window_s', 'per'], 'condition');
  return {
    type,
    count: int(o['count'], 'condition.count', 1, MAX_THRESHOLD_COUNT),
    window_s: int(o['window_s'], 'condition.window_s', 1, 7 * 86_400),
    per: oneOf(o['per'], 'condition.per', ['handset', 'overall'] as const, 'handset'),
  };
}

function validateKindValue(kind: RuleKind, o: Json): { value: number | null; health: string[] } {
  switch (kind) {
    case 'match':
      return { value: null, health: [] };
    case 'battery_level_below':
      return { value: real(o['value'], 'value', 0, 100), health: [] };
    case 'battery_temperature_above':
      return { value: real(o['value'], 'value', -50, 200), health: [] };
    case 'missed_events_jump':
      return { value: int(o['value'], 'value', 1, 4_294_967_295), health: [] };
    case 'battery_health_in': {
      const given = list(o['health'] ?? [...BAD_HEALTH], 'health', ',');
      if (given.length === 0) throw bad('health', 'must name at least one battery health');
      const health = given.map((h) => {
        const name = BATTERY_HEALTH_NAMES.find((n) => n.toLowerCase() === h.toLowerCase());
        if (name === undefined) throw bad('health', `"${h}" is not a battery health (${BATTERY_HEALTH_NAMES.join(', ')})`);
        return name;
      });
      return { value: null, health: [...new Set(health)] };
    }
  }
}

/**
 * A rule from an API body. `prev` is the stored rule on PUT: the body is merged over it, so a
 * partial body (`{"enabled": false}`) changes only what it names; id and created_at never change.
 */
export function validateRule(body: unknown, nowIso: string, prev?: AlertRule): AlertRule {
  const input = object(body, 'body');
  onlyKeys(input, RULE_FIELDS, '');
  const o: Json = prev === undefined ? input : mergeRule(prev, input);
  const kind = oneOf(o['kind'], 'kind', RULE_KINDS, 'match');
  const kv = validateKindValue(kind, o);
  const cooldown = int(o['cooldown_s'], 'cooldown_s', 0, 7 * 86_400, DEFAULT_COOLDOWN_S);
  const channels = [...new Set(list(o['channels'], 'channels', ','))];
  const rule: AlertRule = {
    id: prev?.id ?? randomUUID(),
    name: str(o['name'], 'name', { nonEmpty: true, max: 200 }).trim(),
    enabled: bool(o['enabled'], 'enabled', true),
    kind,
    value: kv.value,
    health: kv.health,
    filter: validateFilter(o['filter']),
    condition: validateCondition(o['condition']),
    cooldown_s: cooldown,
    resolve_after_s: int(o['resolve_after_s'], 'resolve_after_s', 1, 7 * 86_400, Math.max(1, cooldown)),
    group_wait_ms: int(o['group_wait_ms'], 'group_wait_ms', 0, 600_000, DEFAULT_GROUP_WAIT_MS),
    channels,
    created_at: prev?.created_at ?? nowIso,
    updated_at: nowIso,
  };
  if (kind === 'match' && isEmptyFilter(rule.filter)) {
    throw bad('filter', 'a match rule needs at least one filter (severity, max_severity, tag, tag_contains, mac or q)');
  }
  return rule;
}

/**
 * A PUT body over the stored rule: its fields replace the rule's, and so do the fields of `filter`
 * and `condition` — `{"filter": {"mac": […]}}` changes the MAC list and keeps the tags (a field is
 * cleared with [] or ""). A condition of another `type` replaces the condition whole.
 */
function mergeRule(prev: AlertRule, input: Json): Json {
  const o: Json = { ...prev, ...input };
  const f = input['filter'];
  if (isObject(f)) o['filter'] = { ...prev.filter, ...f };
  const c = input['condition'];
  if (isObject(c) && (c['type'] === undefined || c['type'] === prev.condition.type)) o['condition'] = { ...prev.condition, ...c };
  return o;
}

export function isEmptyFilter(f: RuleFilter): boolean {
  return f.severity.length === 0 && f.max_severity === null && f.tag.length === 0 && f.tag_contains === '' && f.mac.length === 0 && f.q === '';
}

/** The rule's filter as log filters (the same semantics in memory and as SQL). */
export function toLogFilters(f: RuleFilter): LogFilters {
  const out: LogFilters = {};
  if (f.severity.length > 0) out.severity = f.severity;
  if (f.max_severity !== null) out.max_severity = f.max_severity;
  if (f.tag.length > 0) out.tag = f.tag;
  if (f.tag_contains !== '') out.tag_contains = f.tag_contains;
  if (f.mac.length > 0) out.mac = f.mac;
  if (f.q !== '') out.q = f.q;
  return out;
}

/**
 * The per-row test of a rule: filter, then its kind. `prevMissed` is the handset's previous
 * cumulative missed_events (null when none was seen), which only missed_events_jump reads.
 */
export type RuleTest = (row: StoredRecord, prevMissed: number | null) => boolean;

/**
 * The filter in the two parts the evaluator applies apart: what depends only on a row's tag and
 * severity (its candidate lists, built once per tag) and the rest (the mac list and the text).
 */
export function splitFilter(f: RuleFilter): { byTagAndSeverity: LogFilters; rest: LogFilters } {
  return {
    byTagAndSeverity: toLogFilters({ ...f, mac: [], q: '' }),
    rest: toLogFilters({ ...emptyFilter(), mac: f.mac, q: f.q }),
  };
}

/**
 * `decided`: 'tag-and-severity' when the caller has already applied the tag list, tag_contains and
 * the severities (the evaluator's candidate lists): only the mac list and the text are tested.
 */
export function compileRule(rule: AlertRule, decided: 'nothing' | 'tag-and-severity' = 'nothing'): RuleTest {
  const filter: RowMatcher = compileFilters(decided === 'nothing' ? toLogFilters(rule.filter) : splitFilter(rule.filter).rest);
  const value = rule.value ?? 0;
  switch (rule.kind) {
    case 'match':
      return (row) => filter(row);
    case 'battery_level_below':
      return (row) => row.battery?.level_pct !== undefined && row.battery.level_pct < value && filter(row);
    case 'battery_temperature_above':
      return (row) => row.battery?.temperature_c !== undefined && row.battery.temperature_c > value && filter(row);
    case 'battery_health_in': {
      const names = new Set(rule.health);
      return (row) => {
        const h = row.battery?.health;
        return h !== undefined && names.has(BATTERY_HEALTH_NAMES[h] ?? '') && filter(row);
      };
    }
    case 'missed_events_jump':
      // The count is cumulative since boot: a lower value is a reboot, not a jump.
      return (row, prev) => row.missed_events !== null && prev !== null && row.missed_events - prev >= value && filter(row);
  }
}
