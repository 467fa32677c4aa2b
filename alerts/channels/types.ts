// Notification channels: stored configuration, validation of API bodies, and the sender contract.

import { randomUUID } from 'node:crypto';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { bad } from '../../query-api/params.js';
import type { AlertEvent } from '../event.js';
import { bool, httpUrl, int, list, object, oneOf, onlyKeys, str, type Json } from '../validate.js';

export const CHANNEL_TYPES = ['webhook', 'slack', 'smtp', 'syslog'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export interface WebhookConfig {
  url: string;
  /** Extra request headers (an Authorization for the receiver, say). */
  headers: Record<string, string>;
}
export interface SlackConfig {
  url: string;
}
export interface SmtpConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). */
  secure: boolean;
  /** STARTTLS: `required` refuses to send in clear, `auto` upgrades when offered, `off` never. */
  starttls: 'auto' | 'required' | 'off';
  user: string;
  pass: string;
  from: string;
  to: string[];
  /** Accept self-signed server certificates. */
  tls_insecure: boolean;
}
export interface SyslogConfig {
  host: string;
  port: number;
  protocol: 'udp' | 'tcp';
  /** Syslog facility number of the forwarded lines (default 16, local0). */
  facility: number;
}

export type ChannelConfig =
  | { type: 'webhook'; config: WebhookConfig }
  | { type: 'slack'; config: SlackConfig }
  | { type: 'smtp'; config: SmtpConfig }
  | { type: 'syslog'; config: SyslogConfig };

export type Channel = { id: string; name: string; enabled: boolean; created_at: string; updated_at: string } & ChannelConfig;

/** Result of one send, after retries. */
export interface SendResult {
  ok: boolean;
  error: string | null;
  attempts: number;
}

/**
 * Sends events through one channel as one delivery (one POST, one e-mail, one connection; at most
 * the type's BATCH_MAX events, usually one); never throws (failures are results).
 */
export type Sender = (events: readonly AlertEvent[], signal?: AbortSignal) => Promise<SendResult>;

/** Shown instead of secrets in API answers; sent back unchanged, it keeps the stored value. */
export const MASK = '********';

const CHANNEL_FIELDS = ['id', 'name', 'enabled', 'type', 'config', 'created_at', 'updated_at', 'status'];

function host(v: unknown, field: string): string {
  const h = str(v, field, { nonEmpty: true, max: 255 }).trim();
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(h)) throw bad(field, `"${h}" is not a host name or IP address`);
  return h;
}

function validateConfig(type: ChannelType, v: unknown, prev: Channel | undefined): ChannelConfig {
  const o = object(v, 'config');
  const prevConfig = prev !== undefined && prev.type === type ? (prev.config as unknown as Json) : undefined;
  switch (type) {
    case 'webhook': {
      onlyKeys(o, ['url', 'headers'], 'config');
      const h = object(o['headers'], 'config.headers', true);
      const headers: Record<string, string> = {};
      for (const [k, val] of Object.entries(h)) {
        if (!/^[A-Za-z0-9-]{1,100}$/.test(k)) throw bad(`config.headers.${k}`, 'is not a header name');
        const prevHeaders = prevConfig?.['headers'] as Record<string, unknown> | undefined;
        const prevValue = prevHeaders?.[k];
        if (val === MASK && typeof prevValue !== 'string') throw maskedWithoutValue(`config.headers.${k}`);
        const value = val === MASK ? (prevValue as string) : str(val, `config.headers.${k}`, { max: 4000 });
        // What node's http client would refuse (CR/LF, other control characters) could never be sent.
        try {
          validateHeaderName(k);
        } catch {
          throw bad(`config.headers.${k}`, 'is not a valid HTTP header name');
        }
        try {
          validateHeaderValue(k, value);
        } catch {
          throw bad(`config.headers.${k}`, 'is not a valid HTTP header value (no CR, LF or other control characters)');
        }
        headers[k] = value;
      }
      return { type, config: { url: urlOrKept(o['url'], 'config.url', prevConfig?.['url']), headers } };
    }
    case 'slack':
      onlyKeys(o, ['url'], 'config');
      return { type, config: { url: urlOrKept(o['url'], 'config.url', prevConfig?.['url']) } };
    case 'smtp': {
      onlyKeys(o, ['host', 'port', 'secure', 'starttls', 'user', 'pass', 'from', 'to', 'tls_insecure'], 'config');
      const to = list(o['to'], 'config.to', /[,;\s]+/, 100);
      if (to.length === 0) throw bad('config.to', 'needs at least one recipient');
      for (const a of to) if (!/^[^@\s]+@[^@\s]+$/.test(a)) throw bad('config.to', `"${a}" is not an e-mail address`);
      const from = str(o['from'], 'config.from', { nonEmpty: true, max: 300 }).trim();
      if (!/@/.test(from)) throw bad('config.from', `"${from}" is not an e-mail address`);
      const secure = bool(o['secure'], 'config.secure', false);
      let pass = str(o['pass'], 'config.pass', { def: '', max: 1000 });
      if (pass === MASK) {
        const kept = prevConfig?.['pass'];
        if (typeof kept !== 'string' || kept === '') throw maskedWithoutValue('config.pass');
        pass = kept;
      }
      const user = str(o['user'], 'config.user', { def: '', max: 300 });
      if (pass !== '' && user === '') throw bad('config.user', 'is required when config.pass is given');
      return {
        type,
        config: {
          host: host(o['host'], 'config.host'),
          port: int(o['port'], 'config.port', 1, 65_535, secure ? 465 : 587),
          secure,
          starttls: oneOf(o['starttls'], 'config.starttls', ['auto', 'required', 'off'] as const, 'auto'),
          user,
          pass,
          from,
          to,
          tls_insecure: bool(o['tls_insecure'], 'config.tls_insecure', false),
        },
      };
    }
    case 'syslog':
      onlyKeys(o, ['host', 'port', 'protocol', 'facility'], 'config');
      return {
        type,
        config: {
          host: host(o['host'], 'config.host'),
          port: int(o['port'], 'config.port', 1, 65_535, 514),
          protocol: oneOf(o['protocol'], 'config.protocol', ['udp', 'tcp'] as const, 'udp'),
          facility: int(o['facility'], 'config.facility', 0, 23, 16),
        },
      };
  }
}

/** A channel from an API body; on PUT the body is merged over the stored one (`config` as a whole). */
export function validateChannel(body: unknown, nowIso: string, prev?: Channel): Channel {
  const input = object(body, 'body');
  onlyKeys(input, CHANNEL_FIELDS, '');
  const o: Json = prev === undefined ? input : { ...prev, ...input };
  const type = oneOf(o['type'], 'type', CHANNEL_TYPES);
  const cfg = validateConfig(type, o['config'], prev);
  return {
    id: prev?.id ?? randomUUID(),
    name: str(o['name'], 'name', { nonEmpty: true, max: 200 }).trim(),
    enabled: bool(o['enabled'], 'enabled', true),
    created_at: prev?.created_at ?? nowIso,
    updated_at: nowIso,
    ...cfg,
  } as Channel;
}

/**
 * A webhook URL as the API shows it: scheme, host and port only. Slack-style URLs carry their secret
 * in the path, others in the query; either way a viewer token must not read it.
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && u.search === '' && u.username === '' ? url : `${u.origin}/${MASK}`;
  } catch {
    return MASK;
  }
}

/** The channel as the API shows it: secrets masked (sent back unchanged, they keep the stored value). */
export function maskChannel(c: Channel): Channel {
  switch (c.type) {
    case 'smtp':
      return c.config.pass === '' ? c : { ...c, config: { ...c.config, pass: MASK } };
    case 'slack':
      return { ...c, config: { url: maskUrl(c.config.url) } };
    case 'webhook': {
      const headers: Record<string, string> = {};
      for (const k of Object.keys(c.config.headers)) headers[k] = MASK;
      return { ...c, config: { url: maskUrl(c.config.url), headers } };
    }
    case 'syslog':
      return c;
  }
}

/** The masked form sent back where nothing is stored to keep (a new channel, a new header). */
function maskedWithoutValue(field: string): ReturnType<typeof bad> {
  return bad(field, `${MASK} stands for a stored secret, and there is none to keep here: send the real value`);
}

/** A URL field of an update: the masked form sent back means "keep the stored URL". */
function urlOrKept(v: unknown, field: string, prevUrl: unknown): string {
  if (typeof prevUrl === 'string' && typeof v === 'string' && v === maskUrl(prevUrl)) return prevUrl;
  return httpUrl(v, field);
}
