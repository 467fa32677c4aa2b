// Capture import and replay end to end: the handlog CLI (built dist/, as a user runs it) importing the
// handset's rotated syslog.txt.1..5 set, syslog-server files and packet captures written byte by byte,
// both straight into a data directory and through a running service; re-imports adding nothing; the
// sessions API; replay to a UDP socket keeping the original timing ÷ speed.

import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_TYPES, pcapFile, pcapngFile, tcpFrame, udpFrame, type Endpoint } from '../../capture/capture-writer.test-helper.js';
import type { SessionDetail, SessionSummary } from '../../capture/sessions.js';
import type { StoredRecord } from '../../core/record.js';
import { api, startTestService, tempDir, until } from './helpers.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'handlog.js');

async function handlog(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
}

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const bsd = (ms: number) => {
  const d = new Date(ms);
  return `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
};

/** The handset's internal form (guide: "As stored internally in the handset"). */
function internal(ms: number, mac: string, tag: string, sev: number, missed: number, text: string): string {
  return `<${128 + sev}>${bsd(ms)} ${mac} ${tag}: ${ms}|${tag}|${sev}|${String(missed).padStart(2, '0')}| <${text}>`;
}

/** The network form a syslog server receives. */
function network(ms: number, mac: string, tag: string, sev: number, text: string): string {
  return `<${128 + sev}>${bsd(ms)} 172.29.4.17 ${tag}[3367]: ${mac}| ${ms}| ${tag} |${sev}|00| ${text}`;
}

const DAY = Date.UTC(2026, 9, 20, 6, 0, 0); // 2026-10-20 06:00 UTC, before the files' mtime
let svc: Awaited<ReturnType<typeof startTestService>>;
const work = tempDir('handlog-capture-it-');

beforeAll(async () => {
  svc = await startTestService({ 'max-upload-mb': '1' });
}, 60_000);

afterAll(async () => {
  await svc?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function sessionRows(name: string): Promise<StoredRecord[]> {
  const res = await fetch(`${svc.http}/api/logs/export?format=ndjson&session=${encodeURIComponent(name)}`);
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as StoredRecord);
}

async function upload(name: string, filename: string, bytes: Buffer, params: Record<string, string> = {}): Promise<SessionDetail> {
  const res = await fetch(`${svc.http}/api/sessions?${new URLSearchParams({ name, filename, ...params })}`, {
    method: 'POST',
    body: bytes,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const { session } = (await res.json()) as { session: SessionSummary };
  return until(
    async () => (await api<SessionDetail>(svc.http, `/api/sessions/${session.id}`)).body,
    (s) => s.state !== 'importing',
  );
}

describe('handset syslog.txt.1..5 straight into a data directory (no service running)', () => {
  const mac = '00907a11baaa';
  const dir = path.join(work, 'files');
  const files: string[] = [];

  beforeAll(() => {
    fs.mkdirSync(dir, { recursive: true });
    // Five rotated files of 200 lines each, written while Wi-Fi was down: each starts with the
    // handset's gap record, the oldest one with an overwrite record; file 5 is the oldest.
    for (let n = 1; n <= 5; n++) {
      const start = DAY + (5 - n) * 3_600_000;
      const lines = [internal(start, mac, 'SlnkSysLog', 6, 0, `Gap in logging: Wi-Fi lost at ${new Date(start).toISOString()}`)];
      if (n === 5) lines.push(internal(start + 1, mac, 'SlnkSysLog', 6, 0, 'Overwrote 1520 older records'));
      for (let i = lines.length; i < 200; i++) {
        const sev = i % 50 === 0 ? 3 : 6;
        lines.push(internal(start + i * 1000, mac, i % 2 ? 'SipService' : 'SlnkHTTPServerUtils', sev, i === 100 ? 7 : 0, `event ${n}.${i}`));
      }
      const p = path.join(dir, `syslog.txt.${n}`);
      fs.writeFileSync(p, lines.join('\n') + '\n');
      files.push(p);
    }
  });

  it('imports the set as one session with the right counts, time range and handset', async () => {
    const data = path.join(work, 'data-direct');
    const { stdout } = await handlog(['import', ...files, '--data', data, '--session', 'handset pull', '--json']);
    const out = JSON.parse(stdout) as { session: SessionSummary; files: { name: string; stored: number; duplicateOf: string | null }[]; handsets: SessionDetail['handsets'] };
    expect(out.session).toMatchObject({ name: 'handset pull', state: 'done', lines_read: 1000, stored: 1000, unparsed: 0, duplicates: 0 });
    // Ordered by rotation: the oldest file (syslog.txt.5) first.
    expect(out.files.map((f) => f.name)).toEqual(['syslog.txt.5', 'syslog.txt.4', 'syslog.txt.3', 'syslog.txt.2', 'syslog.txt.1']);
    expect(out.session.from).toBe(new Date(DAY).toISOString());
    expect(out.session.to).toBe(new Date(DAY + 4 * 3_600_000 + 199_000).toISOString());
    expect(out.handsets).toEqual([{ mac, count: 1000, errors: 15 }]);

    const again = JSON.parse((await handlog(['import', ...files, '--data', data, '--session', 'handset pull', '--json'])).stdout) as typeof out;
    expect(again.files.every((f) => f.duplicateOf === 'handset pull')).toBe(true);
    expect(again.session).toMatchObject({ stored: 1000, duplicates: 5 });
    expect(again.handsets).toEqual([{ mac, count: 1000, errors: 15 }]);

    // Through the running service: uploaded oldest first, whatever the order given.
    const via = JSON.parse((await handlog(['import', ...files, '--data', svc.dir, '--session', 'handset pull via service', '--json'])).stdout) as typeof out;
    expect(via.files.map((f) => f.name)).toEqual(['syslog.txt.5', 'syslog.txt.4', 'syslog.txt.3', 'syslog.txt.2', 'syslog.txt.1']);
    expect(via.session).toMatchObject({ stored: 1000, from: out.session.from, to: out.session.to });
  }, 120_000);

  it('prints a readable summary and refuses bad arguments with exit code 2', async () => {
    const data = path.join(work, 'data-direct-2');
    const { stdout } = await handlog(['import', files[0] as string, '--data', data]);
    expect(stdout).toMatch(/session "syslog\.txt\.1" .*: done/);
    expect(stdout).toMatch(/lines read 200, stored 200, unparsed 0/);
    const bad = await handlog(['import', path.join(dir, 'missing.txt'), '--data', data]).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/cannot read file/);
  }, 60_000);
});

describe('through the running service', () => {
  it('imports Kiwi-style and rsyslog-style files with the CLI (data directory held by the service), once', async () => {
    const mac = '00907a11bacb';
    const t = DAY + 86_400_000;
    const kiwi = [
      `2026-10-21 06:00:01\tLocal0.Error\t172.29.101.149\t${network(t + 1000, mac, 'SlnkOTA', 3, 'download failed')}`,
      `2026-10-21 06:00:02 Local0.Info 172.29.101.149 ${network(t + 2000, mac, 'SipService', 6, 'Registered')}`,
      `2026-10-21 06:00:03 Local0.Warning 172.29.101.149 ${network(t + 3000, mac, 'SipService', 4, 'Re-registering')}`,
    ];
    const rsyslog = [
      `2026-10-21T06:00:04.500000+00:00 172.29.101.149 SipService[3367]: ${mac}|${t + 4500}|SipService|6|00| Call placed`,
      `Oct 21 06:00:05 172.29.101.149 SlnkHTTPServerUtils[3117]: ${mac}|${t + 5000}|SlnkHTTPServerUtils|7|00| Battery percentage: 0.87`,
      'this line is not syslog at all',
    ];
    const kiwiPath = path.join(work, 'kiwi.log');
    const rsysPath = path.join(work, 'messages');
    fs.writeFileSync(kiwiPath, kiwi.join('\r\n') + '\r\n');
    fs.writeFileSync(rsysPath, rsyslog.join('\n') + '\n');
    const { stdout, stderr } = await handlog(['import', kiwiPath, rsysPath, '--data', svc.dir, '--session', 'server files']);
    expect(stderr).toMatch(/sending to the running service/);
    expect(stdout).toMatch(/lines read 6, stored 6, unparsed 1/);

    const rows = await sessionRows('server files');
    expect(rows).toHaveLength(6);
    const byText = new Map(rows.map((r) => [r.message, r]));
    expect(byText.get('download failed')).toMatchObject({ mac, tag: 'SlnkOTA', severity: 3, transport: 'import', session: 'server files', time: new Date(t + 1000).toISOString() });
    expect(byText.get('Call placed')).toMatchObject({ mac, tag: 'SipService', severity: 6, time: new Date(t + 4500).toISOString() });
    expect(byText.get('Battery percentage: 0.87')?.battery?.level_pct).toBe(87);
    expect(rows.find((r) => r.format === 'raw')?.raw).toBe('this line is not syslog at all');

    await handlog(['import', kiwiPath, rsysPath, '--data', svc.dir, '--session', 'server files']);
    expect(await sessionRows('server files')).toHaveLength(6);
    const s = (await api<SessionDetail>(svc.http, '/api/sessions/server%20files')).body;
    expect(s).toMatchObject({ name: 'server files', state: 'done', stored: 6, unparsed: 1, duplicates: 2 });
    expect(s.handsets).toEqual([{ mac, count: 5, errors: 1 }]);
    expect(s.files.map((f) => f.name)).toEqual(['kiwi.log', 'messages']);
  }, 120_000);

  const handset: Endpoint = { ip: '172.29.4.17', port: 40001 };
  const handset2: Endpoint = { ip: '172.29.4.18', port: 40002 };
  const server: Endpoint = { ip: '10.0.0.5', port: 514 };
  const t = DAY + 2 * 86_400_000;
  const udpLines = [0, 1, 2].map((i) => network(t + i * 1000, '00907a11baaa', 'SipService', i === 1 ? 3 : 6, `udp ${i}`));
  const tcpLines = [0, 1, 2, 3].map((i) => network(t + 5000 + i * 100, '00907a11baab', 'SlnkOTA', 6, `tcp ${i} ${'x'.repeat(i * 40)}`));
  const stream = tcpLines.map((l) => `${Buffer.byteLength(l)} ${l}`).join('');
  // The stream split at awkward places: inside the length prefix, inside a message.
  const cuts = [0, 2, 50, 190, 191, stream.length];
  const segments = (link: 'ethernet' | 'sll2') => [
    tcpFrame(link, handset2, server, 999, { syn: true, ack: false }),
    ...cuts.slice(0, -1).map((c, i) => tcpFrame(link, handset2, server, 1000 + c, {}, stream.slice(c, cuts[i + 1]))),
    tcpFrame(link, handset2, server, 1000 + stream.length, { fin: true }),
  ];

  it('imports a pcap (Ethernet, UDP + a TCP stream split across segments) uploaded to POST /api/sessions, once', async () => {
    const packets = [
      ...udpLines.map((l, i) => ({ tsMs: t + i * 1000 + 3, frame: udpFrame('ethernet', handset, server, l) })),
      ...segments('ethernet').map((frame, i) => ({ tsMs: t + 5000 + i, frame })),
      { tsMs: t + 6000, frame: udpFrame('ethernet', handset, { ip: '10.0.0.1', port: 53 }, 'a DNS query, not syslog') },
    ];
    const cap = pcapFile(LINK_TYPES.ethernet, packets);
    const s = await upload('capture one', 'syslog.pcap', cap);
    expect(s).toMatchObject({ state: 'done', lines_read: 7, stored: 7, unparsed: 0 });
    expect(s.files).toEqual([expect.objectContaining({ name: 'syslog.pcap', format: 'pcap' })]);
    expect(s.skipped).toEqual({ not_syslog: 1 });
    const rows = await sessionRows('capture one');
    expect(rows.map((r) => r.message).sort()).toEqual([...udpLines, ...tcpLines].map((l) => l.slice(l.lastIndexOf('| ') + 2).trim()).sort());
    expect(rows.find((r) => r.message === 'udp 1')).toMatchObject({ source_ip: '172.29.4.17', severity: 3, mac: '00907a11baaa', time: new Date(t + 1000).toISOString() });
    expect(rows.filter((r) => r.source_ip === '172.29.4.18')).toHaveLength(4);
    expect(new Set(rows.map((r) => r.raw))).toEqual(new Set([...udpLines, ...tcpLines]));

    const again = await upload('capture one', 'syslog.pcap', cap);
    expect(again).toMatchObject({ stored: 7, duplicates: 1 });
    expect(await sessionRows('capture one')).toHaveLength(7);
  }, 60_000);

  it('imports a pcapng (Linux cooked v2, IPv6 UDP, nanosecond times, TCP stream) with the same rows', async () => {
    const v6: Endpoint = { ip: '2001:db8::17', port: 40001 };
    const v6srv: Endpoint = { ip: '2001:db8::5', port: 514 };
    const packets = [
      ...udpLines.map((l, i) => ({ tsMs: t + i * 1000, frame: udpFrame('sll2', v6, v6srv, l) })),
      ...segments('sll2').map((frame, i) => ({ tsMs: t + 5000 + i, frame })),
    ];
    const s = await upload('capture two', 'syslog.pcapng', pcapngFile([{ linkType: LINK_TYPES.sll2, tsresol: 9 }], packets));
    expect(s).toMatchObject({ state: 'done', lines_read: 7, stored: 7, unparsed: 0 });
    expect(s.files[0]?.format).toBe('pcapng');
    const rows = await sessionRows('capture two');
    expect(rows.filter((r) => r.source_ip === '2001:db8::17').map((r) => r.message).sort()).toEqual(['udp 0', 'udp 1', 'udp 2']);
    expect(rows.filter((r) => r.source_ip === '172.29.4.18')).toHaveLength(4);
  }, 60_000);

  it('refuses an upload over --max-upload-mb with 413, an empty one with 400, and deletes a session with its rows', async () => {
    const big = await fetch(`${svc.http}/api/sessions?name=big`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024, 0x41) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { message: string } }).error.message).toMatch(/--max-upload-mb/);
    const empty = await fetch(`${svc.http}/api/sessions?name=empty`, { method: 'POST', body: '' });
    expect(empty.status).toBe(400);
    const badName = await fetch(`${svc.http}/api/sessions?name=${encodeURIComponent('a/b')}`, { method: 'POST', body: 'x' });
    expect(badName.status).toBe(400);

    const list = (await api<{ sessions: SessionSummary[] }>(svc.http, '/api/sessions')).body.sessions;
    expect(list.map((s) => s.name)).toEqual(expect.arrayContaining(['server files', 'capture one', 'capture two']));
    const del = await fetch(`${svc.http}/api/sessions/capture%20two`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await sessionRows('capture two')).toHaveLength(0);
    expect((await api(svc.http, '/api/sessions/capture%20two')).status).toBe(404);
  }, 60_000);

  // A year-less, zone-less line: its year comes from the anchor, its UTC time from the zone.
  const yearless = (text: string) => `Mar  9 10:23:17 172.29.4.17 kernel: ${text}\n`;
  type UploadView = SessionDetail & { uploads: { id: string; filename: string; state: string; file: { name: string; duplicateOf: string | null; stored: number } | null }[] };

  it('an upload takes now and tz as handlog import does, refuses bad ones with a 400 naming them, and reports each upload', async () => {
    const post = (q: string) => fetch(`${svc.http}/api/sessions?name=refused&${q}`, { method: 'POST', body: yearless('refused') });
    for (const [q, param] of [
      ['now=yesterday', 'now'],
      ['now=2026-13-45T00:00:00Z', 'now'],
      ['now=2026-04-01T00:00:00Z&now=2026-04-02T00:00:00Z', 'now'],
      ['tz=Mars%2FOlympus', 'tz'],
      ['tz=', 'tz'],
    ] as const) {
      const r = await post(q);
      expect(r.status, q).toBe(400);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code, q).toBe('BAD_REQUEST');
      expect(body.error.message, q).toMatch(new RegExp(`^${param}: `));
    }
    expect((await api(svc.http, '/api/sessions/refused')).status).toBe(404);

    const res = await fetch(`${svc.http}/api/sessions?name=anchored&filename=nowt.log&now=2026-04-01T00:00:00Z&tz=Europe%2FBerlin`, {
      method: 'POST',
      body: yearless('now flag test'),
    });
    expect(res.status).toBe(202);
    const { upload: posted } = (await res.json()) as { upload: { id: string; filename: string; state: string } };
    expect(posted).toMatchObject({ filename: 'nowt.log', state: 'queued' });
    const done = await until(
      async () => (await api<UploadView>(svc.http, '/api/sessions/anchored')).body,
      (s) => s.uploads.some((u) => u.id === posted.id && u.state === 'done'),
    );
    // 10:23:17 in Berlin (CET) on 9 March of the year before 1 April 2026, whatever the date today.
    expect(done).toMatchObject({ state: 'done', stored: 1, from: '2026-03-09T09:23:17.000Z', to: '2026-03-09T09:23:17.000Z' });
    expect(done.uploads).toEqual([expect.objectContaining({ id: posted.id, state: 'done', file: expect.objectContaining({ name: 'nowt.log', duplicateOf: null, stored: 1 }) })]);

    // The same bytes again: skipped, and the upload says so.
    const again = await upload('anchored', 'nowt.log', Buffer.from(yearless('now flag test')), { now: '2026-04-01T00:00:00Z', tz: 'Europe/Berlin' });
    expect(again).toMatchObject({ stored: 1, duplicates: 1 });
    const view = await until(
      async () => (await api<UploadView>(svc.http, '/api/sessions/anchored')).body,
      (s) => s.uploads.length === 2 && s.uploads.every((u) => u.state === 'done'),
    );
    expect(view.uploads[1]?.file).toMatchObject({ name: 'nowt.log', duplicateOf: 'anchored', stored: 0 });
  }, 60_000);

  it('handlog import through the service anchors and zones year-less times as an import into the data directory does', async () => {
    const dir = path.join(work, 'anchors');
    fs.mkdirSync(dir, { recursive: true });
    const withNow = path.join(dir, 'nowt.log');
    fs.writeFileSync(withNow, yearless('now flag test (cli)'));
    // No --now: the file's modification time is the anchor, not the time of the upload.
    const byMtime = path.join(dir, 'mtime.log');
    fs.writeFileSync(byMtime, yearless('modification time test'));
    const modified = new Date('2025-06-01T12:00:00Z');
    fs.utimesSync(byMtime, modified, modified);
    type Out = { session: SessionSummary; files: { name: string; duplicateOf: string | null; stored: number }[] | null };
    const run = async (args: string[]) => JSON.parse((await handlog(['import', ...args, '--json'])).stdout) as Out;
    const nowArgs = ['--now', '2026-04-01T00:00:00Z', '--tz', 'Europe/Berlin'];

    const viaNow = await run([withNow, '--data', svc.dir, '--session', 'now flag', ...nowArgs]);
    const viaMtime = await run([byMtime, '--data', svc.dir, '--session', 'file time']);
    expect(viaNow.session).toMatchObject({ state: 'done', stored: 1, from: '2026-03-09T09:23:17.000Z' });
    expect(viaMtime.session).toMatchObject({ state: 'done', stored: 1, from: '2025-03-09T10:23:17.000Z' });
    expect(viaNow.files).toEqual([expect.objectContaining({ name: 'nowt.log', duplicateOf: null, stored: 1 })]);
    expect((await sessionRows('now flag')).map((r) => r.time)).toEqual(['2026-03-09T09:23:17.000Z']);
    expect((await sessionRows('file time')).map((r) => r.time)).toEqual(['2025-03-09T10:23:17.000Z']);

    const data = path.join(work, 'data-anchors');
    const direct = await run([withNow, byMtime, '--data', data, '--session', 'direct', ...nowArgs]);
    expect(direct.session.from).toBe(viaNow.session.from);
    const directMtime = await run([byMtime, '--data', path.join(work, 'data-anchors-2'), '--session', 'direct']);
    expect(directMtime.session.from).toBe(viaMtime.session.from);

    // Again through the service: each file said to be skipped, as the direct import says it.
    const text = (await handlog(['import', withNow, byMtime, '--data', svc.dir, '--session', 'now flag', ...nowArgs])).stdout;
    expect(text).toMatch(/^ {2}nowt\.log: already imported \(session "now flag"\), skipped$/m);
    expect(text).toMatch(/^ {2}mtime\.log: already imported \(session "file time"\), skipped$/m);
    const json = await run([withNow, byMtime, '--data', svc.dir, '--session', 'now flag']);
    expect(json.files?.map((f) => [f.name, f.duplicateOf, f.stored])).toEqual([
      ['nowt.log', 'now flag', 0],
      ['mtime.log', 'file time', 0],
    ]);
    expect(json.session).toMatchObject({ stored: 1, duplicates: 4 });
    const directAgain = await run([withNow, byMtime, '--data', data, '--session', 'direct']);
    expect(directAgain.files?.map((f) => f.duplicateOf)).toEqual(['direct', 'direct']);
  }, 120_000);
});

describe('replay', () => {
  it('re-sends a 30-second capture at --speed 10 with inter-arrival times within 10 % of the originals ÷ 10', async () => {
    // Gaps of 2–5 s, 30 s in all, as a handset's messages over half a minute.
    const gaps = [2000, 4000, 3000, 5000, 2500, 3500, 2000, 4000, 4000];
    expect(gaps.reduce((a, b) => a + b, 0)).toBe(30_000);
    const t0 = DAY + 3 * 86_400_000;
    const times = gaps.reduce<number[]>((acc, g) => [...acc, (acc[acc.length - 1] as number) + g], [t0]);
    const lines = times.map((ms, i) => network(ms, '00907a11baac', 'SipService', i === 7 ? 3 : 6, `replayed ${i}`));
    const file = path.join(work, 'replay.log');
    fs.writeFileSync(file, lines.join('\n') + '\n');

    // The receiver is its own process: its clock readings wait neither on this process's event loop
    // nor on the embedded store's threads.
    const receiver = spawn(
      process.execPath,
      [
        '-e',
        `const sock = require('node:dgram').createSocket('udp4');
         const got = [];
         sock.on('message', (m) => { got.push({ at: performance.timeOrigin + performance.now(), text: m.toString() });
           if (got.length === ${lines.length}) { process.stdout.write(JSON.stringify(got) + '\\n'); sock.close(); } });
         sock.bind(0, '127.0.0.1', () => process.stdout.write(sock.address().port + '\\n'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const port = Number((await until(async () => out, (o) => o.includes('\n'), 10_000)).split('\n')[0]);
      const { stdout } = await handlog(['replay', file, '--to', `udp://127.0.0.1:${port}`, '--speed', '10']);
      expect(stdout).toMatch(/sent 10 of 10 messages/);
      const got = JSON.parse((await until(async () => out, (o) => o.split('\n').length > 2, 10_000)).split('\n')[1] as string) as { at: number; text: string }[];
      expect(got.map((g) => g.text)).toEqual(lines);
      const arrivals = got.map((g, i) => Math.round(g.at - (got[Math.max(0, i - 1)] as { at: number }).at));
      const deviations = gaps.map((g, i) => Math.abs((got[i + 1] as { at: number }).at - (got[i] as { at: number }).at - g / 10) / (g / 10));
      expect(Math.max(...deviations), JSON.stringify(arrivals)).toBeLessThan(0.1);
    } finally {
      receiver.kill();
    }
  }, 60_000);

  it('re-sends an imported session in its original order (--session, through the running service)', async () => {
    const t0 = DAY + 4 * 86_400_000;
    const lines = [3, 0, 2, 1].map((i) => network(t0 + i * 1000, '00907a11baac', 'SipService', 6, `session ${i}`));
    const file = path.join(work, 'session.log');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    await handlog(['import', file, '--data', svc.dir, '--session', 'replay me']);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const got: string[] = [];
    sock.on('message', (m) => got.push(m.toString()));
    try {
      const { stdout } = await handlog(['replay', '--session', 'replay me', '--data', svc.dir, '--to', `udp://127.0.0.1:${sock.address().port}`, '--speed', '0']);
      expect(stdout).toMatch(/sent 4 of 4 messages/);
      await until(async () => got.length, (n) => n === 4, 5000);
      expect(got).toEqual([1, 3, 2, 0].map((i) => lines[i]));
    } finally {
      sock.close();
    }
  }, 60_000);

  it('replays a pcap file as fast as possible over TCP with octet counting, filtered by MAC', async () => {
    const handset: Endpoint = { ip: '172.29.4.17', port: 40001 };
    const server: Endpoint = { ip: '10.0.0.5', port: 514 };
    const lines = [0, 1, 2, 3].map((i) => network(DAY + i * 60_000, i % 2 ? '00907a11baad' : '00907a11baae', 'SipService', 6, `p ${i}`));
    const file = path.join(work, 'r.pcap');
    fs.writeFileSync(file, pcapFile(LINK_TYPES.ethernet, lines.map((l, i) => ({ tsMs: DAY + i * 60_000, frame: udpFrame('ethernet', handset, server, l) }))));
    const net = await import('node:net');
    const received: Buffer[] = [];
    const srv = net.createServer((s) => s.on('data', (d) => received.push(d)));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (srv.address() as { port: number }).port;
      const { stdout } = await handlog(['replay', file, '--to', `tcp://127.0.0.1:${port}`, '--speed', '0', '--mac', '00:90:7A:11:BA:AD']);
      expect(stdout).toMatch(/sent 2 of 2 messages/);
      await until(async () => Buffer.concat(received).length, (n) => n > 0, 5000);
      const want = [lines[1], lines[3]].map((l) => `${Buffer.byteLength(l as string)} ${l}`).join('');
      await until(async () => Buffer.concat(received).toString(), (s) => s === want, 5000);
    } finally {
      srv.close();
    }
  }, 60_000);
});

/** A UDP socket that collects what it receives. */
async function udpSink(): Promise<{ url: string; got: string[]; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  // A full-speed replay of 300 datagrams outruns the default receive buffer (~208 KiB) whenever this
  // process is busy (CI, a build alongside): lost datagrams would be the test's, not replay's.
  sock.setRecvBufferSize(4 * 1024 * 1024);
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  return { url: `udp://127.0.0.1:${sock.address().port}`, got, close: () => sock.close() };
}

describe('log files: order, years, times of their own, frames (import and replay agree)', () => {
  const dir = path.join(work, 'logfiles');
  const written = new Date('2026-12-02T09:00:00Z'); // the files' modification time
  const mac = '00907a11baaf';
  const T = Date.UTC(2026, 2, 10, 10, 0, 0); // 2026-03-10: before the files were written, more than 3 months back
  const seqLine = (seq: number) => internal(T + seq * 1000, mac, 'SipService', 6, 0, `seq ${seq}`);
  const write = (name: string, lines: string[]) => {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, lines.join('\n') + '\n');
    fs.utimesSync(p, written, written);
    return p;
  };
  const rotated: string[] = [];
  let kernel = '';
  let logcat = '';
  let mixed = '';
  let kiwi = '';
  const kiwiBody = (i: number) => `172.29.101.149 SlnkHTTPServerUtils[3117]: 00907a11bacb| ${1384554194760 + i * 800}| SlnkHTTPServerUtils |7|00| Response Code:404`;

  beforeAll(() => {
    // syslog.txt.3 is the oldest: seq 0..99 in .3, 100..199 in .2, 200..299 in .1.
    for (let n = 1; n <= 3; n++) rotated.push(write(`rot/syslog.txt.${n}`, Array.from({ length: 100 }, (_, i) => seqLine((3 - n) * 100 + i))));
    kernel = write('kernel.log', ['Mar  9 10:23:16 172.29.4.17 kernel: wlan0: link down']);
    logcat = write('logcat.txt', [
      '--------- beginning of main',
      '02-27 18:51:16.580 V/SlnkHTTPServerUtils( 3093): Battery percentage: 1.0',
      'I/battery_level( 2488): [81,3986,254]',
      '02-27 18:51:17.580 V/SlnkHTTPServerUtils( 3093): Battery temperature: 26.3',
      '--------- beginning of system',
    ]);
    // rsyslog: traditional lines (zone-less, taken as UTC) mixed with ISO lines at +01:00.
    mixed = write('mixed.log', [
      'Mar 10 10:00:00 172.29.4.17 SipService: one',
      '2026-03-10T10:00:01+01:00 172.29.4.17 SipService: two',
      'Mar 10 10:00:02 172.29.4.17 SipService: three',
      '2026-03-10T10:00:03+01:00 172.29.4.17 SipService: four',
    ]);
    kiwi = write('kiwi.txt', [
      ...[0, 1, 2, 3, 4].map((i) => `2013-11-15 15:23:0${5 + i} Local0.Debug 172.29.101.149 Nov 15 10:23:1${i} ${kiwiBody(i)}`),
      'this line is garbage',
    ]);
  });

  it('replays the rotated files oldest first, whatever the argument order, with a positive span', async () => {
    const sink = await udpSink();
    try {
      const { stdout, stderr } = await handlog(['replay', ...rotated, '--to', sink.url, '--speed', '0']);
      expect(stdout).toMatch(/sent 300 of 300 messages/);
      expect(stderr).toMatch(/replaying 300 messages spanning 299\.0 s/);
      await until(async () => sink.got.length, (n) => n === 300, 5000);
      expect(sink.got).toEqual(Array.from({ length: 300 }, (_, seq) => seqLine(seq)));
      const fast = await handlog(['replay', ...rotated, '--to', sink.url, '--speed', '1000']);
      expect(fast.stderr).toMatch(/spanning 299\.0 s .* at 1000x \(about 0\.3 s\)/);
    } finally {
      sink.close();
    }
  }, 60_000);

  it('replays a file whose lines are out of time order: span from min to max, the older line right after the one before', async () => {
    const sink = await udpSink();
    try {
      const { stdout, stderr } = await handlog(['replay', mixed, '--to', sink.url, '--speed', '1000']);
      expect(stdout).toMatch(/sent 4 of 4 messages in 0\.0\d s/);
      // 09:00:01Z (two) to 10:00:02Z (three); the schedule runs from one (10:00:00Z) to three: 2 s.
      expect(stderr).toMatch(/spanning 3601\.0 s .* \(about 0\.0 s\)/);
      await until(async () => sink.got.length, (n) => n === 4, 5000);
      // rsyslog does not keep the PRI: user.notice is added (RFC 3164 §4.3.3).
      expect(sink.got).toEqual([
        '<13>Mar 10 10:00:00 172.29.4.17 SipService: one',
        '<13>2026-03-10T10:00:01+01:00 172.29.4.17 SipService: two',
        '<13>Mar 10 10:00:02 172.29.4.17 SipService: three',
        '<13>2026-03-10T10:00:03+01:00 172.29.4.17 SipService: four',
      ]);
    } finally {
      sink.close();
    }
  }, 60_000);

  it('imports only the new lines of a file that has grown since it was imported (through the service)', async () => {
    const data = svc.dir;
    const dir = path.join(work, 'grow');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'syslog.txt');
    const mac = '00907a11beef';
    const lines = Array.from({ length: 100 }, (_, i) => internal(DAY + i * 1000, mac, 'SipService', 6, 0, `seq=${i} end`) + '\n');
    type Out = { session: SessionSummary; files: { name: string; stored: number; duplicateOf: string | null; grownFrom?: { session: string; bytes: number } }[] };
    const imp = async (session: string) => JSON.parse((await handlog(['import', file, '--data', data, '--session', session, '--json'])).stdout) as Out;
    // Pulled while the handset was writing: 40 lines and half of the 41st.
    const first = lines.slice(0, 40).join('') + (lines[40] as string).slice(0, 30);
    fs.writeFileSync(file, first);
    expect((await imp('pull 1')).session).toMatchObject({ stored: 41 });
    // Pulled again later: the same bytes and 60 more lines.
    fs.writeFileSync(file, lines.join(''));
    const second = await imp('pull 2');
    expect(second.files[0]).toMatchObject({ duplicateOf: null, stored: 60, grownFrom: { session: 'pull 1', bytes: Buffer.byteLength(first) } });
    // Pulled once more, unchanged: nothing new.
    expect((await imp('pull 3')).files[0]).toMatchObject({ duplicateOf: 'pull 2', stored: 0 });
    const text = (await handlog(['import', file, '--data', data, '--session', 'pull 4'])).stdout;
    expect(text).toContain('already imported (session "pull 2"), skipped');

    const rows = [...(await sessionRows('pull 1')), ...(await sessionRows('pull 2'))];
    const seqs = rows.map((r) => /seq=(\d+)/.exec(r.raw ?? '')?.[1]).map(Number);
    // Every line once, except line 40: its half from the first pull is kept (raw), and it is read whole again.
    expect(seqs.filter((n) => n !== 40 && !Number.isNaN(n)).sort((a, b) => a - b)).toEqual([...Array(100).keys()].filter((n) => n !== 40));
    expect(rows.filter((r) => r.raw === (lines[40] as string).trimEnd())).toHaveLength(1);
    expect(rows).toHaveLength(101);
    expect(rows.filter((r) => r.raw === first.slice(first.lastIndexOf('\n') + 1))).toHaveLength(1);
  }, 120_000);

  it('imports year-less times no later than the file was written, and untimed lines at their neighbours’ time', async () => {
    const data = path.join(work, 'data-logfiles');
    const set = JSON.parse((await handlog(['import', ...rotated, '--data', data, '--session', 'rotated', '--json'])).stdout) as {
      session: SessionSummary;
      files: { name: string }[];
    };
    expect(set.files.map((f) => f.name)).toEqual(['syslog.txt.3', 'syslog.txt.2', 'syslog.txt.1']);
    expect(set.session).toMatchObject({ from: new Date(T).toISOString(), to: new Date(T + 299_000).toISOString() });
    const one = async (file: string, name: string) =>
      (JSON.parse((await handlog(['import', file, '--data', data, '--session', name, '--json'])).stdout) as { session: SessionSummary }).session;
    // Modified 2026-12-02: "Mar  9" is 2026-03-09, not 2027 (the closest year).
    expect(await one(kernel, 'kernel')).toMatchObject({ stored: 1, from: '2026-03-09T10:23:16.000Z', to: '2026-03-09T10:23:16.000Z' });
    // Logcat headers and the brief-form line (no time) sit among their neighbours, not at the import time.
    expect(await one(logcat, 'logcat')).toMatchObject({ stored: 5, from: '2026-02-27T18:51:16.580Z', to: '2026-02-27T18:51:17.580Z' });
    // The replay of the session and of the file say the same span.
    const sink = await udpSink();
    try {
      const session = await handlog(['replay', '--session', 'logcat', '--data', data, '--to', sink.url, '--speed', '0']);
      const file = await handlog(['replay', logcat, '--to', sink.url, '--speed', '0']);
      expect(session.stderr).toMatch(/replaying 5 messages spanning 1\.0 s/);
      expect(file.stderr).toMatch(/replaying 5 messages spanning 1\.0 s/);
    } finally {
      sink.close();
    }
  }, 120_000);

  it('stores a Kiwi file with a garbage line inside its own time range, and replays <PRI> + the sender message', async () => {
    await handlog(['import', kiwi, '--data', svc.dir, '--session', 'kiwi garbage']);
    const s = (await api<SessionDetail>(svc.http, '/api/sessions/kiwi%20garbage')).body;
    expect(s).toMatchObject({ stored: 6, unparsed: 1, from: '2013-11-15T22:23:14.760Z', to: '2013-11-15T22:23:17.960Z' });
    const rows = await sessionRows('kiwi garbage');
    const garbage = rows.find((r) => r.format === 'raw');
    // Its time is the line before it; syslog_time and device_time stay null (the time is not its own).
    expect(garbage).toMatchObject({ raw: 'this line is garbage', time: '2013-11-15T22:23:17.960Z', syslog_time: null, device_time: null });
    expect(Date.parse(garbage?.received_at ?? '')).toBeGreaterThan(Date.now() - 600_000);
    expect(rows.find((r) => r.message === 'Response Code:404')?.raw).toMatch(/^2013-11-15 15:23:0\d Local0\.Debug /);

    const sink = await udpSink();
    try {
      const session = await handlog(['replay', '--session', 'kiwi garbage', '--data', svc.dir, '--to', sink.url, '--speed', '1000']);
      expect(session.stderr).toMatch(/replaying 6 messages spanning 3\.2 s/);
      await until(async () => sink.got.length, (n) => n === 6, 5000);
      const want = [...[0, 1, 2, 3, 4].map((i) => `<135>Nov 15 10:23:1${i} ${kiwiBody(i)}`), 'this line is garbage'];
      expect(sink.got).toEqual(want);
      const file = await handlog(['replay', kiwi, '--to', sink.url, '--speed', '1000']);
      expect(file.stderr).toMatch(/replaying 6 messages spanning 3\.2 s/);
      await until(async () => sink.got.length, (n) => n === 12, 5000);
      expect(sink.got.slice(6)).toEqual(want);
    } finally {
      sink.close();
    }
  }, 60_000);
});
