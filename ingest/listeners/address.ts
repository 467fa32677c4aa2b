// Listen addresses: `0.0.0.0:5514`, `127.0.0.1:0`, `[::1]:5514`, `[::]:5514`, `:5514` (all IPv4
// interfaces) or `localhost:5514`. Bad input fails at start-up with a message that says what to write.

import net from 'node:net';
import { HandlogError } from '../../core/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ParsedListenAddress extends ListenAddress {
  /** 4 or 6 for IP literals; 0 for a host name, resolved when the socket binds. */
  family: 4 | 6 | 0;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const EXAMPLES = 'e.g. 0.0.0.0:5514, 127.0.0.1:5514, [::]:5514 or [::1]:5514';

function invalid(input: string, why: string): HandlogError {
  return new HandlogError('CONFIG_INVALID', `listen address ${JSON.stringify(input)}: ${why} (${EXAMPLES})`);
}

function parsePort(input: string, text: string): number {
  if (text === '') throw invalid(input, 'the port is missing after ":"');
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) throw invalid(input, `port "${text}" is not a number from 0 to 65535`);
  return Number(text);
}

function parseHost(input: string, host: string): ParsedListenAddress['family'] {
  if (net.isIPv4(host)) return 4;
  if (/^[\d.]+$/.test(host)) throw invalid(input, `"${host}" is not a valid IPv4 address`);
  if (HOSTNAME.test(host)) return 0;
  throw invalid(input, `"${host}" is not an IP address or host name`);
}

/** Parses `HOST:PORT` or `[IPv6]:PORT`; throws a CONFIG_INVALID HandlogError saying what is wrong. */
export function parseListenAddress(input: string): ParsedListenAddress {
  const text = input.trim();
  if (text === '') throw invalid(input, 'it is empty');
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw invalid(input, 'missing "]" after the IPv6 address');
    const host = text.slice(1, close);
    if (!net.isIPv6(host)) throw invalid(input, `"${host}" is not a valid IPv6 address`);
    if (text[close + 1] !== ':') throw invalid(input, 'expected ":PORT" after "]"');
    return { host, port: parsePort(input, text.slice(close + 2)), family: 6 };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw invalid(input, 'the port is missing (expected HOST:PORT)');
  const host = text.slice(0, colon);
  if (host.includes(':')) {
    throw invalid(input, net.isIPv6(host) || net.isIPv6(text) ? 'write IPv6 addresses in brackets' : 'too many ":"');
  }
  const port = parsePort(input, text.slice(colon + 1));
  if (host === '') return { host: '0.0.0.0', port, family: 4 };
  return { host, port, family: parseHost(input, host) };
}

/** Accepts a string or an already parsed `{ host, port }` (as core/config.ts produces). */
export function toListenAddress(address: string | ListenAddress): ParsedListenAddress {
  if (typeof address === 'string') return parseListenAddress(address);
  return parseListenAddress(formatListenAddress(address));
}

export function formatListenAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`: dual-stack sockets report IPv4 peers in IPv4-mapped form. */
export function normalizeIp(ip: string): string {
  if (ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && net.isIPv4(ip.slice(7))) return ip.slice(7);
  return ip;
}
