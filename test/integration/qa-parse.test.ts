// What senders send, over real sockets and back through /api/logs (qa-parse findings).

import dgram from 'node:dgram';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../core/record.js';
import { api, port, serviceForFile, until } from './helpers.js';

const svc = serviceForFile();

async function rows(query: string, n: number): Promise<StoredRecord[]> {
  const r = await until(
    () => api<{ rows: StoredRecord[] }>(svc.http, `/api/logs?${query}&limit=1000`),
    (x) => x.body.rows !== undefined && x.body.rows.length >= n,
  );
  return r.body.rows;
}

function udp(data: Buffer): Promise<void> {
  const sock = dgram.createSocket('udp4');
  return new Promise<void>((r) =>
    sock.send(data, port(svc.addresses['udp']), '127.0.0.1', () => {
      sock.close();
      r();
    }),
  );
}

function tcp(data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port(svc.addresses['tcp']), '127.0.0.1', () => s.end(data));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

describe('sender encodings', () => {
  it('keeps Latin-1 / Windows-1252 bytes readable in message and raw (they became U+FFFD)', async () => {
    const line = '<134>Dec  2 15:00:00 172.29.69.31 SipService[3367]: 00907a11c0de|1764687600000|SipService|6|00| Caf\xe9 \x93Empf\xe4nger\x94';
    await udp(Buffer.from(line, 'latin1'));
    const [row] = await rows('mac=00907a11c0de', 1);
    expect(row?.message).toBe('Café \u201cEmpfänger\u201d');
    expect(row?.raw).toBe('<134>Dec  2 15:00:00 172.29.69.31 SipService[3367]: 00907a11c0de|1764687600000|SipService|6|00| Café \u201cEmpfänger\u201d');
  });
});

describe('handset tags with spaces', () => {
  it('finds by MAC a line whose header tag has spaces, sent octet-counted over TCP', async () => {
    const tag = 'SlnkWebViewHelper - SlnkJavaScriptInterface';
    const m = `<134>Dec  2 15:00:00 172.29.69.32 ${tag}[2211]: 00907a11c0df| 1764687600123| ${tag} |134|05| onPageFinished`;
    await tcp(Buffer.from(`${Buffer.byteLength(m)} ${m}`));
    const [row] = await rows('mac=00:90:7a:11:c0:df', 1);
    expect(row).toMatchObject({
      format: 'pivot',
      tag,
      pid: 2211,
      host: '172.29.69.32',
      severity_name: 'Info',
      missed_events: 5,
      device_time: '2025-12-02T15:00:00.123Z',
      time: '2025-12-02T15:00:00.123Z',
      message: 'onPageFinished',
    });
  });
});

describe('imported files in a single-byte encoding', () => {
  it('keeps their Latin-1 characters (a Windows syslog server export)', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { readCapture, newReadStats } = await import('../../capture/reader.js');
    const file = path.join(svc.dir, 'kiwi-latin1.txt');
    fs.writeFileSync(file, Buffer.from('2025-12-02 15:00:01 Local0.Info 10.0.0.7 Dec  2 15:00:00 10.0.0.7 app: Zur\xfcck \x96 fertig\r\n', 'latin1'));
    const raws: string[] = [];
    for await (const batch of readCapture(file, newReadStats())) for (const m of batch) raws.push(m.raw);
    expect(raws).toEqual(['2025-12-02 15:00:01 Local0.Info 10.0.0.7 Dec  2 15:00:00 10.0.0.7 app: Zurück – fertig']);
  });
});

describe('handlog parse', () => {
  it('reads a file in a single-byte encoding as ingest does (Windows-1252, not U+FFFD)', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { spawnSync } = await import('node:child_process');
    const file = path.join(svc.dir, 'parse-latin1.txt');
    fs.writeFileSync(file, Buffer.from('<13>Dec  2 15:00:01 host app: caf\xe9 \x80\r\n', 'latin1'));
    const bin = path.join(import.meta.dirname, '..', '..', 'bin', 'handlog.js'); // the built CLI
    const r = spawnSync(process.execPath, [bin, 'parse', '--now', '2026-12-02T16:00:00Z', file], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(r.stdout).message).toBe('café €');
  });
});
