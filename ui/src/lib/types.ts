// Shapes of the query API (DESIGN §4) as the UI uses them.

export interface Battery {
  level_pct?: number;
  voltage_mv?: number;
  temperature_c?: number;
  status?: number;
  status_name?: string;
  health?: number;
  health_name?: string;
  present?: boolean;
  plugged?: number;
  plugged_name?: string;
  technology?: string;
}

export interface LogRow {
  id: string;
  time: string;
  received_at: string;
  syslog_time?: string | null;
  device_time?: string | null;
  format: string;
  transport: string;
  source_ip: string;
  session: string;
  facility?: number | null;
  severity?: number | null;
  severity_name?: string | null;
  host?: string | null;
  tag?: string | null;
  pid?: number | null;
  tid?: number | null;
  mac?: string | null;
  uptime_ms?: number | null;
  missed_events?: number | null;
  message: string;
  battery?: Battery;
  event?: Record<string, unknown>;
  parse_error?: string | null;
  raw?: string;
}

export interface LogPage {
  rows: LogRow[];
  next_cursor: string | null;
}

export interface StatsBucket {
  t: string;
  total: number;
  severity: Record<string, number>;
}

export interface Stats {
  from: string | null;
  to: string | null;
  interval_ms: number | null;
  total: number;
  buckets: StatsBucket[];
  top_tags: { tag: string; count: number }[];
  top_macs: { mac: string; count: number }[];
}

export interface Device {
  mac: string;
  first_seen: string;
  last_seen: string;
  last_received_at: string;
  messages: number;
  source_ip: string;
  host: string | null;
  tag: string | null;
  battery?: Battery;
  battery_time: string | null;
  errors_24h: number;
  fatal_24h: number;
}

export interface BatteryPoint {
  t: string;
  samples: number;
  level_pct: number | null;
  level_min_pct: number | null;
  level_max_pct: number | null;
  voltage_mv: number | null;
  temperature_c: number | null;
  status: number | null;
  status_name: string | null;
  plugged: number | null;
  plugged_name: string | null;
}

export interface BatterySeries {
  mac: string;
  from: string | null;
  to: string | null;
  interval_ms: number | null;
  points: BatteryPoint[];
}

export interface SessionFile {
  name: string;
  hash: string;
  /** pcap, pcapng or text (+gzip); '' while the file is being imported. */
  format: string;
}

/** GET /api/sessions items; GET /api/sessions/:id adds `handsets`. */
export interface SessionSummary {
  id: string;
  name: string;
  state: 'importing' | 'done' | 'failed' | 'deleted';
  files: SessionFile[];
  created_at: string;
  updated_at: string;
  from: string | null;
  to: string | null;
  lines_read: number;
  stored: number;
  duplicates: number;
  unparsed: number;
  unparsed_reasons: Record<string, number>;
  bytes_total: number;
  bytes_done: number;
  error: string | null;
  handsets?: { mac: string; count: number; errors: number }[];
}
