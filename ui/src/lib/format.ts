// Display helpers: times in the browser's zone, MACs in colon notation, severity colours, battery text.

import type { Battery } from './types.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function fmtTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined || iso === '') return '';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 60) return s <= 1 ? 'just now' : `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtMac(mac: string | null | undefined): string {
  if (mac === null || mac === undefined || mac.length !== 12) return mac ?? '';
  return mac.match(/../g)?.join(':') ?? mac;
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** CSS class of a severity level: sev-0 … sev-7, sev-none. */
export function sevClass(level: number | null | undefined): string {
  return level === null || level === undefined ? 'sev-none' : `sev-${level}`;
}

export function batteryText(b: Battery | undefined): string {
  if (b === undefined) return '';
  const parts: string[] = [];
  if (b.level_pct !== undefined) parts.push(`${Math.round(b.level_pct * 10) / 10} %`);
  if (b.voltage_mv !== undefined) parts.push(`${b.voltage_mv} mV`);
  if (b.temperature_c !== undefined) parts.push(`${b.temperature_c} °C`);
  if (b.status_name !== undefined) parts.push(b.status_name);
  if (b.health_name !== undefined && b.health !== 2) parts.push(b.health_name);
  if (b.plugged_name !== undefined) parts.push(b.plugged_name);
  return parts.join(' · ');
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}
