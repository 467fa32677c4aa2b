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

/** A row of /api/logs; a page asked for fewer `fields` has only those (id and time always). */
export interface LogRow {
  id: string;
  time: string;
  received_at?: string;
  syslog_time?: string | null;
  device_time?: string | null;
  format?: string;
  transport?: string;
  source_ip?: string;
  session?: string;
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
  message?: string;
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
  skipped: Record<string, number>;
  bytes_total: number;
  bytes_done: number;
  error: string | null;
  handsets?: { mac: string; count: number; errors: number }[];
  /** GET /api/sessions/:id: the uploads this service process received, with each file's report. */
  uploads?: { id: string; filename: string; state: string; error: string | null; file?: { name: string; duplicateOf?: string | null } | null }[];
}

// Alerts (GET/POST/PUT/DELETE /api/alerts/…)

export type RuleKind = 'match' | 'battery_level_below' | 'battery_temperature_above' | 'battery_health_in' | 'missed_events_jump';

export interface RuleFilter {
  severity: number[];
  max_severity: number | null;
  tag: string[];
  tag_contains: string;
  mac: string[];
  q: string;
}

export type RuleCondition = { type: 'every' } | { type: 'threshold'; count: number; window_s: number; per: 'handset' | 'overall' };

export interface AlertRule {
  id: string;
  name: string;
  enabled: boolean;
  kind: RuleKind;
  value: number | null;
  health: string[];
  filter: RuleFilter;
  condition: RuleCondition;
  cooldown_s: number;
  resolve_after_s: number;
  group_wait_ms: number;
  channels: string[];
  created_at: string;
  updated_at: string;
}

export type ChannelType = 'webhook' | 'slack' | 'smtp' | 'syslog';

export interface ChannelStatus {
  last_ok: string | null;
  last_error: string | null;
  last_error_at: string | null;
  failures: number;
  sent: number;
}

export interface AlertChannel {
  id: string;
  name: string;
  enabled: boolean;
  type: ChannelType;
  config: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  status?: ChannelStatus;
}

export interface Silence {
  id: string;
  rule_id: string | null;
  mac: string | null;
  tag: string | null;
  starts_at: string;
  ends_at: string;
  comment: string;
  created_at: string;
  active?: boolean;
}

export interface ChannelResult {
  channel_id: string;
  type: string;
  ok: boolean;
  error: string | null;
  attempts: number;
  ms: number;
}

export interface AlertEvent {
  id: string;
  incident_id: string;
  rule_id: string;
  rule_name: string;
  mac: string;
  tag: string;
  kind: 'fired' | 'update' | 'resolved' | 'test';
  count: number;
  total_count: number;
  first_time: string;
  last_time: string;
  fired_at: string;
  message: string;
  severity: number | null;
  severity_name: string | null;
  silenced: boolean;
  acknowledged: boolean;
  acknowledged_at: string | null;
  channels: ChannelResult[];
}

export interface RuleTestResult {
  from: string;
  to: string;
  filter_count: number;
  scanned: number;
  truncated: boolean;
  matched: number;
  notifications: Omit<AlertEvent, 'channels' | 'acknowledged' | 'acknowledged_at' | 'silenced'>[];
  notifications_total: number;
  samples: LogRow[];
}
