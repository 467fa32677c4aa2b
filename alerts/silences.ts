// Silences: while one matches an alert (by rule, handset and/or tag, until its end time), the alert
// is still recorded but sent to no channel.

import { randomUUID } from 'node:crypto';
import { bad, parseMacParam } from '../query-api/params.js';
import { isoTime, object, onlyKeys, str, type Json } from './validate.js';

export interface Silence {
  id: string;
  /** null = any rule. */
  rule_id: string | null;
  /** null = any handset. */
  mac: string | null;
  /** null = any tag (exact, case-sensitive). */
  tag: string | null;
  starts_at: string;
  ends_at: string;
  comment: string;
  created_at: string;
}

const FIELDS = ['id', 'rule_id', 'mac', 'tag', 'starts_at', 'ends_at', 'comment', 'created_at', 'active'];

function optional(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  return str(v, field, { max: 200 }).trim() || null;
}

/** A silence from an API body (merged over `prev` on PUT). */
export function validateSilence(body: unknown, nowIso: string, prev?: Silence): Silence {
  const input = object(body, 'body');
  onlyKeys(input, FIELDS, '');
  const o: Json = prev === undefined ? input : { ...prev, ...input };
  const macRaw = optional(o['mac'], 'mac');
  const s: Silence = {
    id: prev?.id ?? randomUUID(),
    rule_id: optional(o['rule_id'], 'rule_id'),
    mac: macRaw === null ? null : parseMacParam('mac', macRaw),
    tag: optional(o['tag'], 'tag'),
    starts_at: o['starts_at'] === undefined || o['starts_at'] === null ? nowIso : isoTime(o['starts_at'], 'starts_at'),
    ends_at: isoTime(o['ends_at'], 'ends_at'),
    comment: str(o['comment'], 'comment', { def: '', max: 1000 }),
    created_at: prev?.created_at ?? nowIso,
  };
  if (s.rule_id === null && s.mac === null && s.tag === null) throw bad('rule_id', 'a silence needs at least one of rule_id, mac or tag');
  if (s.ends_at <= s.starts_at) throw bad('ends_at', 'must be after starts_at');
  return s;
}

export function isActive(s: Silence, nowMs: number): boolean {
  return Date.parse(s.starts_at) <= nowMs && nowMs < Date.parse(s.ends_at);
}

/** The first active silence matching the alert, or undefined. */
export function findSilence(
  silences: readonly Silence[],
  alert: { rule_id: string; mac: string; tag: string },
  nowMs: number,
): Silence | undefined {
  return silences.find(
    (s) =>
      isActive(s, nowMs) &&
      (s.rule_id === null || s.rule_id === alert.rule_id) &&
      (s.mac === null || s.mac === alert.mac) &&
      (s.tag === null || s.tag === alert.tag),
  );
}
