// Messages over UDP, TCP (LF and octet counting, split anywhere), TLS and mutual TLS end up in
// the embedded store with every field, found by MAC through the API; hostile input is survived
// and counted.

import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type Certs } from '../../bench/ingest/harness.js';
import type { StoredRecord } from '../../core/record.js';
import { api, metric, metricsText, port, startTestService, until } from './helpers.js';

let svc: Awaited<ReturnType<typeof startTestService>>;
let certs: Certs;

beforeAll(async () => {
  certs = makeCerts();
  svc = await startTestService({
    tls: '127.0.0.1:0',
    'tls-cert': certs.serverCert,
    'tls-key': certs.serverKey,
    'tls-ca': certs.caCert,
    'tls-client-auth': 'optional',
    'max-frame-bytes': '4096',
    'max-connections-per-ip': '40',
  });
}, 60_000);

afterAll(async () => {
  await svc?.stop();
});

function line(mac: string, text: string, sev = 6): string {
  const now = Date.now();
  const d = new Date(now);
  const mon = d.toUTCString().slice(8, 11);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  return `<${128 + sev}>${mon} ${day} ${d.toISOString().slice(11, 19)} 172.29.4.17 SipService[3367]: ${mac}| ${now}| SipService |${128 + sev}|03| ${text}`;
}

async function rowsFor(mac: string, n: number): Promise<StoredRecord[]> {
  const r = await until(
    () => api<{ rows: StoredRecord[] }>(svc.http, `/api/logs?mac=${mac}&limit=1000`),
    (x) => x.body.rows !== undefined && x.body.rows.length >= n,
  );
  return r.body.rows;
}

function sendTcp(chunks: (string | Buffer)[], delayMs = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port(svc.addresses['tcp']), '127.0.0.1', async () => {
      for (const c of chunks) {
        s.write(c);
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      }
      s.end();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

describe('transports', () => {
  it('stores UDP datagrams with every field', async () => {
    const sock = dgram.createSocket('udp4');
    const mac = '00907a110001';
    await new Promise<void>((r) => sock.send(line(mac, 'over udp', 3), port(svc.addresses['udp']), '127.0.0.1', () => r()));
    sock.close();
    const [row] = await rowsFor(mac, 1);
    expect(row).toMatchObject({
      format: 'pivot',
      transport: 'udp',
      source_ip: '127.0.0.1',
      mac,
      tag: 'SipService',
      severity: 3,
      severity_name: 'Error',
      facility: 16,
      missed_events: 3,
      host: '172.29.4.17',
      pid: 3367,
      message: 'over udp',
      session: '',
    });
    expect(row?.raw).toContain('over udp');
    expect(row?.device_time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(row?.time).toBe(row?.device_time);
  });

  it('stores TCP LF-framed messages split at every byte', async () => {
    const mac = '00907a110002';
    const data = Buffer.from([line(mac, 'lf one'), line(mac, 'lf two'), line(mac, 'lf three')].join('\n') + '\n');
    await sendTcp([...data].map((b) => Buffer.from([b])));
    const rows = await rowsFor(mac, 3);
    expect(rows.map((r) => r.message).sort()).toEqual(['lf one', 'lf three', 'lf two']);
    expect(rows.every((r) => r.transport === 'tcp')).toBe(true);
  });

  it('stores octet-counted messages split across chunks, newline inside a message included', async () => {
    const mac = '00907a110003';
    const msgs = [line(mac, 'first\nwith a newline inside'), line(mac, 'second')];
    const data = Buffer.from(msgs.map((m) => `${Buffer.byteLength(m)} ${m}`).join(''));
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 7) chunks.push(data.subarray(i, i + 7));
    await sendTcp(chunks);
    const rows = await rowsFor(mac, 2);
    expect(rows.map((r) => r.message).sort()).toEqual(['first\nwith a newline inside', 'second']);
  });

  it('stores TLS messages, with and without a client certificate', async () => {
    const send = (mac: string, withCert: boolean) =>
      new Promise<void>((resolve, reject) => {
        const s = tls.connect(
          {
            host: '127.0.0.1',
            port: port(svc.addresses['tls']),
            ca: fs.readFileSync(certs.caCert),
            servername: 'localhost',
            ...(withCert ? { cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) } : {}),
          },
          () => {
            const m = line(mac, withCert ? 'mutual tls' : 'server-auth tls');
            s.end(`${Buffer.byteLength(m)} ${m}`);
          },
        );
        s.on('close', () => resolve());
        s.on('error', reject);
      });
    await send('00907a110004', false);
    await send('00907a110005', true);
    const [a] = await rowsFor('00907a110004', 1);
    const [b] = await rowsFor('00907a110005', 1);
    expect(a).toMatchObject({ transport: 'tls', message: 'server-auth tls' });
    expect(b).toMatchObject({ transport: 'tls', message: 'mutual tls' });
  });

  it('finds util-linux logger messages by MAC (RFC3164 over UDP, RFC5424 octet-counted over TCP)', async () => {
    const udpPort = String(port(svc.addresses['udp']));
    const tcpPort = String(port(svc.addresses['tcp']));
    execFileSync('logger', ['--server', '127.0.0.1', '--port', udpPort, '--udp', '--rfc3164', '-t', 'SipService',
      '00:90:7a:11:00:06|1700000000000|SipService|6|00| from logger rfc3164']);
    execFileSync('logger', ['--server', '127.0.0.1', '--port', tcpPort, '--tcp', '--octet-count', '--rfc5424', '-t', 'SlnkOTA',
      '00907a110007|1700000000000|SlnkOTA|3|00| from logger rfc5424']);
    const [a] = await rowsFor('00907a110006', 1);
    const [b] = await rowsFor('00:90:7A:11:00:07', 1);
    expect(a).toMatchObject({ mac: '00907a110006', tag: 'SipService', message: 'from logger rfc3164', transport: 'udp' });
    expect(b).toMatchObject({ mac: '00907a110007', tag: 'SlnkOTA', severity: 3, message: 'from logger rfc5424', transport: 'tcp' });
  });
});

describe('hostile input', () => {
  it('cuts and marks an oversize frame, survives garbage, invalid UTF-8 and a huge length prefix', async () => {
    const before = await metricsText(svc.http);
    const mac = '00907a110008';
    const big = line(mac, 'x'.repeat(10_000));
    await sendTcp([big + '\n']);
    await sendTcp([Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a]), Buffer.from('\u0000\u0001garbage\n')]);
    await sendTcp(['999999999 ' + 'a'.repeat(5000)]);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send(Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), port(svc.addresses['udp']), '127.0.0.1', () => r()));
    sock.close();
    const [row] = await rowsFor(mac, 1);
    expect(row?.raw.length).toBeLessThanOrEqual(4096);
    expect(row?.parse_error).toMatch(/maximum frame size/);
    const after = await until(
      () => metricsText(svc.http),
      (t) => metric(t, 'handlog_dropped_total{reason="frame_oversize"}') > metric(before, 'handlog_dropped_total{reason="frame_oversize"}'),
    );
    expect(metric(after, 'handlog_dropped_total{reason="frame_oversize"}')).toBeGreaterThan(0);
    const unparsed = await until(
      () => api<{ count: number }>(svc.http, '/api/logs/count?q=garbage'),
      (x) => x.body.count >= 1,
    );
    expect(unparsed.body.count).toBeGreaterThanOrEqual(1);
    const health = await api<{ status: string }>(svc.http, '/healthz');
    expect(health.status).toBe(200);
  });

  it('survives a connection flood and a half-open slow sender, and counts refused connections', async () => {
    const slow = net.connect(port(svc.addresses['tcp']), '127.0.0.1');
    slow.on('error', () => undefined);
    await new Promise((r) => slow.once('connect', r));
    slow.write('<134>Mar 10 11:59:58 host tag: partial frame with no end');
    const socks: net.Socket[] = [];
    await Promise.all(
      Array.from({ length: 200 }, () =>
        new Promise<void>((resolve) => {
          const s = net.connect(port(svc.addresses['tcp']), '127.0.0.1', () => resolve());
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          socks.push(s);
        }),
      ),
    );
    const mac = '00907a110009';
    await sendTcp([line(mac, 'still served') + '\n']).catch(() => undefined);
    for (const s of socks) s.destroy();
    slow.destroy();
    await new Promise((r) => setTimeout(r, 200));
    await sendTcp([line(mac, 'still served') + '\n']);
    const rows = await rowsFor(mac, 1);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    const m = await metricsText(svc.http);
    expect(metric(m, 'handlog_dropped_total{reason="conn_limit_per_ip"}')).toBeGreaterThan(0);
    expect(svc.store).toBeDefined();
  });
});

describe('API basics', () => {
  it('counts by filters and answers 400 on bad input', async () => {
    const mac = '00907a110010';
    await sendTcp([line(mac, 'count me', 0) + '\n', line(mac, 'count me too', 4) + '\n']);
    await rowsFor(mac, 2);
    const c = await api<{ count: number }>(svc.http, `/api/logs/count?mac=00-90-7a-11-00-10&severity=fatal,warning`);
    expect(c.body.count).toBe(2);
    const fatal = await api<{ count: number }>(svc.http, `/api/logs/count?mac=${mac}&severity=Fatal`);
    expect(fatal.body.count).toBe(1);
    const bad = await api<{ error: { code: string; message: string } }>(svc.http, '/api/logs?mac=nope');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^mac:/);
    const badSev = await api<{ error: { code: string; message: string } }>(svc.http, '/api/logs?severity=loud');
    expect(badSev.status).toBe(400);
    expect(badSev.body.error.message).toMatch(/^severity:/);
  });
});
