// UDP syslog (RFC 5426): one datagram is one message. UDP has no backpressure, so the socket gets a
// large receive buffer to ride out bursts, and what the kernel still drops is read from /proc and counted.
//
// The socket lives in a worker thread that only reads datagrams and hands them over in batches: its
// event loop never waits on the main thread's garbage collection or on a busy parse, so the kernel
// buffer is drained on time (with the socket on the main thread, stalls of a few tens of
// milliseconds overflowed it at 50,000 msg/s). The hand-over is bounded: when the main thread is
// MAX_BACKLOG messages behind, further datagrams are dropped and counted (`udp_backlog`).

import type dgram from 'node:dgram';
import { Worker } from 'node:worker_threads';
import dns from 'node:dns/promises';
import { HandlogError, errorMessage } from '../../core/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, resolveMaxFrameBytes } from '../framing/types.js';
import { formatListenAddress, normalizeIp, toListenAddress, type ListenAddress } from './address.js';
import { readUdpKernelDrops } from './kernel-drops.js';
import { exemptThread } from '../priority.js';
import { listenerMetrics } from './metrics.js';
import type { BoundAddress, Listener, ListenerDeps } from './types.js';

export interface UdpListenerConfig {
  address: string | ListenAddress;
  /** SO_RCVBUF requested from the kernel; Linux caps it at net.core.rmem_max (a warning is logged). */
  recvBufferSize?: number;
  /** Datagrams longer than this are cut to it and flagged truncated. */
  maxFrameBytes?: number;
  /** Messages the receiver thread may hand over before the main thread processed them (MAX_BACKLOG). */
  maxBacklog?: number;
}

export const DEFAULT_UDP_RECV_BUFFER_SIZE = 32 * 1024 * 1024;
/** Messages handed to the main thread and not yet processed, at most. */
export const MAX_BACKLOG = 200_000;
/** Kernel drops are also polled between scrapes so handlog_dropped_total{reason="udp_kernel"} stays current. */
const KERNEL_DROPS_POLL_MS = 5_000;

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

export type UdpListener = Listener;

/** The receiver thread (plain JS: it runs as is under the compiled service and under vitest). */
const RECEIVER = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { type, host, port, recvBufferSize, maxBacklog } = workerData;
const sock = dgram.createSocket({ type, reuseAddr: false });
let pending = [];
let bytes = 0;
let scheduled = false;
let outstanding = 0;
let dropped = 0;
function flush() {
  scheduled = false;
  if (pending.length > 0) {
    const buf = new ArrayBuffer(bytes);
    const view = Buffer.from(buf);
    const n = pending.length;
    const lens = new Int32Array(n);
    const times = new Float64Array(n);
    const addrs = new Array(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const p = pending[i];
      p.msg.copy(view, off);
      off += p.msg.length;
      lens[i] = p.msg.length;
      times[i] = p.at;
      addrs[i] = p.addr;
    }
    outstanding += n;
    pending = [];
    bytes = 0;
    parentPort.postMessage({ kind: 'batch', buf, lens, times, addrs }, [buf, lens.buffer, times.buffer]);
  }
  if (dropped > 0) {
    parentPort.postMessage({ kind: 'dropped', n: dropped });
    dropped = 0;
  }
}
// Batches leave every 5 ms (or at 2,048 datagrams), not every loop turn: at 50,000 datagrams/s a
// batch per turn meant thousands of postMessage round trips a second, whose cost on both threads
// let the kernel buffer overflow (4 MiB rmem_max: kernel drops in 2 of 2 runs before, 1 of 4 after).
sock.on('message', (msg, rinfo) => {
  if (outstanding + pending.length >= maxBacklog) { dropped++; if (!scheduled) { scheduled = true; setTimeout(flush, 5); } return; }
  pending.push({ msg, at: Date.now(), addr: rinfo.address });
  bytes += msg.length;
  if (pending.length >= 2048) flush();
  else if (!scheduled) { scheduled = true; setTimeout(flush, 5); }
});
sock.on('error', (e) => parentPort.postMessage({ kind: 'error', message: e.message }));
parentPort.on('message', (m) => {
  if (m.kind === 'ack') outstanding -= m.n;
  else if (m.kind === 'close') { flush(); sock.close(() => process.exit(0)); }
});
sock.bind({ address: host, port, exclusive: true }, () => {
  let granted = null;
  let tuneError = null;
  try { sock.setRecvBufferSize(recvBufferSize); granted = sock.getRecvBufferSize(); } catch (e) { tuneError = e.message; }
  const a = sock.address();
  let tid = null;
  try { tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()); } catch {}
  parentPort.postMessage({ kind: 'listening', address: a.address, port: a.port, granted, tuneError, tid });
});
`;

interface ReceiverMessage {
  kind: 'listening' | 'error' | 'batch' | 'dropped';
  address?: string;
  port?: number;
  granted?: number | null;
  tuneError?: string | null;
  /** The receiver's OS thread id (Linux), kept out of the engine threads' lowered priority. */
  tid?: number | null;
  message?: string;
  buf?: ArrayBuffer;
  lens?: Int32Array;
  times?: Float64Array;
  addrs?: string[];
  n?: number;
}

export function createUdpListener(config: UdpListenerConfig, deps: ListenerDeps): UdpListener {
  const metrics = listenerMetrics(deps.metrics, deps.dropped);
  const logger = deps.logger.child({ listener: 'udp' });
  const now = deps.now ?? Date.now;
  const maxFrameBytes = resolveMaxFrameBytes(config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const recvBufferSize = config.recvBufferSize ?? DEFAULT_UDP_RECV_BUFFER_SIZE;
  let worker: Worker | undefined;
  let unexempt: (() => void) | undefined;
  let kernelDrops: { refresh(): void; remove(): void } | undefined;
  let poll: NodeJS.Timeout | undefined;

  function onMessage(msg: Buffer, rinfo: Pick<dgram.RemoteInfo, 'address'>, receivedAtMs: number): void {
    metrics.received('udp', msg.length);
    let end = msg.length;
    while (end > 0) {
      const b = msg[end - 1];
      if (b !== LF && b !== CR && b !== NUL) break;
      end -= 1;
    }
    if (end === 0) {
      // An empty datagram (or only line ends / NULs) carries no message: nothing to store, but counted.
      metrics.drop('empty_datagram');
      return;
    }
    const truncated = end > maxFrameBytes;
    const keep = truncated ? maxFrameBytes : end;
    if (truncated) metrics.drop('frame_oversize');
    metrics.frames.inc({ transport: 'udp' });
    try {
      deps.onFrame({
        data: keep === msg.length ? msg : msg.subarray(0, keep),
        sourceIp: normalizeIp(rinfo.address),
        transport: 'udp',
        receivedAtMs,
        truncated,
      });
    } catch (e: unknown) {
      logger.error('frame handler failed', { err: errorMessage(e) });
    }
  }

  function reportReceiveBuffer(granted: number | null, tuneError: string | null): void {
    if (tuneError !== null) {
      logger.warn('cannot set the UDP receive buffer size', { requested_bytes: recvBufferSize, err: tuneError });
    } else if (granted !== null && granted < recvBufferSize) {
      // Linux reports twice the value it granted (the kernel's bookkeeping overhead) and silently caps at rmem_max.
      logger.warn('kernel capped the UDP receive buffer; raise net.core.rmem_max to absorb bursts', {
        requested_bytes: recvBufferSize,
        granted_bytes: granted,
      });
    }
  }

  function onBatch(m: ReceiverMessage): void {
    const buf = Buffer.from(m.buf as ArrayBuffer);
    const lens = m.lens as Int32Array;
    const times = m.times as Float64Array;
    const addrs = m.addrs as string[];
    let off = 0;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i] as number;
      // The receiver's clock reading at arrival, unless a test injects its own clock.
      onMessage(buf.subarray(off, off + len), { address: addrs[i] as string }, deps.now !== undefined ? now() : (times[i] as number));
      off += len;
    }
    worker?.postMessage({ kind: 'ack', n: lens.length });
  }

  return {
    async start(): Promise<BoundAddress> {
      if (worker !== undefined) throw new HandlogError('INTERNAL', 'UDP listener already started');
      const addr = toListenAddress(config.address);
      let host = addr.host;
      let family = addr.family;
      if (family === 0) {
        const found = await dns.lookup(host).catch((e: unknown) => {
          throw new HandlogError('LISTEN_FAILED', `cannot resolve UDP listen host ${host}: ${errorMessage(e)}`, { cause: e });
        });
        host = found.address;
        family = found.family === 6 ? 6 : 4;
      }
      // reuseAddr false: a second process on the same port must fail loudly, not split the traffic.
      const w = new Worker(RECEIVER, {
        eval: true,
        workerData: { type: family === 6 ? 'udp6' : 'udp4', host, port: addr.port, recvBufferSize, maxBacklog: config.maxBacklog ?? MAX_BACKLOG },
      });
      const ready = await new Promise<ReceiverMessage>((resolve, reject) => {
        const onFirst = (m: ReceiverMessage): void => {
          w.off('error', onError);
          if (m.kind === 'listening') resolve(m);
          else {
            void w.terminate();
            reject(new HandlogError('LISTEN_FAILED', `cannot listen for UDP on ${formatListenAddress(addr)}: ${m.message ?? 'unknown error'}`));
          }
        };
        const onError = (e: Error): void => {
          w.off('message', onFirst);
          reject(new HandlogError('LISTEN_FAILED', `cannot listen for UDP on ${formatListenAddress(addr)}: ${e.message}`, { cause: e }));
        };
        w.once('message', onFirst);
        w.once('error', onError);
      });
      w.on('message', (m: ReceiverMessage) => {
        if (m.kind === 'batch') onBatch(m);
        else if (m.kind === 'dropped') metrics.drop('udp_backlog', m.n ?? 0);
        else if (m.kind === 'error') logger.error('UDP socket error', { err: m.message ?? '' });
      });
      w.on('error', (e: Error) => logger.error('UDP receiver thread failed', { err: e.message }));
      reportReceiveBuffer(ready.granted ?? null, ready.tuneError ?? null);
      if (typeof ready.tid === 'number' && Number.isInteger(ready.tid)) unexempt = exemptThread(ready.tid);
      worker = w;
      const bound = { address: ready.address as string, port: ready.port as number };
      kernelDrops = metrics.addKernelDropSource({ read: () => readUdpKernelDrops(bound.address, bound.port) });
      poll = setInterval(() => kernelDrops?.refresh(), KERNEL_DROPS_POLL_MS);
      poll.unref();
      logger.info('listening', { address: formatListenAddress({ host: bound.address, port: bound.port }) });
      return { address: bound.address, port: bound.port };
    },

    async stop(): Promise<void> {
      const w = worker;
      if (w === undefined) return;
      if (poll !== undefined) clearInterval(poll);
      kernelDrops?.remove();
      kernelDrops = undefined;
      // The receiver sends what it holds, closes the socket and exits; its last batch is processed
      // before `worker` is cleared.
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ kind: 'close' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      await w.terminate();
      unexempt?.();
      worker = undefined;
    },

    pause(): void {
      // UDP has no backpressure: datagrams keep arriving, and the pipeline counts what it cannot keep.
    },
    resume(): void {},
  };
}
