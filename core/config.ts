// `handlog serve` configuration: read once from flags and their HANDLOG_* environment twins,
// validated with every problem listed, then frozen. Units are in the names.

import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { isIPv4 } from 'node:net';
import tls from 'node:tls';
import { HandlogError, errorMessage } from './errors.js';
import { validateChannel } from '../alerts/channels/types.js';
import { parseListenAddress } from '../ingest/listeners/address.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export type TlsClientAuth = 'none' | 'optional' | 'required';

export type ApiRole = 'viewer' | 'admin';

/** One API access token (from --api-tokens or HANDLOG_API_TOKEN_ADMIN / _VIEWER). */
export interface ApiToken {
  token: string;
  role: ApiRole;
  /** For logs and people; never the token itself. */
  name: string;
}

/** Shortest accepted API token. */
export const MIN_TOKEN_LENGTH = 16;

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
  /** File of `TOKEN ROLE [NAME]` lines, or null. */
  apiTokensFile: string | null;
  /** Every configured token (file and environment); empty means the API is open. */
  apiTokens: readonly ApiToken[];
  /** Allow an open API on a non-loopback --http address. */
  insecureNoAuth: boolean;
  /** `--alert-webhook URL`: a webhook channel bound to the default alert rule; null when not given. */
  alertWebhook: string | null;
  /** Largest capture accepted by POST /api/sessions, in MiB. */
  maxUploadMb: number;
}

type Kind = 'string' | 'address' | 'int' | 'enum' | 'boolean';

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
  { flag: 'udp-recv-buffer-bytes', key: 'udpRecvBufferBytes', kind: 'int', default: '33554432', min: 65_536, max: 1_073_741_824, help: 'UDP socket receive buffer requested from the kernel (capped by net.core.rmem_max)' },
  { flag: 'wal-budget-bytes', key: 'walBudgetBytes', kind: 'int', default: '1073741824', min: 1_048_576, max: 1_099_511_627_776, help: 'disk the write-ahead log may use before TCP/TLS senders are paused' },
  { flag: 'batch-max-rows', key: 'batchMaxRows', kind: 'int', default: '10000', min: 1, max: 1_000_000, help: 'rows per write-ahead-log segment (one insert); up to 5x while the store is behind' },
  { flag: 'batch-max-age-ms', key: 'batchMaxAgeMs', kind: 'int', default: '200', min: 1, max: 60_000, help: 'age at which a segment is sealed for insert; up to 5x while the store is behind' },
  { flag: 'log-level', key: 'logLevel', kind: 'enum', values: ['debug', 'info', 'warn', 'error'], default: 'info', help: 'structured log level on stderr' },
  { flag: 'api-tokens', key: 'apiTokensFile', kind: 'string', help: 'file of API tokens, one "TOKEN viewer|admin [NAME]" per line; also HANDLOG_API_TOKEN_ADMIN / HANDLOG_API_TOKEN_VIEWER' },
  { flag: 'alert-webhook', key: 'alertWebhook', kind: 'string', help: 'send alerts of the default rule (Fatal or Error from any handset) to this webhook URL as JSON POSTs' },
  { flag: 'max-upload-mb', key: 'maxUploadMb', kind: 'int', default: '2048', min: 1, max: 1_048_576, help: 'largest capture upload accepted by POST /api/sessions, in MiB' },
  { flag: 'insecure-no-auth', key: 'insecureNoAuth', kind: 'boolean', default: 'false', help: 'allow an API without tokens on a non-loopback --http address' },
];

/** Environment variables holding one token each (handy in containers). */
const SINGLE_TOKEN_ENV: readonly { env: string; role: ApiRole }[] = [
  { env: 'HANDLOG_API_TOKEN_ADMIN', role: 'admin' },
  { env: 'HANDLOG_API_TOKEN_VIEWER', role: 'viewer' },
];

/** 127.0.0.0/8, ::1 and localhost: the only HTTP addresses that may serve an API without tokens. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

/**
 * Parse the text of an --api-tokens file. Lines: `TOKEN ROLE [NAME]`, `#` comments, blank lines.
 * Returns the tokens and the problems, each naming `source` and the line.
 */
export function parseApiTokens(text: string, source: string): { tokens: ApiToken[]; problems: string[] } {
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const lineNo = i + 1;
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const parts = line.split(/\s+/);
    const [token = '', role = '', ...rest] = parts;
    const at = `${source} line ${lineNo}`;
    if (parts.length < 2) {
      problems.push(`${at}: expected "TOKEN ROLE [NAME]"`);
      return;
    }
    let ok = true;
    if (role !== 'viewer' && role !== 'admin') {
      problems.push(`${at}: role "${role}" is not viewer or admin`);
      ok = false;
    }
    if (token.length < MIN_TOKEN_LENGTH) {
      problems.push(`${at}: token is shorter than ${MIN_TOKEN_LENGTH} characters`);
      ok = false;
    }
    const first = seen.get(token);
    if (first !== undefined) {
      problems.push(`${at}: duplicate token (first on line ${first})`);
      ok = false;
    } else seen.set(token, lineNo);
    if (ok) tokens.push({ token, role: role as ApiRole, name: rest.length > 0 ? rest.join(' ') : `${source}:${lineNo}` });
  });
  return { tokens, problems };
}

function parseBoolean(raw: string): boolean | null {
  const t = raw.trim().toLowerCase();
  if (t === '1' || t === 'true' || t === 'yes' || t === 'on') return true;
  if (t === '0' || t === 'false' || t === 'no' || t === 'off' || t === '') return false;
  return null;
}

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
  // Then the listeners' own check (IPv4 octets, IPv6 literals, host names), so a host they would
  // refuse after the store opened is refused here, with every other problem of the configuration.
  try {
    parseListenAddress(text);
  } catch (e: unknown) {
    return e instanceof Error ? e.message : String(e);
  }
  return { host: host === '' ? '0.0.0.0' : host, port: Number(portText) };
}

export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Problems with the TLS certificate, key and CA files, each naming its flag: unreadable, not parsing,
 * or a key that does not belong to the certificate. Files not given are not checked.
 */
export function tlsFileProblems(
  cfg: Pick<ServeConfig, 'tlsCertFile' | 'tlsKeyFile' | 'tlsCaFile'>,
  name: (flag: string) => string = (flag) => `--${flag}`,
): string[] {
  const problems: string[] = [];
  const read = (flag: string, file: string | null, what: string): Buffer | null => {
    if (file === null || file.trim() === '') return null;
    try {
      return fs.readFileSync(file);
    } catch (e: unknown) {
      problems.push(`${name(flag)}: cannot read TLS ${what} ${file}: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
  };
  const parses = (flag: string, file: string, what: string, options: tls.SecureContextOptions): boolean => {
    try {
      tls.createSecureContext(options);
      return true;
    } catch (e: unknown) {
      problems.push(`${name(flag)}: invalid TLS ${what} ${file}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  };
  const cert = read('tls-cert', cfg.tlsCertFile, 'certificate');
  const key = read('tls-key', cfg.tlsKeyFile, 'key');
  const ca = read('tls-ca', cfg.tlsCaFile, 'CA bundle');
  const certOk = cert !== null && parses('tls-cert', cfg.tlsCertFile ?? '', 'certificate', { cert });
  const keyOk = key !== null && parses('tls-key', cfg.tlsKeyFile ?? '', 'key', { key });
  if (certOk && keyOk) {
    try {
      tls.createSecureContext({ cert, key });
    } catch (e: unknown) {
      problems.push(
        `${name('tls-key')}: key ${cfg.tlsKeyFile ?? ''} does not match certificate ${cfg.tlsCertFile ?? ''} (${name('tls-cert')}): ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  if (ca !== null) {
    // createSecureContext skips what is not a certificate in a CA bundle: parse the first one.
    let caOk = true;
    try {
      new X509Certificate(ca);
    } catch (e: unknown) {
      caOk = false;
      problems.push(`${name('tls-ca')}: invalid TLS CA bundle ${cfg.tlsCaFile ?? ''}: no PEM certificate (${e instanceof Error ? e.message : String(e)})`);
    }
    if (caOk) parses('tls-ca', cfg.tlsCaFile ?? '', 'CA bundle', { ca });
  }
  return problems;
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
  // Where each value came from (`--flag` or the environment variable), for the problems below.
  const sources = new Map<string, string>();
  const src = (flag: string): string => sources.get(flag) ?? `--${flag}`;
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
    if (raw !== undefined) {
      given.add(o.flag);
      sources.set(o.flag, source);
    }
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
      case 'boolean': {
        const b = parseBoolean(raw);
        if (b === null) problems.push(`${source}: "${raw}" is not true/false (or 1/0)`);
        out[o.key] = b === true;
        break;
      }
      case 'address': {
        if (o.allowOff === true && raw.trim().toLowerCase() === 'off') {
          out[o.key] = null;
          break;
        }
        const a = parseAddress(raw);
        // A refused address is reported once and left null: no follow-on problems (e.g. the
        // non-loopback --http guard).
        if (typeof a === 'string') problems.push(`${source}: ${a}`);
        out[o.key] = typeof a === 'string' ? null : a;
        break;
      }
    }
  }
  const cfg = out as unknown as ServeConfig;
  if (typeof cfg.dataDir === 'string' && cfg.dataDir.trim() !== '') {
    try {
      if (!fs.statSync(cfg.dataDir).isDirectory()) problems.push(`--data: "${cfg.dataDir}" is not a directory`);
    } catch {
      // Not there yet: created at start.
    }
  }
  if (!isValidZone(cfg.tz)) problems.push(`${src('tz')}: "${cfg.tz}" is not a known IANA time zone`);
  const hasCert = cfg.tlsCertFile !== null;
  const hasKey = cfg.tlsKeyFile !== null;
  // Before anything is opened or bound: the TLS files must be readable and parse (unless --tls off).
  if (cfg.tls !== null) problems.push(...tlsFileProblems(cfg, src));
  if (hasCert !== hasKey) problems.push('--tls-cert and --tls-key must be given together');
  if (!hasCert || !hasKey) {
    if (given.has('tls') && cfg.tls !== null) problems.push('--tls needs --tls-cert and --tls-key');
    cfg.tls = null; // TLS is on only with a certificate and key
  }
  if (cfg.tlsClientAuth !== 'none' && cfg.tlsCaFile === null)
    problems.push(`${src('tls-client-auth')} ${cfg.tlsClientAuth} needs --tls-ca (the CA client certificates chain to)`);
  if (cfg.alertWebhook !== null) {
    // The webhook channel's own check (alerts/channels/types.ts), before the store is opened.
    try {
      validateChannel({ name: 'webhook (--alert-webhook)', type: 'webhook', config: { url: cfg.alertWebhook } }, new Date().toISOString());
    } catch (e: unknown) {
      problems.push(`${src('alert-webhook')}: "${cfg.alertWebhook}" is not a usable webhook URL (${errorMessage(e).replace(/^config\.url: /, '')})`);
    }
  }
  if (cfg.clickhouseUrl !== null && !/^https?:\/\//.test(cfg.clickhouseUrl))
    problems.push(`${src('clickhouse-url')}: "${cfg.clickhouseUrl}" must start with http:// or https://`);
  const apiTokens: ApiToken[] = [];
  if (cfg.apiTokensFile !== null && cfg.apiTokensFile.trim() !== '') {
    let text: string | null = null;
    try {
      text = fs.readFileSync(cfg.apiTokensFile, 'utf8');
    } catch (e: unknown) {
      problems.push(`${src('api-tokens')}: cannot read ${cfg.apiTokensFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (text !== null) {
      const parsed = parseApiTokens(text, cfg.apiTokensFile);
      problems.push(...parsed.problems.map((p) => `${src('api-tokens')}: ${p}`));
      apiTokens.push(...parsed.tokens);
    }
  }
  for (const { env: name, role } of SINGLE_TOKEN_ENV) {
    const token = env[name]?.trim();
    if (token === undefined || token === '') continue;
    if (token.length < MIN_TOKEN_LENGTH) problems.push(`${name}: token is shorter than ${MIN_TOKEN_LENGTH} characters`);
    else if (/\s/.test(token)) problems.push(`${name}: token must not contain whitespace`);
    else if (apiTokens.some((t) => t.token === token)) problems.push(`${name}: duplicate token (also in --api-tokens or another variable)`);
    else apiTokens.push({ token, role, name });
  }
  cfg.apiTokens = Object.freeze(apiTokens.map((t) => Object.freeze(t)));
  const http = cfg.http as ListenAddress | null; // null when --http itself was invalid (reported above)
  if (http !== null && apiTokens.length === 0 && !isLoopbackHost(http.host) && !cfg.insecureNoAuth)
    problems.push(
      `--http ${formatAddress(http)} is not a loopback address and no API tokens are configured: ` +
        'give --api-tokens FILE (or HANDLOG_API_TOKEN_ADMIN / HANDLOG_API_TOKEN_VIEWER), or --insecure-no-auth to serve the API to anyone',
    );
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
