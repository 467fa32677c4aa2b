// Plain TCP syslog (RFC 6587): octet counting or LF framing, detected per message.

import net from 'node:net';
import { HandlogError } from '../../core/errors.js';
import { formatListenAddress, toListenAddress, type ListenAddress } from './address.js';
import { KEEPALIVE_MS, StreamConnections, type StreamListenerOptions } from './stream.js';
import type { BoundAddress, Listener, ListenerDeps } from './types.js';

export interface TcpListenerConfig extends StreamListenerOptions {
  address: string | ListenAddress;
}

export type TcpListener = Listener;

/** Binds `server` to `address`; a bind failure becomes a LISTEN_FAILED error naming the address. */
export async function listen(server: net.Server, address: string | ListenAddress, what: string): Promise<BoundAddress> {
  const addr = toListenAddress(address);
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      reject(
        new HandlogError('LISTEN_FAILED', `cannot listen for ${what} on ${formatListenAddress(addr)}: ${e.message}`, {
          cause: e,
        }),
      );
    };
    server.once('error', onError);
    // ipv6Only false: `[::]` also takes IPv4 peers (seen as ::ffff:a.b.c.d, normalized to a.b.c.d).
    server.listen({ host: addr.host, port: addr.port, ipv6Only: false, backlog: 1024 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new HandlogError('INTERNAL', `${what} server has no address`);
  return { address: bound.address, port: bound.port };
}

/** Stops accepting, closes every connection (keeping partial frames, marked incomplete), waits for the server. */
export async function closeServer(server: net.Server, connections: StreamConnections): Promise<void> {
  connections.beginClose();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  connections.closeAll();
  await closed;
}

export function createTcpListener(config: TcpListenerConfig, deps: ListenerDeps): TcpListener {
  const logger = deps.logger.child({ listener: 'tcp' });
  const connections = new StreamConnections('tcp', config, deps, logger);
  let server: net.Server | undefined;

  return {
    async start(): Promise<BoundAddress> {
      if (server !== undefined) throw new HandlogError('INTERNAL', 'TCP listener already started');
      const s = net.createServer({ keepAlive: true, keepAliveInitialDelay: KEEPALIVE_MS });
      s.on('connection', (socket: net.Socket) => {
        if (connections.admit(socket)) connections.serve(socket);
      });
      server = s;
      connections.reopen();
      let bound: BoundAddress;
      try {
        bound = await listen(s, config.address, 'TCP');
      } catch (e: unknown) {
        server = undefined;
        throw e;
      }
      // After bind, accept errors (EMFILE, ENFILE) must not become an uncaught 'error' event.
      s.on('error', (e: Error) => connections.warn('server-error', 'TCP server error', { err: e.message }));
      logger.info('listening', { address: formatListenAddress({ host: bound.address, port: bound.port }) });
      return bound;
    },

    async stop(): Promise<void> {
      const s = server;
      if (s === undefined) return;
      server = undefined;
      await closeServer(s, connections);
    },

    pause: () => connections.pause(),
    resume: () => connections.resume(),
  };
}
