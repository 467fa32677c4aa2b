import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HandlogError } from '../../core/errors.js';
import { closed, connect, harness, sleep, waitFor, type Certs, type Harness, makeCerts } from './test-helpers.js';
import { createTlsListener, type TlsListener, type TlsListenerConfig } from './tls.js';

let certs: Certs;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => {
  fs.rmSync(certs.dir, { recursive: true, force: true });
});

const open: TlsListener[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((l) => l.stop()));
});

async function start(config: Partial<TlsListenerConfig> = {}, h: Harness = harness()): Promise<{ h: Harness; port: number; l: TlsListener }> {
  const l = createTlsListener({ address: '127.0.0.1:0', certFile: certs.serverCert, keyFile: certs.serverKey, ...config }, h.deps);
  open.push(l);
  const { port } = await l.start();
  return { h, port, l };
}

/** Connects and finishes the handshake, or rejects with the client-side error. */
function tlsClient(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: fs.readFileSync(certs.caCert), ...options }, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    sockets.push(s);
    s.once('error', reject);
    // A server that rejects the client certificate after the handshake (TLS 1.3) closes instead.
    s.once('close', () => reject(new Error('closed')));
  });
}

/** Whether the server keeps a freshly handshaken connection open and reads from it. */
async function accepted(s: tls.TLSSocket): Promise<boolean> {
  s.write('ping');
  return Promise.race([closed(s).then(() => false), sleep(300).then(() => !s.destroyed)]);
}

const clientCert = (): tls.ConnectionOptions => ({ cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) });
const octet = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`;

describe('TLS listener', () => {
  it('receives octet-counted and LF-framed syslog over TLS', async () => {
    const { h, port } = await start();
    const s = await tlsClient(port);
    expect(s.getProtocol()).toMatch(/TLSv1\.[23]/);
    s.write(octet('<13>one\ntwo') + '<14>lf\n');
    s.end(octet('<15>three'));
    await waitFor(() => h.frames.length === 3, '3 frames');
    expect(h.texts()).toEqual(['<13>one\ntwo', '<14>lf', '<15>three']);
    expect(h.frames.every((f) => f.transport === 'tls' && f.sourceIp === '127.0.0.1')).toBe(true);
    expect(h.metric('handlog_frames_received_total', { transport: 'tls' })).toBe(3);
    expect(h.metric('handlog_connections_total', { transport: 'tls' })).toBe(1);
    await waitFor(() => h.metric('handlog_connections', { transport: 'tls' }) === 0, 'connection closed');
  });

  it('refuses TLS 1.1 and counts the failed handshake', async () => {
    const { h, port } = await start();
    await expect(
      tlsClient(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    ).rejects.toThrow();
    await waitFor(() => h.metric('handlog_dropped_total', { reason: 'tls_handshake' }) === 1, 'tls_handshake counted');
    await waitFor(() => h.metric('handlog_connections', { transport: 'tls' }) === 0, 'slot released');
  });

  it('requires a client certificate from the CA when client auth is required', async () => {
    const { h, port } = await start({ caFile: certs.caCert, clientAuth: 'required' });
    const withoutCert = await tlsClient(port).then(accepted, () => false);
    expect(withoutCert).toBe(false);
    const rogue = await tlsClient(port, { cert: fs.readFileSync(certs.rogueCert), key: fs.readFileSync(certs.rogueKey) }).then(
      accepted,
      () => false,
    );
    expect(rogue).toBe(false);
    await waitFor(() => h.metric('handlog_dropped_total', { reason: 'tls_handshake' }) === 2, 'both counted');
    const good = await tlsClient(port, clientCert());
    good.write('<13>mutual\n');
    await waitFor(() => h.frames.some((f) => f.data.toString() === '<13>mutual'), 'a frame over mutual TLS');
    expect(h.texts()).toEqual(['<13>mutual']);
  });

  it('accepts clients with or without a certificate when client auth is optional', async () => {
    const { h, port } = await start({ caFile: certs.caCert, clientAuth: 'optional' });
    const a = await tlsClient(port);
    const b = await tlsClient(port, clientCert());
    a.write('<13>anonymous\n');
    b.write('<13>with cert\n');
    await waitFor(() => h.frames.length === 2, '2 frames');
  });

  it('refuses client auth without a CA at construction', () => {
    expect(() =>
      createTlsListener({ address: '127.0.0.1:0', certFile: certs.serverCert, keyFile: certs.serverKey, clientAuth: 'required' }, harness().deps),
    ).toThrow(HandlogError);
  });

  it('abandons a handshake that does not finish within handshakeTimeoutMs', async () => {
    const { h, port } = await start({ handshakeTimeoutMs: 200 });
    const raw = await connect(port);
    raw.on('error', () => undefined);
    sockets.push(raw);
    const t0 = Date.now();
    await closed(raw);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    await waitFor(() => h.metric('handlog_dropped_total', { reason: 'tls_handshake' }) === 1, 'tls_handshake counted');
    await waitFor(() => h.metric('handlog_connections', { transport: 'tls' }) === 0, 'slot released');
  });

  it('applies connection limits before the handshake', async () => {
    const { h, port } = await start({ maxConnectionsPerIp: 1 });
    const first = await tlsClient(port);
    const raw = await connect(port);
    raw.on('error', () => undefined);
    sockets.push(raw);
    await closed(raw);
    expect(h.metric('handlog_dropped_total', { reason: 'conn_limit_per_ip' })).toBe(1);
    expect(h.metric('handlog_dropped_total', { reason: 'tls_handshake' })).toBe(0);
    expect(await accepted(first)).toBe(true);
  });

  it('reloads the certificate for new connections without dropping open ones', async () => {
    const dir = fs.mkdtempSync(path.join(certs.dir, 'reload-'));
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    fs.copyFileSync(certs.serverCert, certFile);
    fs.copyFileSync(certs.serverKey, keyFile);
    const { h, port, l } = await start({ certFile, keyFile });
    const before = await tlsClient(port);
    expect(before.getPeerCertificate().subject.CN).toBe('handlog server one');

    fs.copyFileSync(certs.server2Cert, certFile);
    fs.copyFileSync(certs.server2Key, keyFile);
    l.reloadCertificates();

    const after = await tlsClient(port);
    expect(after.getPeerCertificate().subject.CN).toBe('handlog server two');
    before.write('<13>old connection still open\n');
    after.write('<13>new connection\n');
    await waitFor(() => h.frames.length === 2, '2 frames');
    expect(h.texts().sort()).toEqual(['<13>new connection', '<13>old connection still open']);
    expect(before.destroyed).toBe(false);
    // The reloaded context still refuses old protocol versions.
    await expect(tlsClient(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();

    // A broken file is refused and the current certificate stays.
    fs.writeFileSync(keyFile, 'not a key');
    expect(() => l.reloadCertificates()).toThrow(HandlogError);
    const still = await tlsClient(port);
    expect(still.getPeerCertificate().subject.CN).toBe('handlog server two');
  });

  it('drops only the partial frame when the TCP connection under TLS is reset mid-frame', async () => {
    const { h, port } = await start();
    const raw = await connect(port);
    raw.on('error', () => undefined);
    sockets.push(raw);
    const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const t = tls.connect({ socket: raw, ca: fs.readFileSync(certs.caCert), servername: 'localhost' }, () => resolve(t));
      t.once('error', reject);
    });
    s.on('error', () => undefined);
    s.write('<13>complete\n<13>partial');
    await waitFor(() => h.frames.length === 1, 'the complete frame');
    await sleep(20);
    raw.resetAndDestroy();
    await waitFor(() => h.metric('handlog_dropped_total', { reason: 'framing_invalid' }) === 1, 'partial frame counted');
    await waitFor(() => h.metric('handlog_connections', { transport: 'tls' }) === 0, 'slot released');
    const again = await tlsClient(port);
    again.write('<13>after\n');
    await waitFor(() => h.frames.length === 2, 'a frame after the reset');
  });

  it('closes idle TLS connections and pauses them under backpressure', async () => {
    const { h, port, l } = await start({ idleTimeoutMs: 200 });
    const s = await tlsClient(port);
    l.pause();
    s.write('<13>paused\n');
    await sleep(350);
    expect(h.frames).toHaveLength(0);
    expect(s.destroyed).toBe(false);
    l.resume();
    await waitFor(() => h.frames.length === 1, 'frame after resume');
    await closed(s);
    expect(h.metric('handlog_dropped_total', { reason: 'idle_timeout' })).toBe(1);
  });

  it('notices a peer that resets while paused, without sending the healthy ones anything', async () => {
    const { h, port, l } = await start({ maxConnectionsPerIp: 2, pausedProbeMs: 50 });
    const healthy = await tlsClient(port);
    let unexpected = 0;
    healthy.on('data', (d: Buffer) => (unexpected += d.length));
    // Over a TCP socket of our own, which can be reset (a TLSSocket cannot).
    const raw = await connect(port);
    raw.on('error', () => undefined);
    sockets.push(raw);
    const s = await tlsClient(port, { socket: raw });
    s.write('<13>complete\n<13>partial');
    await waitFor(() => h.frames.length === 1, 'the complete frame');
    l.pause();
    s.write(Buffer.alloc(4_000_000, '<13>sent while paused\n'));
    await sleep(200);
    expect(h.metric('handlog_connections', { transport: 'tls' })).toBe(2);
    raw.resetAndDestroy();
    await waitFor(() => h.metric('handlog_connections', { transport: 'tls' }) === 1, 'the reset connection released while paused');
    expect(h.metric('handlog_dropped_total', { reason: 'framing_invalid' })).toBe(1);
    await sleep(200);
    expect(healthy.destroyed).toBe(false);
    expect(unexpected).toBe(0);
    l.resume();
    healthy.write('<13>still here\n');
    await waitFor(() => h.frames.length === 2, 'the healthy connection read after resume');
    expect(h.texts()).toEqual(['<13>complete', '<13>still here']);
  });

  it('stop() closes open and half-handshaken connections, keeping unterminated LF frames marked incomplete', async () => {
    const { h, port, l } = await start();
    const s = await tlsClient(port);
    s.write('<13>in flight');
    const raw = await connect(port); // never says hello
    raw.on('error', () => undefined);
    sockets.push(raw);
    await waitFor(() => h.metric('handlog_bytes_received_total', { transport: 'tls' }) > 0, 'bytes read');
    await l.stop();
    open.splice(open.indexOf(l), 1);
    await Promise.all([closed(s), closed(raw)]);
    expect(h.texts()).toEqual(['<13>in flight[incomplete]']);
    expect(h.metric('handlog_connections', { transport: 'tls' })).toBe(0);
    await expect(l.start()).resolves.toBeDefined(); // and it can start again
    open.push(l);
  });
});
