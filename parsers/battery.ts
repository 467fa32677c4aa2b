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

/** The comma list inside `[...]`, or null when the message is not a bracketed list. */
function bracketList(message: string): string[] | null {
  const open = message.indexOf('[');
  const close = message.lastIndexOf(']');
  if (open < 0 || close < open) return null;
  const parts: string[] = [];
  let start = open + 1;
  for (let i = start; i <= close; i++) {
    const c = message.charCodeAt(i);
    if (c === 44 /* , */ || i === close) {
      parts.push(message.slice(start, i).trim());
      start = i + 1;
    }
  }
  return parts;
}

function intOrNull(s: string | undefined): number | null {
  if (s === undefined || s.length === 0 || s.length > 9) return null;
  let v = 0;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  if (i === s.length) return null;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    v = v * 10 + (c - 48);
  }
  return s.charCodeAt(0) === 45 ? -v : v;
}

export function decodeBatteryLevel(message: string): BatteryInfo | null {
  const parts = bracketList(message);
  if (parts === null || parts.length < 3) return null;
  const level = intOrNull(parts[0]);
  const mv = intOrNull(parts[1]);
  const deci = intOrNull(parts[2]);
  if (level === null || mv === null || deci === null) return null;
  return { level_pct: level, voltage_mv: mv, temperature_c: deci / 10 };
}

export function decodeBatteryStatus(message: string): BatteryInfo | null {
  const parts = bracketList(message);
  if (parts === null || parts.length < 4) return null;
  const status = intOrNull(parts[0]);
  const health = intOrNull(parts[1]);
  const present = intOrNull(parts[2]);
  const plugged = intOrNull(parts[3]);
  if (status === null || health === null || present === null || plugged === null) return null;
  const out: BatteryInfo = {
    status,
    status_name: BATTERY_STATUS_NAMES[status] ?? 'Unknown',
    health,
    health_name: BATTERY_HEALTH_NAMES[health] ?? 'Unknown',
    present: present !== 0,
    plugged,
    plugged_name: BATTERY_PLUGGED_NAMES[plugged] ?? 'Unknown',
  };
  const tech = parts[4];
  if (tech !== undefined && tech !== '') out.technology = tech;
  return out;
}

const PCT = 'Battery percentage:';
const TEMP = 'Battery temperature:';

/** SlnkHTTPServerUtils' human-readable battery lines. */
export function decodeHttpServerBattery(message: string): BatteryInfo | null {
  let i = message.indexOf(PCT);
  if (i >= 0) {
    const v = Number(message.slice(i + PCT.length).trim());
    if (!Number.isFinite(v) || message.slice(i + PCT.length).trim() === '') return null;
    // The guide: the percentage is 0 to 1.0, so 1.0 means 100 %.
    return { level_pct: Math.round(v * 1000) / 10 };
  }
  i = message.indexOf(TEMP);
  if (i >= 0) {
    const rest = message.slice(i + TEMP.length).trim();
    const v = Number(rest);
    if (!Number.isFinite(v) || rest === '') return null;
    return { temperature_c: v };
  }
  return null;
}
