import { describe, expect, it } from 'vitest';
import type { DeviceSummary } from '../store/devices.js';
import { deviceMatches, sortDevices } from './routes/devices.js';

function dev(mac: string, over: Partial<DeviceSummary> = {}): DeviceSummary {
  return {
    mac,
    first_seen: '2026-03-01T00:00:00.000Z',
    last_seen: '2026-03-10T00:00:00.000Z',
    last_received_at: '2026-03-10T00:00:00.000Z',
    messages: 1,
    source_ip: '172.29.4.17',
    host: null,
    tag: 'SipService',
    battery_time: null,
    errors_24h: 0,
    fatal_24h: 0,
    ...over,
  };
}

describe('device list', () => {
  const list = (): DeviceSummary[] => [
    dev('00907a000003', { last_seen: '2026-03-10T03:00:00.000Z', errors_24h: 5, battery: { level_pct: 20 } }),
    dev('00907a000001', { last_seen: '2026-03-10T01:00:00.000Z', errors_24h: 5 }),
    dev('00907a000002', { last_seen: '2026-03-10T02:00:00.000Z', errors_24h: 9, battery: { level_pct: 80 } }),
  ];
  const macs = (d: DeviceSummary[]): string[] => d.map((x) => x.mac.slice(-1));

  it('sorts by each key, either direction, nulls last, ties by MAC', () => {
    expect(macs(sortDevices(list(), 'last_seen', true))).toEqual(['3', '2', '1']);
    expect(macs(sortDevices(list(), 'last_seen', false))).toEqual(['1', '2', '3']);
    expect(macs(sortDevices(list(), 'mac', false))).toEqual(['1', '2', '3']);
    expect(macs(sortDevices(list(), 'mac', true))).toEqual(['3', '2', '1']);
    expect(macs(sortDevices(list(), 'errors_24h', true))).toEqual(['2', '1', '3']);
    expect(macs(sortDevices(list(), 'battery_level_pct', false))).toEqual(['3', '2', '1']);
    expect(macs(sortDevices(list(), 'battery_level_pct', true))).toEqual(['2', '3', '1']);
  });

  it('q matches a MAC in any notation, the IP, host or tag, ignoring case', () => {
    const d = dev('00907a11baaa', { source_ip: '10.1.2.3', host: 'Ward-7', tag: 'SlnkOTA' });
    for (const q of ['BA:AA', '00-90-7a', '7a11.baaa', '10.1.2', 'ward-7', 'slnk']) expect(deviceMatches(d, q), q).toBe(true);
    for (const q of ['ffff', '10.9', 'wifi', ':']) expect(deviceMatches(d, q), q).toBe(false);
  });
});
