// `handlog serve` as a child process: SIGHUP reloads the TLS certificate without dropping open
// connections; mutual TLS refuses a client without a certificate.

import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { freePort, makeCerts, startServe, waitForCount } from '../../bench/ingest/harness.js';
import { tempDir } from './helpers.js';

function line(text: string): string {
  const m = `<134>Mar 10 11:59:58 172.29.4.17 SipService[3367]: 00907a330001|1773143998000|SipService|6|00| ${text}`;
  return `${Buffer.byteLength(m)} ${m}`;
}

function connect(port: number, ca: string, cert?: { cert: string; key: string }): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      {
        host: '127.0.0.1',
        port,
        ca: fs.readFileSync(ca),
        servername: 'localhost',
        ...(cert === undefined ? {} : { cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) }),
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
}

describe('TLS listener of handlog serve', () => {
  it('reloads its certificate on SIGHUP; open connections keep working', async () => {
    const dir = tempDir('handlog-tls-');
    const a = makeCerts(path.join(dir, 'a'));
    const b = makeCerts(path.join(dir, 'b'));
    const live = path.join(dir, 'live');
    fs.mkdirSync(live);
    fs.copyFileSync(a.serverCert, path.join(live, 'server.crt'));
    fs.copyFileSync(a.serverKey, path.join(live, 'server.key'));
    const tlsPort = await freePort();
    const served = await startServe([
      '--data', path.join(dir, 'data'), '--udp', 'off', '--tcp', 'off',
      '--tls', `127.0.0.1:${tlsPort}`, '--tls-cert', path.join(live, 'server.crt'), '--tls-key', path.join(live, 'server.key'),
      '--http', `127.0.0.1:${await freePort()}`, '--log-level', 'warn',
    ]);
    try {
      const old = await connect(tlsPort, a.caCert);
      old.write(line('before reload'));
      // Swap the files, then SIGHUP.
      fs.copyFileSync(b.serverCert, path.join(live, 'server.crt'));
      fs.copyFileSync(b.serverKey, path.join(live, 'server.key'));
      served.child.kill('SIGHUP');
      let fresh: tls.TLSSocket | undefined;
      for (let i = 0; i < 50 && fresh === undefined; i++) {
        fresh = await connect(tlsPort, b.caCert).catch(() => undefined);
        if (fresh === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(fresh).toBeDefined();
      // The old CA no longer verifies new connections.
      await expect(connect(tlsPort, a.caCert)).rejects.toThrow();
      fresh?.end(line('new certificate'));
      old.end(line('after reload on the old connection'));
      const n = await waitForCount(served.http, '?mac=00907a330001', 3, 15_000);
      expect(n).toBe(3);
    } finally {
      await served.stop();
    }
  }, 60_000);

  it('requires a client certificate with --tls-client-auth required', async () => {
    const dir = tempDir('handlog-mtls-');
    const c = makeCerts(path.join(dir, 'c'));
    const tlsPort = await freePort();
    const served = await startServe([
      '--data', path.join(dir, 'data'), '--udp', 'off', '--tcp', 'off',
      '--tls', `127.0.0.1:${tlsPort}`, '--tls-cert', c.serverCert, '--tls-key', c.serverKey,
      '--tls-ca', c.caCert, '--tls-client-auth', 'required',
      '--http', `127.0.0.1:${await freePort()}`, '--log-level', 'warn',
    ]);
    try {
      const refused = await connect(tlsPort, c.caCert)
        .then(
          (s) =>
            new Promise<boolean>((resolve) => {
              // TLS 1.3 reports a missing client certificate after the handshake, on first read.
              s.once('error', () => resolve(true));
              s.once('close', () => resolve(true));
              s.write(line('no certificate'));
              setTimeout(() => resolve(false), 3000);
            }),
        )
        .catch(() => true);
      expect(refused).toBe(true);
      const ok = await connect(tlsPort, c.caCert, { cert: c.clientCert, key: c.clientKey });
      ok.end(line('with certificate'));
      expect(await waitForCount(served.http, '?mac=00907a330001', 1, 15_000)).toBe(1);
    } finally {
      await served.stop();
    }
  }, 60_000);
});
