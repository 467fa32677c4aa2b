// UDP syslog (RFC 5426): one datagram is one message. UDP has no backpressure, so the socket gets a
// large receive buffer to ride out bursts, and what the kernel still drops is read from /proc and counted.

import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import { HandlogError, errorMessage } from '../../core/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, resolveMaxFrameBytes } from '../framing/types.js';
import { formatListenAddress, normalizeIp, toListenAddress, type ListenAddress } from './address.js';
import { readUdpKernelDrops } from './kernel-drops.js';
import { listenerMetrics } from './metrics.js';
import type { BoundAddress, Listener, ListenerDeps } from './types.js';

export interface UdpListenerConfig {
  address: string | ListenAddress;
  /** SO_RCVBUF requested from the kernel; Linux caps it at net.core.rmem_max (a warning is logged). */
  recvBufferSize?: number;
  /** Datagrams longer than this are cut to it and flagged truncated. */
  maxFrameBytes?: number;
}

export const DEFAULT_UDP_RECV_BUFFER_SIZE = 8 * 1024 * 1024;
/** Kernel drops are also polled between scrapes so handlog_dropped_total{reason="udp_kernel"} stays current. */
const KERNEL_DROPS_POLL_MS = 5_000;

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

export type UdpListener = Listener;

export function createUdpListener(config: UdpListenerConfig, deps: ListenerDeps): UdpListener {
  const metrics = listenerMetrics(deps.metrics, deps.dropped);
  const logger = deps.logger.child({ listener: 'udp' });
  const now = deps.now ?? Date.now;
  const maxFrameBytes = resolveMaxFrameBytes(config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const recvBufferSize = config.recvBufferSize ?? DEFAULT_UDP_RECV_BUFFER_SIZE;
  let socket: dgram.Socket | undefined;
  let kernelDrops: { refresh(): void; remove(): void } | undefined;
  let poll: NodeJS.Timeout | undefined;

  function onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    metrics.received('udp', msg.length);
    let end = msg.length;
    while (end > 0) {
      const b = msg[end - 1];
      if (b !== LF && b !== CR && b !== NUL) break;
      end -= 1;
    }
    if (end === 0) return; // an empty datagram carries no message
    const truncated = end > maxFrameBytes;
    const keep = truncated ? maxFrameBytes : end;
    if (truncated) metrics.drop('frame_oversize');
    metrics.frames.inc({ transport: 'udp' });
    try {
      deps.onFrame({
        data: keep === msg.length ? msg : msg.subarray(0, keep),
        sourceIp: normalizeIp(rinfo.address),
        transport: 'udp',
        receivedAtMs: now(),
        truncated,
      });
    } catch (e: unknown) {
      logger.error('frame handler failed', { err: errorMessage(e) });
    }
  }

  function tuneReceiveBuffer(s: dgram.Socket): void {
    try {
      s.setRecvBufferSize(recvBufferSize);
      // Linux reports twice the value it granted (the kernel's bookkeeping overhead) and silently caps at rmem_max.
      const granted = s.getRecvBufferSize();
      if (granted < recvBufferSize) {
        logger.warn('kernel capped the UDP receive buffer; raise net.core.rmem_max to absorb bursts', {
          requested_bytes: recvBufferSize,
          granted_bytes: granted,
        });
      }
    } catch (e: unknown) {
      logger.warn('cannot set the UDP receive buffer size', { requested_bytes: recvBufferSize, err: errorMessage(e) });
    }
  }

  return {
    async start(): Promise<BoundAddress> {
      if (socket !== undefined) throw new HandlogError('INTERNAL', 'UDP listener already started');
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
      const s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error): void => {
          try {
            s.close();
          } catch {
            // never bound, nothing to close
          }
          reject(
            new HandlogError('LISTEN_FAILED', `cannot listen for UDP on ${formatListenAddress(addr)}: ${e.message}`, {
              cause: e,
            }),
          );
        };
        s.once('error', onError);
        s.bind({ address: host, port: addr.port, exclusive: true }, () => {
          s.off('error', onError);
          resolve();
        });
      });
      s.on('error', (e: Error) => logger.error('UDP socket error', { err: e.message }));
      s.on('message', onMessage);
      tuneReceiveBuffer(s);
      socket = s;
      const bound = s.address();
      kernelDrops = metrics.addKernelDropSource({ read: () => readUdpKernelDrops(bound.address, bound.port) });
      poll = setInterval(() => kernelDrops?.refresh(), KERNEL_DROPS_POLL_MS);
      poll.unref();
      logger.info('listening', { address: formatListenAddress({ host: bound.address, port: bound.port }) });
      return { address: bound.address, port: bound.port };
    },

    async stop(): Promise<void> {
      const s = socket;
      if (s === undefined) return;
      socket = undefined;
      if (poll !== undefined) clearInterval(poll);
      kernelDrops?.remove();
      kernelDrops = undefined;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },

    pause(): void {
      // UDP has no backpressure: datagrams keep arriving, and the pipeline counts what it cannot keep.
    },
    resume(): void {},
  };
}
