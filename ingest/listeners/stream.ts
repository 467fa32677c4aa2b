// What TCP and TLS listeners share once bytes flow: admission against the connection limits, one
// framer per connection, the idle timeout, backpressure (socket.pause()), and closing without ever
// letting a socket error escape. A socket error or reset drops only that connection's partial frame.

import type net from 'node:net';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { DropReason } from '../../core/metrics.js';
import { createFramer, type FramingMode } from '../framing/detect.js';
import { DEFAULT_MAX_FRAME_BYTES, resolveMaxFrameBytes, type Framer } from '../framing/types.js';
import { normalizeIp } from './address.js';
import { ConnectionLimiter, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP } from './limits.js';
import { listenerMetrics, type ListenerMetrics } from './metrics.js';
import type { FrameHandler, ListenerDeps } from './types.js';

export interface StreamListenerOptions {
  maxFrameBytes?: number;
  /** Open connections at most (ignored when a shared limiter is injected). */
  maxConnections?: number;
  /** Open connections per source IP at most (ignored when a shared limiter is injected). */
  maxConnectionsPerIp?: number;
  /** A connection that sends nothing for this long is closed. */
  idleTimeoutMs?: number;
  /** RFC 6587 framing: detected per message by default. */
  framing?: FramingMode;
  /** While paused, how often connections are probed for a reset peer (PAUSED_PROBE_MS by default). */
  pausedProbeMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
/** TCP keepalive finds peers that vanished without a FIN long before the idle timeout would. */
export const KEEPALIVE_MS = 60_000;
/**
 * While paused, each connection is probed this often for a reset peer. A paused socket whose read
 * buffer is full stops reading (readStop), and a reset is only ever noticed by a read or a write: a
 * zero-length write sends nothing but fails with ECONNRESET/EPIPE on a reset socket, which destroys it
 * ('error', 'close'), so its slot is released and its half-read data dropped and counted.
 */
export const PAUSED_PROBE_MS = 1_000;
const EMPTY = Buffer.alloc(0);
/** Rejections and socket errors come in floods: log each kind at most this often. */
const WARN_EVERY_MS = 10_000;

interface Session {
  socket: net.Socket;
  framer: Framer;
  /** The peer finished (FIN) or we closed it: the partial frame was already flushed. */
  settled: boolean;
}

/** Logs a repeated event once per interval with the count of the ones it swallowed. */
class ThrottledLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly logger: Logger) {}
  warn(key: string, msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const seen = this.last.get(key);
    if (seen !== undefined && now - seen.at < WARN_EVERY_MS) {
      seen.suppressed += 1;
      return;
    }
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger.warn(msg, seen !== undefined && seen.suppressed > 0 ? { ...fields, suppressed: seen.suppressed } : fields);
  }
}

export class StreamConnections {
  readonly metrics: ListenerMetrics;
  readonly limiter: ConnectionLimiter;
  private readonly maxFrameBytes: number;
  private readonly idleTimeoutMs: number;
  private readonly framing: FramingMode;
  private readonly onFrame: FrameHandler;
  private readonly now: () => number;
  private readonly throttled: ThrottledLog;
  /** Accepted TCP sockets (for TLS: the raw socket under the TLS socket). */
  private readonly accepted = new Set<net.Socket>();
  /** Sockets that carry syslog bytes (for TLS: after the handshake). */
  private readonly sessions = new Set<Session>();
  private paused = false;
  private closing = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly probeMs: number;

  constructor(
    private readonly transport: 'tcp' | 'tls',
    options: StreamListenerOptions,
    deps: ListenerDeps,
    private readonly logger: Logger,
  ) {
    this.metrics = listenerMetrics(deps.metrics, deps.dropped);
    this.limiter =
      deps.limiter ??
      new ConnectionLimiter({
        maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        maxConnectionsPerIp: options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
      });
    this.maxFrameBytes = resolveMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.probeMs = options.pausedProbeMs ?? PAUSED_PROBE_MS;
    this.framing = options.framing ?? 'auto';
    this.onFrame = deps.onFrame;
    this.now = deps.now ?? Date.now;
    this.throttled = new ThrottledLog(logger);
  }

  get openConnections(): number {
    return this.accepted.size;
  }

  /**
   * Counts a freshly accepted TCP socket against the limits. Over a limit the socket is destroyed at
   * once and the drop counted; returns false then. The slot is released when the socket closes.
   */
  admit(socket: net.Socket): boolean {
    socket.on('error', (e: Error) => this.socketError(e));
    const remote = socket.remoteAddress;
    if (this.closing || remote === undefined) {
      // Closing down, or the peer is already gone (reset before we got to it).
      socket.destroy();
      return false;
    }
    const ip = normalizeIp(remote);
    const verdict = this.limiter.tryAcquire(ip);
    if (verdict !== 'ok') {
      socket.destroy();
      this.metrics.drop(verdict);
      this.throttled.warn(verdict, 'connection refused: limit reached', {
        reason: verdict,
        peer: ip,
        open: this.limiter.total,
        ...this.limiter.limits,
      });
      return false;
    }
    this.accepted.add(socket);
    this.metrics.connections.inc({ transport: this.transport });
    this.metrics.connectionsTotal.inc({ transport: this.transport });
    socket.once('close', () => {
      this.accepted.delete(socket);
      this.limiter.release(ip);
      this.metrics.connections.inc({ transport: this.transport }, -1);
    });
    return true;
  }

  /** Starts reading syslog frames from `socket` (the accepted socket, or the TLS socket over it). */
  serve(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const sourceIp = normalizeIp(socket.remoteAddress ?? '');
    let receivedAtMs = 0;
    const framer = createFramer(
      this.framing,
      (data, info) => {
        if (info.truncated) this.metrics.drop('frame_oversize');
        this.metrics.frames.inc({ transport: this.transport });
        try {
          this.onFrame({
            data,
            sourceIp,
            transport: this.transport,
            receivedAtMs,
            truncated: info.truncated,
            ...(info.incomplete === true ? { incomplete: true } : {}),
          });
        } catch (e: unknown) {
          this.logger.error('frame handler failed', { err: errorMessage(e) });
        }
      },
      {
        maxFrameBytes: this.maxFrameBytes,
        onError: (error, detail) => {
          this.metrics.drop('framing_invalid');
          this.logger.debug('framing error', { error, detail, peer: sourceIp });
        },
      },
    );
    const session: Session = { socket, framer, settled: false };
    this.sessions.add(session);

    if (!this.accepted.has(socket)) socket.on('error', (e: Error) => this.socketError(e));
    socket.on('data', (chunk: Buffer) => {
      this.metrics.received(this.transport, chunk.length);
      receivedAtMs = this.now();
      framer.push(chunk);
    });
    socket.on('end', () => {
      // allowHalfOpen is off: Node ends our side too. An unterminated last LF frame is still a message.
      session.settled = true;
      framer.end();
    });
    socket.on('timeout', () => {
      // A sender that went silent mid-frame will not finish it: what it sent is kept, marked incomplete.
      this.metrics.drop('idle_timeout');
      this.logger.debug('closing idle connection', { peer: sourceIp, idle_ms: this.idleTimeoutMs });
      this.close(session);
    });
    socket.once('close', () => {
      this.sessions.delete(session);
      // Reset or error mid-frame: the partial frame is lost, and counted. On a paused socket that
      // includes the bytes read into its buffer but not yet framed.
      const unread = socket.readableLength > 0;
      if (!session.settled && (framer.discard() || unread)) this.metrics.drop('framing_invalid');
    });
    if (this.paused) socket.pause();
    else socket.setTimeout(this.idleTimeoutMs);
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const s of this.sessions) {
      // A paused sender is silent because of us: its idle clock stops meanwhile.
      s.socket.setTimeout(0);
      s.socket.pause();
    }
    this.probeTimer = setInterval(() => this.probePaused(), this.probeMs);
    this.probeTimer.unref();
  }

  /** Finds peers that reset while paused (see PAUSED_PROBE_MS). */
  private probePaused(): void {
    // The accepted TCP sockets: for TLS the raw socket under the TLS socket, which still owns the
    // TCP handle (an empty write on the TLS socket never reaches the kernel). Zero bytes on the wire.
    for (const socket of this.accepted) {
      if (socket.destroyed || !socket.writable) continue;
      socket.write(EMPTY, () => undefined);
    }
  }

  private stopProbe(): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.stopProbe();
    for (const s of this.sessions) {
      s.socket.setTimeout(this.idleTimeoutMs);
      s.socket.resume();
    }
  }

  /** Accepts connections again (a listener started after a stop). */
  reopen(): void {
    this.closing = false;
  }

  /** Refuses new connections from now on. */
  beginClose(): void {
    this.closing = true;
  }

  /** Stores every connection's partial frame (marked incomplete) and closes every socket. */
  closeAll(): void {
    this.closing = true;
    this.stopProbe();
    for (const s of [...this.sessions]) this.close(s);
    for (const socket of [...this.accepted]) socket.destroy();
  }

  private close(session: Session): void {
    if (!session.settled) {
      // We end the connection, not the peer: a partial frame of either framing is kept, marked incomplete.
      session.settled = true;
      session.framer.abandon();
    }
    session.socket.destroy();
  }

  private socketError(e: Error): void {
    // ECONNRESET, EPIPE, ETIMEDOUT and TLS alerts are the peer's business: note them and move on.
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
    this.logger.debug('connection error', { code, err: e.message });
  }

  /** For callers that count a drop tied to the stream listener (TLS handshake failures). */
  drop(reason: DropReason): void {
    this.metrics.drop(reason);
  }

  warn(key: string, msg: string, fields: Record<string, unknown>): void {
    this.throttled.warn(key, msg, fields);
  }
}
