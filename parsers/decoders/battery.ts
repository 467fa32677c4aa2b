import { decodeBatteryLevel, decodeBatteryStatus, decodeHttpServerBattery } from '../battery.js';
import type { Decoder } from './index.js';

function wrap(fn: (m: string) => ReturnType<typeof decodeBatteryLevel>) {
  return (message: string) => {
    const battery = fn(message);
    return battery === null ? null : { battery };
  };
}

export const batteryDecoders: readonly Decoder[] = [
  { name: 'battery_level', tags: ['battery_level'], decode: wrap(decodeBatteryLevel) },
  { name: 'battery_status', tags: ['battery_status'], decode: wrap(decodeBatteryStatus) },
  { name: 'http_server_battery', tags: ['SlnkHTTPServerUtils'], decode: wrap(decodeHttpServerBattery) },
];
