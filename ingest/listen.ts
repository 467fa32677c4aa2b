// Starts the configured listeners (UDP, TCP, TLS) and controls them as one: pause/resume for
// backpressure, certificate reload, stop.

import type { ServeConfig } from '../core/config.js';
import { formatAddress } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Counter, Registry } from '../core/metrics.js';
import { ConnectionLimiter } from './listeners/limits.js';
import { createTcpListener } from './listeners/tcp.js';
import { createTlsListener } from './listeners/tls.js';
import { createUdpListener } from './listeners/udp.js';
import type { IngestFrame } from './pipeline.js';

export interface Listeners {
  addresses: Record<'udp' | 'tcp' | 'tls', string | null>;
  pause(): void;
  resume(): void;
  reloadCertificates(): void;
  stop(): Promise<void>;
}

interface Started {
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
}

export async function startListeners(
  config: Readonly<ServeConfig>,
  deps: { onFrame: (f: IngestFrame) => void; metrics: Registry; logger: Logger; dropped: Counter },
): Promise<Listeners> {
  const started: Started[] = [];
  const addresses: Listeners['addresses'] = { udp: null, tcp: null, tls: null };
  let reload: () => void = () => {
    throw new Error('TLS is not enabled (give --tls-cert and --tls-key)');
  };
  // One connection budget for TCP and TLS together.
  const limiter = new ConnectionLimiter({ maxConnections: config.maxConnections, maxConnectionsPerIp: config.maxConnectionsPerIp });
  const common = { onFrame: deps.onFrame, metrics: deps.metrics, logger: deps.logger, dropped: deps.dropped, limiter };
  try {
    if (config.udp !== null) {
      const l = createUdpListener(
        { address: formatAddress(config.udp), recvBufferSize: config.udpRecvBufferBytes, maxFrameBytes: config.maxFrameBytes },
        common,
      );
      const a = await l.start();
      started.push(l);
      addresses.udp = formatAddress({ host: a.address, port: a.port });
    }
    const stream = {
      maxFrameBytes: config.maxFrameBytes,
      maxConnections: config.maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      idleTimeoutMs: config.idleTimeoutMs,
    };
    if (config.tcp !== null) {
      const l = createTcpListener({ address: formatAddress(config.tcp), ...stream }, common);
      const a = await l.start();
      started.push(l);
      addresses.tcp = formatAddress({ host: a.address, port: a.port });
    }
    if (config.tls !== null && config.tlsCertFile !== null && config.tlsKeyFile !== null) {
      const l = createTlsListener(
        {
          address: formatAddress(config.tls),
          ...stream,
          certFile: config.tlsCertFile,
          keyFile: config.tlsKeyFile,
          caFile: config.tlsCaFile,
          clientAuth: config.tlsClientAuth,
          handshakeTimeoutMs: config.tlsHandshakeTimeoutMs,
        },
        common,
      );
      const a = await l.start();
      started.push(l);
      addresses.tls = formatAddress({ host: a.address, port: a.port });
      reload = () => l.reloadCertificates();
    }
  } catch (e: unknown) {
    await Promise.all(started.map((l) => l.stop().catch(() => undefined)));
    throw e;
  }
  return {
    addresses,
    pause: () => started.forEach((l) => l.pause()),
    resume: () => started.forEach((l) => l.resume()),
    reloadCertificates: () => reload(),
    async stop() {
      await Promise.all(started.map((l) => l.stop()));
    },
  };
}
