import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBodyTime } from './body-time.js';
import { parseLine } from './detect.js';
import { normalizeMac, parseMac } from './mac.js';
import { decodeSevField } from './pivot.js';
import { inferYear, toIso } from './time.js';

const at = (iso: string) => ({ receivedAtMs: Date.parse(iso), tz: 'UTC' });

describe('the issue example', () => {
  it('reads the internal form of the guide', () => {
    const rec = parseLine(
      '<135>Oct 25 06:50:09 00907a11baaa SlnkHTTPServerUtils: 1382727009525|SlnkHTTPServerUtils|7|00| <LineUnregistrationEvent>',
      at('2013-10-26T00:00:00Z'),
    );
    expect(rec).toMatchObject({
      mac: '00907a11baaa',
      tag: 'SlnkHTTPServerUtils',
      severity: 7,
      facility: 16,
      missed_events: 0,
      device_time: '2013-10-25T18:50:09.525Z',
      format: 'pivot',
    });
  });
});

describe('year inference', () => {
  it('takes last year for Dec 31 received on Jan 1', () => {
    const rec = parseLine('<13>Dec 31 23:59:59 host app: x', at('2026-01-01T00:00:05Z'));
    expect(rec.syslog_time).toBe('2025-12-31T23:59:59.000Z');
  });
  it('takes next year for Jan 1 received on Dec 31 (sender clock ahead)', () => {
    const rec = parseLine('<13>Jan  1 00:00:01 host app: x', at('2025-12-31T23:59:50Z'));
    expect(rec.syslog_time).toBe('2026-01-01T00:00:01.000Z');
  });
  it('keeps the current year otherwise', () => {
    expect(parseLine('<13>Jun 15 12:00:00 host app: x', at('2026-06-16T00:00:00Z')).syslog_time).toBe(
      '2026-06-15T12:00:00.000Z',
    );
  });
  it('puts Feb 29 in the nearest leap year', () => {
    const ms = inferYear('UTC', Date.parse('2025-03-01T00:00:00Z'), 1, 29, 12, 0, 0, 0);
    expect(toIso(ms)).toBe('2024-02-29T12:00:00.000Z');
  });
  it('applies the zone option to zone-less headers, DST included', () => {
    const ctx = { receivedAtMs: Date.parse('2026-07-01T12:00:00Z'), tz: 'America/Chicago' };
    expect(parseLine('<13>Jul  1 07:00:00 host app: x', ctx).syslog_time).toBe('2026-07-01T12:00:00.000Z');
    const winter = { receivedAtMs: Date.parse('2026-01-15T12:00:00Z'), tz: 'America/Chicago' };
    expect(parseLine('<13>Jan 15 06:00:00 host app: x', winter).syslog_time).toBe('2026-01-15T12:00:00.000Z');
  });
  it('does not apply the zone option to times that carry an offset', () => {
    const ctx = { receivedAtMs: Date.parse('2026-07-01T12:00:00Z'), tz: 'America/Chicago' };
    expect(parseLine('<13>1 2026-07-01T07:00:00-05:00 h a - - - x', ctx).syslog_time).toBe('2026-07-01T12:00:00.000Z');
  });
});

describe('body timestamps', () => {
  const ref = Date.parse('2013-10-29T00:00:00Z');
  const bt = (s: string) => parseBodyTime(s, 0, s.length, 'UTC', ref);
  it('reads epoch milliseconds', () => {
    expect(bt('1382727009525')).toEqual({ kind: 'epoch', ms: 1382727009525 });
  });
  it('reads HHMMSS.mmm since boot', () => {
    expect(bt('011511.006')).toEqual({ kind: 'uptime', ms: (3600 + 15 * 60 + 11) * 1000 + 6 });
    expect(bt('000000.000')).toEqual({ kind: 'uptime', ms: 0 });
  });
  it('reads MMDDHHMMSS.hh as an absolute time with the year inferred', () => {
    const t = bt('1028171642.05');
    expect(t?.kind).toBe('absolute');
    expect(toIso(t?.ms ?? NaN)).toBe('2013-10-28T17:16:42.050Z');
  });
  it('rejects what is none of the three', () => {
    for (const s of ['', 'abc', '12.34.56', '1399999999.99', '016011.000', '123']) expect(bt(s)).toBeNull();
  });
  it('fills uptime_ms or device_time in the record', () => {
    const up = parseLine('<135>Oct 25 06:50:09 1.2.3.4 T[1]: 00907a11baaa|011511.006|T|7|00| x', at('2013-10-26T00:00:00Z'));
    expect(up.uptime_ms).toBe(4511006);
    expect(up.device_time).toBeNull();
    const abs = parseLine('<135>Oct 28 17:16:40 1.2.3.4 T[1]: 00907a11baaa|1028171642.05|T|7|00| x', at('2013-10-29T00:00:00Z'));
    expect(abs.device_time).toBe('2013-10-28T17:16:42.050Z');
    expect(abs.uptime_ms).toBeNull();
  });
});

describe('severity field', () => {
  const sev = (s: string) => decodeSevField(s, 0, s.length);
  it('decodes levels 0–7 and encoded values 128–135 by the formula 16*8+level', () => {
    for (let l = 0; l <= 7; l++) {
      expect(sev(String(l))).toBe(l);
      expect(sev(String(128 + l))).toBe(l);
    }
  });
  it('decodes letters like logcat', () => {
    expect([sev('F'), sev('E'), sev('W'), sev('I'), sev('D'), sev('V')]).toEqual([0, 3, 4, 6, 7, 7]);
  });
  it('rejects anything else', () => {
    for (const s of ['8', '127', '136', '-1', 'X', '', '1340']) expect(sev(s)).toBe(-1);
  });
  it('prefers the body level over the PRI and keeps the facility', () => {
    const rec = parseLine('<134>Oct 25 06:50:09 1.2.3.4 T[1]: 00907a11baaa|1382727009525|T|131|00| x', at('2013-10-26T00:00:00Z'));
    expect(rec).toMatchObject({ facility: 16, severity: 3, severity_name: 'Error' });
  });
  it('takes the Facility.Level column of a server file', () => {
    const rec = parseLine('2013-11-15 15:23:09 Local3.Warning 10.0.0.1 Nov 15 10:23:14 10.0.0.1 app: hi', at('2020-01-01T00:00:00Z'));
    expect(rec).toMatchObject({ facility: 19, severity: 4, syslog_time: '2013-11-15T10:23:14.000Z' });
  });
});

describe('MAC addresses', () => {
  it('normalizes every notation', () => {
    for (const m of ['00907a11baaa', '00907A11BAAA', '00:90:7A:11:BA:AA', '00-90-7a-11-ba-aa', '0090.7a11.baaa']) {
      expect(parseMac(m)).toBe('00907a11baaa');
    }
  });
  it('rejects near misses', () => {
    for (const m of ['00907a11baa', '00907a11baaag', '00:90:7a-11:ba:aa', '0090:7a11:baaa', '00907a11baa:', 'hello world!']) {
      expect(parseMac(m)).toBeNull();
    }
    expect(normalizeMac('x00907a11baaax', 1, 13)).toBe('00907a11baaa');
  });
});

describe('tags', () => {
  it('cleans junk out of a header tag (the guide\'s SipService?[3367])', () => {
    const rec = parseLine('Sep 27 11:04:46 172.29.69.30 SipService\u0000?[3367]: hello', at('2013-09-28T00:00:00Z'));
    expect(rec).toMatchObject({ tag: 'SipService', pid: 3367, message: 'hello' });
  });
  it('takes the body tag over the header tag', () => {
    const rec = parseLine('<134>Sep 27 11:04:46 1.2.3.4 Sip\uFFFDServ[3367]: 00907a117d65|1380279886440|SipService|6|00| x', at('2013-09-28T00:00:00Z'));
    expect(rec.tag).toBe('SipService');
  });
});

describe('line endings (independent of framing)', () => {
  const base = '<134>Oct 25 06:50:09 1.2.3.4 T[1]: 00907a11baaa|1382727009525|T|6|00| done';
  const ctx = at('2013-10-26T00:00:00Z');
  it.each(['\n', '\r\n', '\0', '\r\n\0', '\n\n'])('strips %j', (end) => {
    expect(parseLine(base + end, ctx)).toEqual(parseLine(base, ctx));
    expect(parseLine(Buffer.from(base + end), ctx)).toEqual(parseLine(base, ctx));
  });
});

describe('robustness', () => {
  const ctx = at('2026-03-10T12:00:00Z');
  const valid = [
    '<134>Mar 10 11:59:58 172.29.4.17 SipService[3367]: 00907a11baaa | 1773143998123 | SipService | 134 | 02 | a | b',
    '<165>1 2003-10-11T22:14:15.003Z host evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\\"l\\]"] \uFEFFmsg',
    '2013-11-15 15:23:09 Local0.Debug 172.29.101.149 Nov 15 10:23:14 172.29.101.149 T[3117]: 00907a11bacb| 1384554194760| T |7|00| x',
    '03-10 11:59:58.123  2582  2600 I battery_level: [5,3400,-12]',
    'I/battery_status( 2582): [3,2,1,0,Li-ion]',
  ];
  function checkRecord(rec: ReturnType<typeof parseLine>): void {
    expect(typeof rec.message).toBe('string');
    expect(['pivot', 'rfc3164', 'rfc5424', 'logcat', 'raw']).toContain(rec.format);
    if (rec.format === 'raw') expect(typeof rec.parse_error).toBe('string');
    if (rec.mac !== null) expect(rec.mac).toMatch(/^[0-9a-f]{12}$/);
    if (rec.severity !== null) expect(rec.severity).toBeGreaterThanOrEqual(0);
    if (rec.severity !== null) expect(rec.severity).toBeLessThanOrEqual(7);
    JSON.stringify(rec);
  }
  it('never throws on random bytes and always returns a record', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        checkRecord(parseLine(bytes, ctx));
      }),
      { numRuns: 3000 },
    );
  });
  it('never throws on random strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (s) => {
        checkRecord(parseLine(s, ctx));
      }),
      { numRuns: 3000 },
    );
  });
  it('never throws on truncations and mutations of valid lines', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        fc.nat(),
        fc.string({ maxLength: 3 }),
        (line, cut, pos, insert) => {
          const truncated = line.slice(0, cut % (line.length + 1));
          checkRecord(parseLine(truncated, ctx));
          const p = pos % (line.length + 1);
          checkRecord(parseLine(line.slice(0, p) + insert + line.slice(p), ctx));
        },
      ),
      { numRuns: 5000 },
    );
  });
  it('keeps the original text of what it cannot parse', () => {
    const rec = parseLine('\u0001\u0002 not a log line', ctx);
    expect(rec.format).toBe('raw');
    expect(rec.message).toBe('\u0001\u0002 not a log line');
    expect(rec.parse_error).toMatch(/no syslog header/);
  });
});
