// Replay: re-send captured messages to a syslog server with their original timing divided by a speed
// factor. The schedule is absolute (message i is due at start + (max(t_0…t_i) − t_0) / speed), so timer
// lateness never accumulates, and a message older than one before it (log files are not always in
// time order) goes right after its predecessor, never with a negative wait, without shifting the
// messages after it. A message sent late (a busy machine did not run the process in time) does not
// make the next gap short to catch up at once: a gap is never shortened by more than CATCH_UP of its
// length, so one late send shows as one long gap, not a long one and a short one, and the schedule is
// caught up over the following gaps. The last couple of milliseconds before a due time are waited out with
// setImmediate rather than setTimeout, whose granularity is about a millisecond (and which wakes late
// on a busy machine: the process stays runnable through the last few milliseconds instead).

import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { HandlogError, errorMessage } from '../core/errors.js';

export interface ReplayMessage {
  raw: string;
  /** Original time (epoch ms): packet time for captures, event time for log lines and sessions. */
  tMs: number;
}

/** Earliest to latest time of the messages, in ms (whatever their order). */
export function timeSpanMs(messages: readonly ReplayMessage[]): number {
  if (messages.length === 0) return 0;
  let min = Infinity;
  let max = -Infinity;
  for (const m of messages) {
    if (m.tMs < min) min = m.tMs;
    if (m.tMs > max) max = m.tMs;
  }
  return max - min;
}

/** How long the replay takes at speed 1, in ms: from the first message's time to the latest time. */
export function scheduleMs(messages: readonly ReplayMessage[]): number {
  const t0 = messages[0]?.tMs;
  if (t0 === undefined) return 0;
  let max = t0;
  for (const m of messages) if (m.tMs > max) max = m.tMs;
  return max - t0;
}

export interface ReplayTarget {
  protocol: 'udp' | 'tcp' | 'tls';
  host: string;
  port: number;
}

export interface ReplayOptions {
  target: ReplayTarget;
  /** Original inter-arrival times are divided by this; 0 sends as fast as possible. */
  speed: number;
  /** TCP/TLS framing: RFC 6587 octet counting (default) or LF-terminated. */
  framing?: 'octet-counting' | 'lf';
  ca?: string;
  /** Client certificate and key (PEM files) for a TLS target that asks for one (mutual TLS). */
  cert?: string;
  key?: string;
  insecure?: boolean;
  onProgress?: (sent: number, total: number, elapsedMs: number) => void;
}

export interface ReplayResult {
  sent: number;
  failed: number;
  elapsedMs: number;
  /** The last send error (UDP keeps going after one), or null. */
  lastError: string | null;
}

export function parseTarget(url: string): ReplayTarget {
  const m = /^(udp|tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})\/?$/.exec(url.trim());
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65_535) {
    throw new HandlogError('BAD_ARGUMENT', `--to: "${url}" is not udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT`);
  }
  return { protocol: m[1] as ReplayTarget['protocol'], host: (m[2] as string).replace(/^\[|\]$/g, ''), port };
}

interface Sender {
  send(frame: Buffer): Promise<void> | void;
  close(): Promise<void>;
}

async function openSender(opts: ReplayOptions): Promise<Sender> {
  const { target } = opts;
  if (target.protocol === 'udp') {
    const sock = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(target.port, target.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    let error: Error | null = null;
    sock.on('error', (e) => {
      error = e;
    });
    return {
      send: (frame) =>
        new Promise<void>((resolve, reject) => {
          if (error !== null) return reject(error);
          sock.send(frame, (e) => (e ? reject(e) : resolve()));
        }),
      close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
    };
  }
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const onError = (e: Error) => reject(new HandlogError('BAD_ARGUMENT', `cannot connect to ${target.protocol}://${target.host}:${target.port}: ${e.message}`));
    if (target.protocol === 'tcp') {
      const s = net.connect({ host: target.host, port: target.port }, () => {
        s.off('error', onError);
        resolve(s);
      });
      s.once('error', onError);
    } else {
      const s = tls.connect(
        {
          host: target.host,
          port: target.port,
          servername: net.isIP(target.host) === 0 ? target.host : undefined,
          ...(opts.ca === undefined ? {} : { ca: fs.readFileSync(opts.ca) }),
          ...(opts.cert === undefined ? {} : { cert: fs.readFileSync(opts.cert) }),
          ...(opts.key === undefined ? {} : { key: fs.readFileSync(opts.key) }),
          rejectUnauthorized: opts.insecure !== true,
          minVersion: 'TLSv1.2',
        },
        () => {
          s.off('error', onError);
          resolve(s);
        },
      );
      s.once('error', onError);
    }
  });
  socket.setNoDelay(true);
  let error: Error | null = null;
  socket.on('error', (e) => {
    error = e;
  });
  return {
    async send(frame) {
      if (error !== null) throw error;
      if (!socket.write(frame)) await new Promise((r) => socket.once('drain', r));
    },
    // Written is not accepted: a TLS 1.3 server refuses a client (no or a bad client certificate)
    // only after the handshake, while the first frames are already on their way. So the end waits
    // for the target to close its side (or CLOSE_WAIT_MS) and rejects with what went wrong.
    close: () =>
      new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          if (error !== null) reject(error);
          else resolve();
        };
        const timer = setTimeout(() => {
          socket.destroy();
          done();
        }, CLOSE_WAIT_MS);
        if (socket.destroyed) return done();
        socket.once('close', done);
        socket.end();
      }),
  };
}

/** How long the end of a TCP/TLS replay waits for the target to close its side. */
const CLOSE_WAIT_MS = 5000;

function frameOf(raw: string, opts: ReplayOptions): Buffer {
  const body = Buffer.from(raw, 'utf8');
  if (opts.target.protocol === 'udp') return body;
  if (opts.framing === 'lf') return Buffer.concat([body, Buffer.from('\n')]);
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

const immediate = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until performance.now() reaches `due`. */
async function waitUntil(due: number): Promise<void> {
  for (;;) {
    const left = due - performance.now();
    if (left <= 0) return;
    if (left > 8) await sleep(left - 6);
    else await immediate();
  }
}

/** The most a gap is shortened to catch up with the schedule after a late send. */
const CATCH_UP = 0.05;

export async function replay(messages: readonly ReplayMessage[], opts: ReplayOptions): Promise<ReplayResult> {
  if (!(opts.speed >= 0) || !Number.isFinite(opts.speed)) throw new HandlogError('BAD_ARGUMENT', `--speed: ${opts.speed} is not a number ≥ 0`);
  const sender = await openSender(opts);
  const total = messages.length;
  const t0 = messages[0]?.tMs ?? 0;
  // The latest original time so far: a message older than it is due at once.
  let tMax = t0;
  // The schedule starts when the first message has gone out: a slow first send (socket set-up,
  // a cold code path) must not squeeze the gap to the second one.
  let start = performance.now();
  let lastSentAt = start;
  let sent = 0;
  let failed = 0;
  let lastError: string | null = null;
  try {
    for (let i = 0; i < total; i++) {
      const m = messages[i] as ReplayMessage;
      const gap = m.tMs > tMax ? (m.tMs - tMax) / (opts.speed || 1) : 0;
      if (m.tMs > tMax) tMax = m.tMs;
      if (opts.speed > 0) await waitUntil(Math.max(start + (tMax - t0) / opts.speed, lastSentAt + gap * (1 - CATCH_UP)));
      else if (i % 1000 === 999) await immediate();
      try {
        await sender.send(frameOf(m.raw, opts));
        lastSentAt = performance.now();
        if (i === 0) start = lastSentAt;
        sent++;
      } catch (e: unknown) {
        failed++;
        lastError = errorMessage(e);
        if (opts.target.protocol !== 'udp') throw new HandlogError('TARGET_FAILED', `connection to the target lost after ${sent} messages: ${lastError}`);
      }
      opts.onProgress?.(sent, total, performance.now() - start);
    }
  } catch (e: unknown) {
    await sender.close().catch(() => undefined);
    throw e;
  }
  const elapsedMs = performance.now() - start;
  try {
    await sender.close();
  } catch (e: unknown) {
    // Over TCP/TLS the target refused or dropped the connection after taking the frames from us:
    // none can be counted as delivered.
    if (opts.target.protocol === 'udp') throw e;
    throw new HandlogError(
      'TARGET_FAILED',
      `the target ended the connection with an error after ${sent} message(s) were written: ${errorMessage(e)}; they may not have been accepted` +
        (opts.target.protocol === 'tls' && opts.cert === undefined ? ' (does it require a client certificate? give --cert and --key)' : ''),
    );
  }
  return { sent, failed, elapsedMs, lastError };
}
