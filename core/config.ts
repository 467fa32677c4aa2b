// `handlog serve` configuration: read once from flags and their HANDLOG_* environment twins,
// validated with every problem listed, then frozen. Units are in the names.

import { HandlogError } from './errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export type TlsClientAuth = 'none' | 'optional' | 'required';

export interface ServeConfig {
  dataDir: string;
  clickhouseUrl: string | null;
  udp: ListenAddress | null;
  tcp: ListenAddress | null;
  tls: ListenAddress | null;
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  tlsCaFile: string | null;
  tlsClientAuth: TlsClientAuth;
  http: ListenAddress;
  tz: string;
  retentionDays: number;
  maxFrameBytes: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  idleTimeoutMs: number;
  tlsHandshakeTimeoutMs: number;
  udpRecvBufferBytes: number;
  walBudgetBytes: number;
  batchMaxRows: number;
  batchMaxAgeMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

type Kind = 'string' | 'address' | 'int' | 'enum';

interface OptionSpec {
  flag: string;
  key: keyof ServeConfig;
  kind: Kind;
  help: string;
  default?: string;
  /** Extra environment names read after HANDLOG_<FLAG> (DESIGN §4: CLICKHOUSE_URL). */
  aliases?: string[];
  values?: readonly string[];
  min?: number;
  max?: number;
  /** `off` is allowed and means "disabled". */
  allowOff?: boolean;
}

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { flag: 'data', key: 'dataDir', kind: 'string', default: './data', help: 'data directory of the embedded store and the write-ahead log' },
  { flag: 'clickhouse-url', key: 'clickhouseUrl', kind: 'string', aliases: ['CLICKHOUSE_URL'], help: 'use a ClickHouse server, e.g. http://user:pass@host:8123/handlog' },
  { flag: 'udp', key: 'udp', kind: 'address', default: '0.0.0.0:5514', allowOff: true, help: 'UDP syslog listener address, or off' },
  { flag: 'tcp', key: 'tcp', kind: 'address', default: '0.0.0.0:5514', allowOff: true, help: 'TCP syslog listener address (octet counting and LF framing), or off' },
  { flag: 'tls', key: 'tls', kind: 'address', default: '0.0.0.0:6514', allowOff: true, help: 'TLS syslog listener address (RFC 5425); on when --tls-cert and --tls-key are given' },
  { flag: 'tls-cert', key: 'tlsCertFile', kind: 'string', help: 'PEM certificate (chain) of the TLS listener' },
  { flag: 'tls-key', key: 'tlsKeyFile', kind: 'string', help: 'PEM private key of the TLS listener' },
  { flag: 'tls-ca', key: 'tlsCaFile', kind: 'string', help: 'PEM CA bundle that client certificates must chain to' },
  { flag: 'tls-client-auth', key: 'tlsClientAuth', kind: 'enum', values: ['none', 'optional', 'required'], default: 'none', help: 'client certificates: none, optional or required' },
  { flag: 'http', key: 'http', kind: 'address', default: '127.0.0.1:8080', help: 'HTTP address of the query API, /healthz and /metrics' },
  { flag: 'tz', key: 'tz', kind: 'string', default: 'UTC', help: 'IANA zone of zone-less syslog timestamps' },
  { flag: 'retention-days', key: 'retentionDays', kind: 'int', default: '30', min: 1, max: 36_500, help: 'days rows are kept, counted from receipt' },
  { flag: 'max-frame-bytes', key: 'maxFrameBytes', kind: 'int', default: '65536', min: 480, max: 16_777_216, help: 'largest syslog message accepted; longer ones are cut and marked' },
  { flag: 'max-connections', key: 'maxConnections', kind: 'int', default: '10000', min: 1, max: 1_000_000, help: 'open TCP+TLS connections at most' },
  { flag: 'max-connections-per-ip', key: 'maxConnectionsPerIp', kind: 'int', default: '64', min: 1, max: 1_000_000, help: 'open TCP+TLS connections per source IP at most' },
  { flag: 'idle-timeout-ms', key: 'idleTimeoutMs', kind: 'int', default: '300000', min: 1000, max: 86_400_000, help: 'close TCP/TLS connections silent this long' },
  { flag: 'tls-handshake-timeout-ms', key: 'tlsHandshakeTimeoutMs', kind: 'int', default: '10000', min: 100, max: 600_000, help: 'abandon TLS handshakes slower than this' },
  { flag: 'udp-recv-buffer-bytes', key: 'udpRecvBufferBytes', kind: 'int', default: '8388608', min: 65_536, max: 1_073_741_824, help: 'UDP socket receive buffer requested from the kernel' },
  { flag: 'wal-budget-bytes', key: 'walBudgetBytes', kind: 'int', default: '1073741824', min: 1_048_576, max: 1_099_511_627_776, help: 'disk the write-ahead log may use before TCP/TLS senders are paused' },
  { flag: 'batch-max-rows', key: 'batchMaxRows', kind: 'int', default: '10000', min: 1, max: 1_000_000, help: 'rows per write-ahead-log segment (one insert); up to 5x while the store is behind' },
  { flag: 'batch-max-age-ms', key: 'batchMaxAgeMs', kind: 'int', default: '200', min: 1, max: 60_000, help: 'age at which a segment is sealed for insert; up to 5x while the store is behind' },
  { flag: 'log-level', key: 'logLevel', kind: 'enum', values: ['debug', 'info', 'warn', 'error'], default: 'info', help: 'structured log level on stderr' },
];

export function envName(flag: string): string {
  return 'HANDLOG_' + flag.toUpperCase().replace(/-/g, '_');
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces). */
export function parseAddress(text: string): ListenAddress | string {
  const t = text.trim();
  let host: string;
  let portText: string;
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0 || t[close + 1] !== ':') return `"${text}" is not [IPv6]:PORT`;
    host = t.slice(1, close);
    portText = t.slice(close + 2);
  } else {
    const colon = t.lastIndexOf(':');
    if (colon < 0) return `"${text}" has no port (expected HOST:PORT)`;
    host = t.slice(0, colon);
    if (host.includes(':')) return `"${text}": write IPv6 addresses in brackets, e.g. [::]:5514`;
    portText = t.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) return `"${text}" has an invalid port`;
  return { host: host === '' ? '0.0.0.0' : host, port: Number(portText) };
}

export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function isValidZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Build the config from parsed flag values (by flag name) and the environment. Flags win over the
 * environment, which wins over defaults. Throws one CONFIG_INVALID error listing every problem.
 */
export function loadServeConfig(
  flags: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): Readonly<ServeConfig> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const o of SERVE_OPTIONS) {
    let raw = flags[o.flag];
    let source = `--${o.flag}`;
    if (raw === undefined) {
      for (const name of [envName(o.flag), ...(o.aliases ?? [])]) {
        if (env[name] !== undefined && env[name] !== '') {
          raw = env[name];
          source = name;
          break;
        }
      }
    }
    if (raw !== undefined) given.add(o.flag);
    raw ??= o.default;
    if (raw === undefined) {
      out[o.key] = null;
      continue;
    }
    switch (o.kind) {
      case 'string':
        if (raw.trim() === '') problems.push(`${source}: must not be empty`);
        out[o.key] = raw;
        break;
      case 'enum':
        if (!(o.values ?? []).includes(raw)) problems.push(`${source}: "${raw}" is not one of ${(o.values ?? []).join(', ')}`);
        out[o.key] = raw;
        break;
      case 'int': {
        const n = Number(raw);
        if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) problems.push(`${source}: "${raw}" is not a whole number`);
        else if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max))
          problems.push(`${source}: ${n} is outside ${o.min ?? '-∞'}…${o.max ?? '∞'}`);
        out[o.key] = n;
        break;
      }
      case 'address': {
        if (o.allowOff === true && raw.trim().toLowerCase() === 'off') {
          out[o.key] = null;
          break;
        }
        const a = parseAddress(raw);
        if (typeof a === 'string') problems.push(`${source}: ${a}`);
        out[o.key] = typeof a === 'string' ? null : a;
        break;
      }
    }
  }
  const cfg = out as unknown as ServeConfig;
  if (!isValidZone(cfg.tz)) problems.push(`--tz: "${cfg.tz}" is not a known IANA time zone`);
  const hasCert = cfg.tlsCertFile !== null;
  const hasKey = cfg.tlsKeyFile !== null;
  if (hasCert !== hasKey) problems.push('--tls-cert and --tls-key must be given together');
  if (!hasCert || !hasKey) {
    if (given.has('tls') && cfg.tls !== null) problems.push('--tls needs --tls-cert and --tls-key');
    cfg.tls = null; // TLS is on only with a certificate and key
  }
  if (cfg.tlsClientAuth !== 'none' && cfg.tlsCaFile === null)
    problems.push(`--tls-client-auth ${cfg.tlsClientAuth} needs --tls-ca (the CA client certificates chain to)`);
  if (cfg.clickhouseUrl !== null && !/^https?:\/\//.test(cfg.clickhouseUrl))
    problems.push(`--clickhouse-url: "${cfg.clickhouseUrl}" must start with http:// or https://`);
  if (problems.length > 0) {
    throw new HandlogError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.freeze(cfg);
}

export function serveHelp(): string {
  const lines = SERVE_OPTIONS.map((o) => {
    const def = o.default === undefined ? '' : ` (default ${o.default})`;
    return `  --${o.flag.padEnd(26)} ${o.help}${def}\n  ${' '.repeat(29)}env ${envName(o.flag)}${(o.aliases ?? []).map((a) => ` or ${a}`).join('')}`;
  });
  return `Usage: handlog serve [options]

Runs the syslog listeners (UDP, TCP, TLS), the ingest pipeline into ClickHouse (embedded by
default, data in --data; a server with --clickhouse-url) and the query API. Every received
message is written to a write-ahead log in --data before it is inserted. SIGHUP reloads TLS
certificates; SIGTERM/SIGINT stop gracefully (stop accepting, flush, close).

Options:
${lines.join('\n')}
  -h, --help                   show this help
`;
}
