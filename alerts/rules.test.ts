import { describe, expect, it } from 'vitest';
import { HandlogError } from '../core/errors.js';
import { defaultRule, validateRule } from './rules.js';

const NOW = '2026-01-05T10:00:00.000Z';

function err(body: unknown): string {
  try {
    validateRule(body, NOW);
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(HandlogError);
    expect((e as HandlogError).code).toBe('BAD_REQUEST');
    return (e as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(body)}`);
}

describe('rule validation', () => {
  it('normalizes the filter like the log query parameters', () => {
    const r = validateRule({ name: ' Sip trouble ', filter: { severity: 'Fatal,err,3', tag: 'SipService|SlnkOTA', mac: '00:90:7A:11:BA:AA, 00907a11bbbb', q: ' timeout ' } }, NOW);
    expect(r.name).toBe('Sip trouble');
    expect(r.filter).toEqual({ severity: [0, 3], max_severity: null, tag: ['SipService', 'SlnkOTA'], tag_contains: '', mac: ['00907a11baaa', '00907a11bbbb'], q: 'timeout' });
    expect(r).toMatchObject({ enabled: true, kind: 'match', condition: { type: 'every' }, cooldown_s: 300, resolve_after_s: 300, group_wait_ms: 500, channels: [] });
  });

  it('defaults resolve_after_s to the cooldown and threshold per to handset', () => {
    const r = validateRule({ name: 'x', filter: { tag: ['A'] }, cooldown_s: 60, condition: { type: 'threshold', count: 5, window_s: 60 } }, NOW);
    expect(r.resolve_after_s).toBe(60);
    expect(r.condition).toEqual({ type: 'threshold', count: 5, window_s: 60, per: 'handset' });
  });

  it('battery_health_in defaults to the bad health values and checks names', () => {
    expect(validateRule({ name: 'h', kind: 'battery_health_in' }, NOW).health).toEqual(['Overheat', 'Dead', 'Over voltage', 'Cold', 'Unspecified failure']);
    expect(validateRule({ name: 'h', kind: 'battery_health_in', health: ['overheat'] }, NOW).health).toEqual(['Overheat']);
    expect(err({ name: 'h', kind: 'battery_health_in', health: ['Melting'] })).toMatch(/^health: "Melting" is not a battery health/);
  });

  it('names the field in every 400', () => {
    expect(err({ filter: { tag: 'A' } })).toMatch(/^name: is required/);
    expect(err({ name: 'x' })).toMatch(/^filter: a match rule needs at least one filter/);
    expect(err({ name: 'x', filter: { max_severity: 'Loud' } })).toMatch(/^filter\.max_severity: "Loud" is not a severity/);
    expect(err({ name: 'x', filter: { mac: ['zz'] } })).toMatch(/^filter\.mac: "zz" is not a MAC/);
    expect(err({ name: 'x', filter: { tag: 'A', tags: 'B' } })).toMatch(/^filter\.tags: unknown field/);
    expect(err({ name: 'x', filter: { tag: 'A' }, condition: { type: 'threshold', count: 3 } })).toMatch(/^condition\.window_s: is required/);
    expect(err({ name: 'x', filter: { tag: 'A' }, condition: { type: 'threshold', count: 3, window_s: 5, per: 'fleet' } })).toMatch(/^condition\.per: must be one of handset, overall/);
    expect(err({ name: 'x', kind: 'battery_level_below', value: 120 })).toMatch(/^value: must be a number from 0 to 100/);
    expect(err({ name: 'x', kind: 'missed_events_jump', value: 2.5 })).toMatch(/^value: must be a whole number/);
    expect(err({ name: 'x', kind: 'nope' })).toMatch(/^kind: must be one of match, battery_level_below/);
    expect(err({ name: 'x', filter: { tag: 'A' }, cooldown_s: -1 })).toMatch(/^cooldown_s: /);
    expect(err({ name: 'x', filter: { tag: 'A' }, colldown_s: 5 })).toMatch(/^colldown_s: unknown field/);
    expect(err([1])).toMatch(/^body: must be an object/);
  });

  it('PUT merges over the stored rule; id and created_at stay', () => {
    const prev = defaultRule('2025-01-01T00:00:00.000Z');
    const r = validateRule({ enabled: false }, NOW, prev);
    expect(r).toEqual({ ...prev, enabled: false, updated_at: NOW });
  });
});
