import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../core/record.js';
import { autoStepMs, bucketCount, bucketStart } from './buckets.js';
import { CSV_COLUMNS, csvField, csvHeader, csvRow } from './csv.js';
import { parseCsv } from './csv-reader.test-helper.js';


describe('csv', () => {
  it('quotes only when needed and doubles quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(0)).toBe('0');
    expect(csvField(false)).toBe('false');
  });

  it('a row reads back field by field under the header', () => {
    const r: StoredRecord = {
      id: '6f1c1f64-4b7e-4c52-9d6f-1d7f3c1a0001',
      time: '2026-03-10T11:59:58.123Z',
      received_at: '2026-03-10T11:59:58.200Z',
      source_ip: '172.29.4.17',
      transport: 'tcp',
      session: '',
      format: 'pivot',
      facility: 16,
      severity: 3,
      severity_name: 'Error',
      syslog_time: null,
      host: null,
      tag: 'battery_level',
      pid: 2488,
      tid: null,
      mac: '00907a11baaa',
      device_time: '2026-03-10T11:59:58.123Z',
      uptime_ms: null,
      missed_events: 0,
      message: 'level, "quoted"\nnext line',
      battery: { level_pct: 81, voltage_mv: 3986, temperature_c: 25.4 },
      event: { type: 'call', state: 'connected' },
      raw: '<134>… [81,3986,254]',
    };
    const [header, row] = parseCsv(csvHeader() + csvRow(r));
    expect(header).toEqual([...CSV_COLUMNS]);
    const rec = Object.fromEntries((header ?? []).map((h, i) => [h, row?.[i]]));
    expect(rec).toMatchObject({
      id: r.id,
      severity: '3',
      host: '',
      message: r.message,
      battery_level_pct: '81',
      battery_temperature_c: '25.4',
      battery_status: '',
      event: '{"type":"call","state":"connected"}',
      raw: r.raw,
    });
    expect(row).toHaveLength(CSV_COLUMNS.length);
  });
});

describe('buckets', () => {
  it('picks the smallest readable step within the bucket budget', () => {
    expect(autoStepMs(60_000, 1000)).toBe(1000);
    expect(autoStepMs(3_600_000, 200)).toBe(30_000);
    expect(autoStepMs(86_400_000, 1000)).toBe(120_000);
    expect(autoStepMs(30 * 86_400_000, 1000)).toBe(3_600_000);
    expect(autoStepMs(0, 1000)).toBe(1000);
    const huge = 3650 * 86_400_000;
    expect(huge / autoStepMs(huge, 10)).toBeLessThanOrEqual(10);
  });

  it('never exceeds the budget by more than the partial first bucket', () => {
    for (const range of [1, 999, 61_000, 7_200_001, 86_400_000 * 7 + 5]) {
      const step = autoStepMs(range, 200);
      expect(bucketCount(1_000_123, 1_000_123 + range, step)).toBeLessThanOrEqual(201);
    }
  });

  it('aligns buckets to the epoch', () => {
    expect(bucketStart(Date.parse('2026-03-10T11:59:58.123Z'), 3_600_000)).toBe(Date.parse('2026-03-10T11:00:00.000Z'));
    expect(bucketCount(0, 0, 1000)).toBe(0);
    expect(bucketCount(500, 1500, 1000)).toBe(2);
  });
});
