// Battery events (vendor guide, "Battery and charging related tags"):
//   battery_level  [% charged, voltage in mV, temperature in 1/10 °C]   I/battery_level( 2488): [81,3986,254]
//   battery_status [status, health, present, plugged, technology]      I/battery_status( 2582): [3,2,1,0,Li-ion]
//   SlnkHTTPServerUtils "Battery percentage: 1.0" (a 0–1 fraction) and "Battery temperature: 26.3" (°C)

import type { BatteryInfo } from '../core/record.js';

export const BATTERY_STATUS_NAMES: readonly string[] = [
  'Unknown/no battery', 'Unknown', 'Charging', 'Discharging', 'Not charging', 'Full',
];
export const BATTERY_HEALTH_NAMES: readonly string[] = [
  'Unknown/no battery', 'Unknown', 'Good', 'Overheat', 'Dead', 'Over voltage', 'Unspecified failure', 'Cold',
];
export const BATTERY_PLUGGED_NAMES: readonly string[] = ['Unplugged', 'AC', 'USB'];

// Fields of the bracketed list are read in place (no substrings, no arrays): these run on every
// battery line of a fleet.

/** Integer of s[a, b) trimmed of spaces: optional '-', 1–9 digits; NaN otherwise. */
function intAt(s: string, a: number, b: number): number {
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  const neg = s.charCodeAt(a) === 45;
  const from = neg ? a + 1 : a;
  if (b - a === 0 || b - a > 9 || from === b) return NaN;
  let v = 0;
  for (let i = from; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    v = v * 10 + (c - 48);
  }
  return neg ? -v : v;
}

/** End of the list field starting at `i`: the next comma before `close`, or `close`. */
function fieldEnd(s: string, i: number, close: number): number {
  const comma = s.indexOf(',', i);
  return comma < 0 || comma > close ? close : comma;
}

const ints: number[] = [0, 0, 0, 0];

/**
 * Read `n` integer fields of the `[...]` list into `ints`; returns the index after the last one
 * read (at a comma or the closing bracket), or -1 when the list is missing, short or not numeric.
 */
function readInts(message: string, n: number): { next: number; close: number } | null {
  const open = message.indexOf('[');
  const close = message.lastIndexOf(']');
  if (open < 0 || close < open) return null;
  let i = open + 1;
  for (let k = 0; k < n; k++) {
    if (i > close) return null;
    const e = fieldEnd(message, i, close);
    const v = intAt(message, i, e);
    if (Number.isNaN(v)) return null;
    ints[k] = v;
    i = e + 1;
  }
  return { next: i, close };
}

export function decodeBatteryLevel(message: string): BatteryInfo | null {
  if (readInts(message, 3) === null) return null;
  return { level_pct: ints[0] as number, voltage_mv: ints[1] as number, temperature_c: (ints[2] as number) / 10 };
}

export function decodeBatteryStatus(message: string): BatteryInfo | null {
  const r = readInts(message, 4);
  if (r === null) return null;
  const [status, health, present, plugged] = ints as [number, number, number, number];
  const out: BatteryInfo = {
    status,
    status_name: BATTERY_STATUS_NAMES[status] ?? 'Unknown',
    health,
    health_name: BATTERY_HEALTH_NAMES[health] ?? 'Unknown',
    present: present !== 0,
    plugged,
    plugged_name: BATTERY_PLUGGED_NAMES[plugged] ?? 'Unknown',
  };
  if (r.next <= r.close) {
    const tech = message.slice(r.next, fieldEnd(message, r.next, r.close)).trim();
    if (tech !== '') out.technology = tech;
  }
  return out;
}

const PCT = 'Battery percentage:';
const TEMP = 'Battery temperature:';

const TEMP_VALUE = /^(-?\d+(?:\.\d+)?)\s*(?:°\s*)?C?$/;

/** SlnkHTTPServerUtils' human-readable battery lines. */
export function decodeHttpServerBattery(message: string): BatteryInfo | null {
  let i = message.indexOf(PCT);
  if (i >= 0) {
    const rest = message.slice(i + PCT.length).trim();
    const v = Number(rest);
    if (!Number.isFinite(v) || rest === '' || v < 0 || v > 100) return null;
    // The guide: the percentage is 0 to 1.0, so 1.0 means 100 %. A value above 1 is already a
    // percentage (multiplying it would chart 8700 %).
    return { level_pct: v <= 1 ? Math.round(v * 1000) / 10 : v };
  }
  i = message.indexOf(TEMP);
  if (i >= 0) {
    const m = TEMP_VALUE.exec(message.slice(i + TEMP.length).trim());
    if (m === null) return null;
    return { temperature_c: Number(m[1]) };
  }
  return null;
}
