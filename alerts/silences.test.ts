import { describe, expect, it } from 'vitest';
import { findSilence, validateSilence } from './silences.js';

const NOW = Date.UTC(2026, 0, 5, 10);
const iso = (ms: number) => new Date(ms).toISOString();

describe('silences', () => {
  const s = (body: Record<string, unknown>) => validateSilence({ ends_at: iso(NOW + 3_600_000), ...body }, iso(NOW));

  it('match by rule, MAC and tag; every given field must match', () => {
    const list = [s({ rule_id: 'r1', mac: '00-90-7A-11-BA-AA' }), s({ tag: 'SipService' })];
    expect(list[0]?.mac).toBe('00907a11baaa');
    expect(findSilence(list, { rule_id: 'r1', mac: '00907a11baaa', tag: 'X' }, NOW)).toBe(list[0]);
    expect(findSilence(list, { rule_id: 'r2', mac: '00907a11baaa', tag: 'X' }, NOW)).toBeUndefined();
    expect(findSilence(list, { rule_id: 'r2', mac: '', tag: 'SipService' }, NOW)).toBe(list[1]);
    expect(findSilence(list, { rule_id: 'r2', mac: '', tag: 'sipservice' }, NOW)).toBeUndefined();
  });

  it('only between starts_at and ends_at', () => {
    const one = [s({ tag: 'A', starts_at: iso(NOW + 1000) })];
    expect(findSilence(one, { rule_id: 'r', mac: '', tag: 'A' }, NOW)).toBeUndefined();
    expect(findSilence(one, { rule_id: 'r', mac: '', tag: 'A' }, NOW + 1000)).toBe(one[0]);
    expect(findSilence(one, { rule_id: 'r', mac: '', tag: 'A' }, NOW + 3_600_000)).toBeUndefined();
  });

  it('rejects silences that match everything or end before they start', () => {
    expect(() => s({})).toThrow(/^rule_id: a silence needs at least one of rule_id, mac or tag/);
    expect(() => s({ tag: 'A', ends_at: iso(NOW - 1) })).toThrow(/^ends_at: must be after starts_at/);
    expect(() => s({ tag: 'A', ends_at: 'tomorrow' })).toThrow(/^ends_at: must be an ISO-8601 time/);
    expect(() => s({ mac: 'xyz' })).toThrow(/^mac: "xyz" is not a MAC/);
  });
});
