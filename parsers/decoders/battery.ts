import { decodeBatteryLevel, decodeBatteryStatus, decodeHttpServerBattery } from '../battery.js';
import type { LogRecord } from '../../core/record.js';
import type { Decoder } from './index.js';

function wrap(fn: (m: string) => ReturnType<typeof decodeBatteryLevel>) {
  return (message: string, _tag: string | null, rec: LogRecord): boolean => {
    const battery = fn(message);
    if (battery === null) return false;
    rec.battery = battery;
    return true;
  };
}

export const batteryDecoders: readonly Decoder[] = [
  { name: 'battery_level', tags: ['battery_level'], decode: wrap(decodeBatteryLevel) },
  { name: 'battery_status', tags: ['battery_status'], decode: wrap(decodeBatteryStatus) },
  { name: 'http_server_battery', tags: ['SlnkHTTPServerUtils'], decode: wrap(decodeHttpServerBattery) },
];
