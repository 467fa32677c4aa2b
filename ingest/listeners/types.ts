// What every listener hands to the pipeline, and what every listener factory takes and returns.

import type { Logger } from '../../core/logger.js';
import type { Counter, Registry } from '../../core/metrics.js';
import type { ConnectionLimiter } from './limits.js';

export type ListenerTransport = 'udp' | 'tcp' | 'tls';

/** One syslog message as received: a UDP datagram, or one RFC 6587 frame of a TCP/TLS stream. */
export interface Frame {
  data: Buffer;
  /** The peer's IP; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is given as plain IPv4. */
  sourceIp: string;
  transport: ListenerTransport;
  receivedAtMs: number;
  /** The message was longer than maxFrameBytes and was cut to it. */
  truncated: boolean;
  /** The connection ended before the message did: these are the bytes received of it. */
  incomplete?: boolean;
}

export type FrameHandler = (frame: Frame) => void;

export interface ListenerDeps {
  onFrame: FrameHandler;
  metrics: Registry;
  logger: Logger;
  /**
   * The service-wide `handlog_dropped_total{reason}` counter when another module already created it on
   * `metrics` (a registry renders every family it was given, so it must exist once).
   */
  dropped?: Counter;
  /** Shared by the TCP and TLS listeners when their connection limits are one budget. */
  limiter?: ConnectionLimiter;
  /** Clock for `receivedAtMs`; Date.now by default. */
  now?: () => number;
}

export interface BoundAddress {
  /** As the socket reports it: `127.0.0.1`, `::1`, `::` (no brackets). */
  address: string;
  port: number;
}

export interface Listener {
  start(): Promise<BoundAddress>;
  /** Stops accepting, flushes unterminated LF frames of open connections, closes them. */
  stop(): Promise<void>;
  /** Backpressure: stop reading every open stream connection (a no-op for UDP, which cannot be paused). */
  pause(): void;
  resume(): void;
}
