// The in-memory matcher against the semantics of the store's WHERE clause (store/queries.ts):
// missing tag/host/MAC are '' in the store, a missing severity is NULL, text matching ignores case,
// LIKE metacharacters are literal, `from` is inclusive and `to` exclusive. The same cases are
// checked against the real store in test/integration/api.test.ts.

import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../core/record.js';
import type { LogFilters } from '../store/queries.js';
import { compileFilters, matchesFilters } from './match.js';

function row(over: Partial<StoredRecord> = {}): StoredRecord {
  return {
    id: '6f1c1f64-4b7e-4c52-9d6f-1d7f3c1a0001',
    time: '2026-03-10T11:59:58.123Z',
    received_at: '2026-03-10T11:59:58.200Z',
    source_ip: '172.29.4.17',
    transport: 'udp',
    session: '',
    format: 'pivot',
    facility: 16,
    severity: 3,
    severity_name: 'Error',
    syslog_time: '2026-03-10T11:59:58.000Z',
    host: '172.29.4.17',
    tag: 'SipService',
    pid: 3367,
    tid: null,
    mac: '00907a11baaa',
    device_time: '2026-03-10T11:59:58.123Z',
    uptime_ms: null,
    missed_events: 0,
    message: 'Registration FAILED: 408 Request Timeout',
    raw: '<131>…',
    ...over,
  };
}

const cases: [string, LogFilters, Partial<StoredRecord>, boolean][] = [
  ['no filters match everything', {}, {}, true],
  ['no filters match a bare raw row', {}, { mac: null, tag: null, host: null, severity: null, severity_name: null, format: 'raw' }, true],
  ['mac in list', { mac: ['00907a22cccc', '00907a11baaa'] }, {}, true],
  ['mac not in list', { mac: ['00907a22cccc'] }, {}, false],
  ['mac filter never matches a row without MAC', { mac: ['00907a11baaa'] }, { mac: null }, false],
  ['tag exact', { tag: ['SipService'] }, {}, true],
  ['tag is case-sensitive', { tag: ['sipservice'] }, {}, false],
  ['tag list (any of)', { tag: ['SlnkOTA', 'SipService'] }, {}, true],
  ['tag is not a substring match', { tag: ['Sip'] }, {}, false],
  ['tag filter never matches a row without tag', { tag: ['SipService'] }, { tag: null }, false],
  ['tag_contains ignores case', { tag_contains: 'SIPserv' }, {}, true],
  ['tag_contains is a substring', { tag_contains: 'serv' }, {}, true],
  ['tag_contains miss', { tag_contains: 'wifi' }, {}, false],
  ['tag_contains on a row without tag', { tag_contains: 'a' }, { tag: null }, false],
  ['severity set', { severity: [0, 3] }, {}, true],
  ['severity set miss', { severity: [4, 6] }, {}, false],
  ['severity set never matches NULL', { severity: [0, 1, 2, 3, 4, 5, 6, 7] }, { severity: null }, false],
  ['max_severity: same level', { max_severity: 3 }, {}, true],
  ['max_severity: worse level', { max_severity: 3 }, { severity: 0 }, true],
  ['max_severity: milder level', { max_severity: 3 }, { severity: 4 }, false],
  ['max_severity never matches NULL', { max_severity: 7 }, { severity: null }, false],
  ['q ignores case', { q: 'registration failed' }, {}, true],
  ['q is a substring', { q: '408 req' }, {}, true],
  ['q words in any order', { q: 'failed registration' }, {}, true],
  ['q quoted phrase', { q: '"registration failed"' }, {}, true],
  ['q quoted phrase in the wrong order', { q: '"failed registration"' }, {}, false],
  ['q every word must occur', { q: 'registration connected' }, {}, false],
  ['q only empty quotes is no filter', { q: '""' }, {}, true],
  ['q miss', { q: 'connected' }, {}, false],
  ['q non-ASCII ignores case', { q: 'ÜNÏCODE STRASSE' }, { message: 'ünïcode strasse check' }, true],
  ['q % is literal', { q: '50%' }, { message: 'OTA 50% done' }, true],
  ['q % does not match anything', { q: 'OTA%done' }, { message: 'OTA 50% done' }, false],
  ['q _ is literal', { q: 'a_b' }, { message: 'axb' }, false],
  ['q backslash is literal', { q: 'C:\\temp' }, { message: 'path C:\\temp ok' }, true],
  ['q spans a newline', { q: 'first\nsecond' }, { message: 'first\nsecond' }, true],
  ['host exact', { host: '172.29.4.17' }, {}, true],
  ['host is not a substring match', { host: '172.29.4.1' }, {}, false],
  ['host on a row without host', { host: '172.29.4.17' }, { host: null }, false],
  ['session exact', { session: 'capture-1' }, { session: 'capture-1' }, true],
  ['session miss', { session: 'capture-1' }, {}, false],
  ['from is inclusive', { from: '2026-03-10T11:59:58.123Z' }, {}, true],
  ['before from', { from: '2026-03-10T11:59:58.124Z' }, {}, false],
  ['to is exclusive', { to: '2026-03-10T11:59:58.123Z' }, {}, false],
  ['before to', { to: '2026-03-10T11:59:58.124Z' }, {}, true],
  ['every filter at once', { mac: ['00907a11baaa'], tag: ['SipService'], tag_contains: 'sip', severity: [3], max_severity: 4, q: 'failed', host: '172.29.4.17', session: '', from: '2026-03-10T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z' }, {}, true],
  ['all but one filter match', { mac: ['00907a11baaa'], tag: ['SipService'], severity: [3], q: 'connected' }, {}, false],
  ['empty lists and strings are no filter', { mac: [], tag: [], severity: [], tag_contains: '', q: '', host: '', session: '' }, {}, true],
  ['limit and cursor are ignored', { limit: 1, cursor: 'anything' }, {}, true],
];

describe('matchesFilters', () => {
  it.each(cases)('%s', (_name, f, over, want) => {
    expect(matchesFilters(row(over), f)).toBe(want);
    expect(compileFilters(f)(row(over))).toBe(want);
  });

  it('a compiled matcher can be reused across rows', () => {
    const m = compileFilters({ max_severity: 3, q: 'fail' });
    expect([0, 3, 4, 7].map((s) => m(row({ severity: s })))).toEqual([true, true, false, false]);
  });
});

describe('text search (q) without lower-casing every message', () => {
  it('decides as lower-casing the message would, special characters included', () => {
    const alphabet = ['a', 'B', 'k', 'K', 'i', 'I', '\u0130', '\u212a', 'ß', 'Σ', 'ς', '.', '*', '(', ' ', '0', 'é', 'É'];
    let seed = 7;
    const pick = () => alphabet[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % alphabet.length] as string;
    const word = (n: number) => Array.from({ length: n }, pick).join('');
    for (let i = 0; i < 3000; i++) {
      const message = word(1 + (i % 9));
      const q = i % 5 === 0 ? `${word(1 + (i % 3))} ${word(1 + (i % 2))}` : word(1 + (i % 4));
      const expected = q.split(' ').filter((n) => n !== '').every((n) => message.toLowerCase().includes(n.toLowerCase()));
      expect(matchesFilters(row({ message }), { q }), `q ${JSON.stringify(q)} in ${JSON.stringify(message)}`).toBe(expected);
    }
  });

  it('finds ASCII words in any case, also through the Kelvin sign and the dotted capital I', () => {
    expect(matchesFilters(row({ message: 'Response Code:404 from x' }), { q: 'response code:404' })).toBe(true);
    expect(matchesFilters(row({ message: 'Response Code:404 from x' }), { q: '"code:404 from" RESPONSE' })).toBe(true);
    expect(matchesFilters(row({ message: 'Response Code:500' }), { q: 'code:404' })).toBe(false);
    expect(matchesFilters(row({ message: '5 \u212aB left' }), { q: 'kb' })).toBe(true);
    expect(matchesFilters(row({ message: 'F\u0130LE' }), { q: 'fi' })).toBe(true);
    expect(matchesFilters(row({ message: 'a.c' }), { q: 'a.c' })).toBe(true);
    expect(matchesFilters(row({ message: 'abc' }), { q: 'a.c' })).toBe(false);
  });
});
