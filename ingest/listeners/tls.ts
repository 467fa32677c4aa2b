// Syslog over TLS (RFC 5425), with the same framing, limits and timeouts as TCP. Connection limits are
// checked on the raw TCP socket, before any handshake work: a plain net.Server accepts, and admitted
// sockets are handed to a tls.Server through its documented 'connection' event.

import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { HandlogError, errorMessage } from '../../core/errors.js';
import { formatListenAddress, type ListenAddress } from './address.js';
import { KEEPALIVE_MS, StreamConnections, type StreamListenerOptions } from './stream.js';
import { closeServer, listen } from './tcp.js';
import type { BoundAddress, Listener, ListenerDeps } from './types.js';

export type TlsClientAuth = 'none' | 'optional' | 'required';

export interface TlsListenerConfig extends StreamListenerOptions {
  address: string | ListenAddress;
  /** PEM certificate (chain) and private key; re-read by reloadCertificates(). */
  certFile: string;
  keyFile: string;
  /** PEM CA bundle client certificates must chain to. */
  caFile?: string | null;
  /** `optional` asks for a client certificate and accepts connections without one; `required` refuses them. */
  clientAuth?: TlsClientAuth;
  /** A handshake not finished in this time is abandoned (slow or silent clients hold no slot for long). */
  handshakeTimeoutMs?: number;
}

export interface TlsListener extends Listener {
  /**
   * Re-reads the certificate, key and CA files. New connections get them; open connections keep their
   * session. Throws CONFIG_INVALID and keeps the old certificate when a file is unreadable or invalid.
   */
  reloadCertificates(): void;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const MIN_VERSION: tls.SecureVersion = 'TLSv1.2';

interface Credentials {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

function readCredentials(config: TlsListenerConfig): Credentials {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (e: unknown) {
      throw new HandlogError('CONFIG_INVALID', `cannot read TLS ${what} ${file}: ${errorMessage(e)}`, { cause: e });
    }
  };
  const ca = config.caFile ?? undefined;
  return {
    cert: read(config.certFile, 'certificate'),
    key: read(config.keyFile, 'key'),
    ca: ca === undefined ? undefined : read(ca, 'CA bundle'),
  };
}

function contextOptions(c: Credentials): tls.SecureContextOptions {
  return { cert: c.cert, key: c.key, ...(c.ca === undefined ? {} : { ca: c.ca }), minVersion: MIN_VERSION };
}

export function createTlsListener(config: TlsListenerConfig, deps: ListenerDeps): TlsListener {
  const logger = deps.logger.child({ listener: 'tls' });
  const connections = new StreamConnections('tls', config, deps, logger);
  const clientAuth = config.clientAuth ?? 'none';
  if (clientAuth !== 'none' && (config.caFile ?? undefined) === undefined) {
    throw new HandlogError('CONFIG_INVALID', `TLS client auth "${clientAuth}" needs a CA file`);
  }
  let server: net.Server | undefined;
  let tlsServer: tls.Server | undefined;

  function validated(c: Credentials): tls.SecureContextOptions {
    const options = contextOptions(c);
    try {
      tls.createSecureContext(options);
    } catch (e: unknown) {
      throw new HandlogError('CONFIG_INVALID', `invalid TLS certificate, key or CA: ${errorMessage(e)}`, { cause: e });
    }
    return options;
  }

  return {
    async start(): Promise<BoundAddress> {
      if (server !== undefined) throw new HandlogError('INTERNAL', 'TLS listener already started');
      const options = validated(readCredentials(config));
      const t = tls.createServer({
        ...options,
        requestCert: clientAuth !== 'none',
        rejectUnauthorized: clientAuth === 'required',
        handshakeTimeout: config.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      });
      t.on('secureConnection', (socket: tls.TLSSocket) => connections.serve(socket));
      t.on('tlsClientError', (e: Error, socket: tls.TLSSocket) => {
        // Handshake timeout, protocol version, bad or missing client certificate, reset mid-handshake.
        connections.drop('tls_handshake');
        logger.debug('TLS handshake failed', {
          code: (e as NodeJS.ErrnoException).code ?? 'unknown',
          err: e.message,
          peer: socket.remoteAddress,
        });
        socket.destroy(); // a handshake timeout leaves the socket open otherwise
      });
      const s = net.createServer({ keepAlive: true, keepAliveInitialDelay: KEEPALIVE_MS });
      s.on('connection', (socket: net.Socket) => {
        if (connections.admit(socket)) t.emit('connection', socket);
      });
      server = s;
      tlsServer = t;
      connections.reopen();
      let bound: BoundAddress;
      try {
        bound = await listen(s, config.address, 'TLS');
      } catch (e: unknown) {
        server = undefined;
        tlsServer = undefined;
        throw e;
      }
      s.on('error', (e: Error) => connections.warn('server-error', 'TLS server error', { err: e.message }));
      logger.info('listening', {
        address: formatListenAddress({ host: bound.address, port: bound.port }),
        client_auth: clientAuth,
      });
      return bound;
    },

    async stop(): Promise<void> {
      const s = server;
      if (s === undefined) return;
      server = undefined;
      tlsServer = undefined;
      await closeServer(s, connections);
    },

    pause: () => connections.pause(),
    resume: () => connections.resume(),

    reloadCertificates(): void {
      const options = validated(readCredentials(config));
      // Only the context for new handshakes changes; established sessions are untouched.
      tlsServer?.setSecureContext(options);
      logger.info('TLS certificates reloaded', { cert: config.certFile });
    },
  };
}
