// CSV rows of the log export (RFC 4180: comma separated, CRLF line ends, a field quoted when it
// holds a comma, a quote, CR or LF, quotes doubled). Values are written as stored: no formula
// escaping, so the file is the data; open it in a spreadsheet with that in mind.

import type { StoredRecord } from '../core/record.js';

type Cell = string | number | boolean | null | undefined;

export const CSV_COLUMNS = [
  'id', 'time', 'received_at', 'source_ip', 'transport', 'session', 'format', 'facility', 'severity', 'severity_name',
  'syslog_time', 'host', 'tag', 'pid', 'tid', 'mac', 'device_time', 'uptime_ms', 'missed_events', 'message',
  'battery_level_pct', 'battery_voltage_mv', 'battery_temperature_c', 'battery_status', 'battery_status_name',
  'battery_health', 'battery_health_name', 'battery_present', 'battery_plugged', 'battery_plugged_name',
  'battery_technology', 'event', 'parse_error', 'raw',
] as const;

export function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\r\n';
}

export function csvRow(r: StoredRecord): string {
  const b = r.battery;
  const cells: Cell[] = [
    r.id, r.time, r.received_at, r.source_ip, r.transport, r.session, r.format, r.facility, r.severity, r.severity_name,
    r.syslog_time, r.host, r.tag, r.pid, r.tid, r.mac, r.device_time, r.uptime_ms, r.missed_events, r.message,
    b?.level_pct, b?.voltage_mv, b?.temperature_c, b?.status, b?.status_name,
    b?.health, b?.health_name, b?.present, b?.plugged, b?.plugged_name,
    b?.technology, r.event === undefined ? null : JSON.stringify(r.event), r.parse_error, r.raw,
  ];
  return cells.map(csvField).join(',') + '\r\n';
}
