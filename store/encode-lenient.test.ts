// A row whose time cannot be stored keeps every time that can: a handset body time in year 5138
// must not take the header's syslog_time with it.

import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../core/record.js';
import { parseLine } from '../parsers/detect.js';
import { encodeLogRowLenient, encodeLogRowTsv } from './encode.js';

function row(line: string): StoredRecord {
  const rec = parseLine(line, { receivedAtMs: Date.parse('2026-12-02T15:00:00Z'), tz: 'UTC' }) as StoredRecord;
  rec.id = '0f0e0d0c-0b0a-4908-8706-050403020100';
  rec.received_at = '2026-12-02T15:00:00.000Z';
  rec.time = rec.device_time ?? rec.syslog_time ?? rec.received_at;
  rec.source_ip = '127.0.0.1';
  rec.transport = 'udp';
  rec.session = '';
  rec.raw = line;
  return rec;
}

describe('encodeLogRowLenient', () => {
  it('drops only the time that cannot be stored, and time falls back to the next one', () => {
    const r = row('<134>Sep 27 11:05:00 172.29.69.30 SipService[3367]: 00907a117d65|99999999999999|SipService|6|00| far future');
    expect(r.device_time).toBe('5138-11-16T09:46:39.999Z');
    const out = encodeLogRowLenient(r, encodeLogRowTsv);
    expect(out.line).not.toBeNull();
    expect(r.syslog_time).toBe('2026-09-27T11:05:00.000Z');
    expect(r.device_time).toBeNull();
    expect(r.time).toBe('2026-09-27T11:05:00.000Z');
    expect(r.parse_error).toBe('device_time "5138-11-16T09:46:39.999Z" not storable (1900-2299), dropped');
  });
  it('falls back to the receive time when the header time is the one out of range', () => {
    const r = row('<13>1 9999-12-31T23:59:59Z h a - - - year 9999');
    const out = encodeLogRowLenient(r, encodeLogRowTsv);
    expect(out.line).not.toBeNull();
    expect(r.syslog_time).toBeNull();
    expect(r.time).toBe('2026-12-02T15:00:00.000Z');
    expect(r.parse_error).toBe('syslog_time "9999-12-31T23:59:59.000Z" not storable (1900-2299), dropped');
  });
});

describe('numbers out of the column range', () => {
  it.each([
    ['<134>Dec  2 08:00:00 172.29.69.30 SipService[3367]: 00907a11dead|1764687600000|SipService|6|99999999999| huge missed', 'missed_events'],
    ['<134>Dec  2 08:00:00 172.29.69.30 SipService[9999999999]: 00907a11dead|1764687600000|SipService|6|00| huge pid', 'pid'],
    ['12-02 08:00:00.000  9999999999  9999999999 I Tag: logcat huge pid', 'pid'],
    ['<13>1 2026-12-02T15:00:00Z h a 9999999999 - - 5424 huge pid', 'pid'],
  ])('%s is stored, not dropped as unstorable', (line, field) => {
    const r = row(line);
    const out = encodeLogRowLenient(r, encodeLogRowTsv);
    expect(out.line).not.toBeNull();
    expect((r as unknown as Record<string, unknown>)[field]).toBeNull();
    expect(r.message).toMatch(/huge/);
  });
  it('nulls an out-of-range number a parser let through, and says so', () => {
    const r = row('<13>Dec  2 08:00:00 host app: x');
    r.missed_events = 2 ** 40;
    const out = encodeLogRowLenient(r, encodeLogRowTsv);
    expect(out.line).not.toBeNull();
    expect(r.missed_events).toBeNull();
    expect(r.syslog_time).toBe('2026-12-02T08:00:00.000Z');
    expect(r.parse_error).toBe('missed_events 1099511627776 not storable, dropped');
  });
});

describe('battery values out of the column range', () => {
  it('drop the value, not the row', () => {
    const r = row('I/battery_status( 2582): [300,-1,1,0,Li-ion]');
    expect(r.battery?.status).toBe(300);
    const out = encodeLogRowLenient(r, encodeLogRowTsv);
    expect(out.line).not.toBeNull();
    expect(r.battery).toEqual({ present: true, plugged: 0, plugged_name: 'Unplugged', technology: 'Li-ion' });
    expect(r.parse_error).toBe('battery.status 300 not storable, dropped; battery.health -1 not storable, dropped');
  });
});
