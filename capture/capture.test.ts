import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import dgram from 'node:dgram';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { makeCerts } from '../bench/ingest/harness.js';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLine, senderFrame } from '../parsers/detect.js';
import { inferYear } from '../parsers/time.js';
import { LINK_TYPES, pcapFile, pcapngFile, tcpFrame, udpFragments, udpFrame, type Endpoint } from './capture-writer.test-helper.js';
import { fileParseContext, LineTimes, orderFiles } from './file-times.js';
import { decodePacket } from './packet.js';
import { newReadStats, readCapture, type CaptureMessage, type ReadStats } from './reader.js';
import { parseTarget, replay, scheduleMs, timeSpanMs } from './replay.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-capture-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function read(name: string, bytes: Buffer | string): Promise<{ msgs: CaptureMessage[]; stats: ReadStats }> {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  const stats = newReadStats();
  const msgs: CaptureMessage[] = [];
  for await (const batch of readCapture(p, stats)) msgs.push(...batch);
  return { msgs, stats };
}

const handset: Endpoint = { ip: '172.29.4.17', port: 40001 };
const server: Endpoint = { ip: '10.0.0.5', port: 514 };
const line = (n: number, sev = 6) =>
  `<${128 + sev}>Mar 10 11:59:${String(n).padStart(2, '0')} 172.29.4.17 SipService[3367]: 00907a11baaa| 17731439${String(n).padStart(2, '0')}000| SipService |${sev}|00| message ${n}`;
const T0 = Date.UTC(2026, 2, 10, 11, 59, 0);

describe('pcap', () => {
  it('reads UDP syslog datagrams over Ethernet with their packet times (µs, little-endian)', async () => {
    const packets = [0, 1, 2].map((i) => ({ tsMs: T0 + i * 1500.25, frame: udpFrame('ethernet', handset, server, line(i) + '\n') }));
    const { msgs, stats } = await read('udp.pcap', pcapFile(LINK_TYPES.ethernet, packets));
    expect(stats.kind).toBe('pcap');
    expect(stats.packets).toBe(3);
    expect(msgs.map((m) => m.raw)).toEqual([line(0), line(1), line(2)]);
    expect(msgs.map((m) => m.tsMs)).toEqual([T0, T0 + 1500.25, T0 + 3000.5]);
    expect(msgs[0]).toMatchObject({ sourceIp: '172.29.4.17', transport: 'udp', truncated: false });
  });

  it('reads big-endian nanosecond pcap over Linux cooked capture, IPv6', async () => {
    const v6a: Endpoint = { ip: 'fe80::290:7aff:fe11:baaa', port: 40001 };
    const v6b: Endpoint = { ip: '2001:db8::5', port: 5514 };
    const packets = [{ tsMs: T0 + 0.000123, frame: udpFrame('sll', v6a, v6b, line(1)) }];
    const { msgs } = await read('v6.pcap', pcapFile(LINK_TYPES.sll, packets, { ns: true, bigEndian: true }));
    expect(msgs).toHaveLength(1);
    expect(msgs[0]?.sourceIp).toBe('fe80::290:7aff:fe11:baaa');
    expect(msgs[0]?.tsMs).toBeCloseTo(T0 + 0.000123, 6);
  });

  it('reassembles a TCP stream split across segments, out of order and retransmitted, in both framings', async () => {
    const octet = [line(1), line(2), line(3)].map((l) => `${Buffer.byteLength(l)} ${l}`).join('');
    const lf = [line(4), line(5)].map((l) => `${l}\n`).join('');
    const isn = 4_294_967_000; // wraps around 2^32 inside the stream
    const a: Endpoint = { ip: '172.29.4.17', port: 40002 };
    const b: Endpoint = { ip: '172.29.4.18', port: 40003 };
    const seg = (from: Endpoint, data: string, off: number, len: number, base: number) => tcpFrame('ethernet', from, server, base + 1 + off, {}, data.slice(off, off + len));
    const frames = [
      tcpFrame('ethernet', a, server, isn, { syn: true, ack: false }),
      seg(a, octet, 0, 50, isn),
      seg(a, octet, 120, 500, isn), // arrives before 50..120
      seg(a, octet, 50, 70, isn),
      seg(a, octet, 0, 50, isn), // retransmission
      tcpFrame('ethernet', a, server, isn + 1 + octet.length, { fin: true }),
      tcpFrame('ethernet', b, server, 1000, { syn: true, ack: false }),
      seg(b, lf, 0, 30, 1000),
      seg(b, lf, 30, 1000, 1000),
      tcpFrame('ethernet', b, server, 1001 + lf.length, { fin: true }),
    ];
    const { msgs, stats } = await read('tcp.pcap', pcapFile(LINK_TYPES.ethernet, frames.map((frame, i) => ({ tsMs: T0 + i * 10, frame }))));
    expect(msgs.map((m) => m.raw)).toEqual([line(1), line(2), line(3), line(4), line(5)]);
    expect(msgs.every((m) => m.transport === 'tcp')).toBe(true);
    expect(stats.tcpFlows).toBe(2);
    expect(stats.tcpGaps).toBe(0);
  });

  it('reassembles a long UDP message sent as IPv4 and IPv6 fragments, in any order', async () => {
    const long = `${line(3)} ${'y'.repeat(3000)}`;
    const v4 = udpFragments('ethernet', handset, server, long, 1480);
    const v6 = udpFragments('ethernet', { ip: '2001:db8::17', port: 40001 }, { ip: '2001:db8::5', port: 514 }, long, 1232, 7);
    expect(v4.length).toBe(3);
    const frames = [v4[2], v6[1], v4[0], v6[0], v6[2], v4[1]] as Buffer[];
    const lost = udpFragments('ethernet', handset, server, long, 1480, 99).slice(0, 2); // last fragment never came
    const { msgs, stats } = await read('frag.pcap', pcapFile(LINK_TYPES.ethernet, [...frames, ...lost].map((frame, i) => ({ tsMs: T0 + i, frame }))));
    expect(msgs.map((m) => m.raw)).toEqual([long, long]);
    expect(msgs.map((m) => m.sourceIp)).toEqual(['2001:db8::17', '172.29.4.17']);
    expect(stats.skipped).toEqual({ ip_fragment: 1 });
  });

  it('skips traffic that is not syslog and counts why', async () => {
    const frames = [
      udpFrame('ethernet', handset, { ip: '10.0.0.1', port: 53 }, 'dns query'),
      udpFrame('ethernet', handset, server, line(1)),
      Buffer.from('short'),
    ];
    const { msgs, stats } = await read('mixed.pcap', pcapFile(LINK_TYPES.ethernet, frames.map((frame) => ({ tsMs: T0, frame }))));
    expect(msgs).toHaveLength(1);
    expect(stats.skipped).toEqual({ not_syslog: 1, truncated: 1 });
  });

  it('keeps the packets before a corrupt record and says why it stopped', async () => {
    const good = pcapFile(LINK_TYPES.ethernet, [{ tsMs: T0, frame: udpFrame('ethernet', handset, server, line(1)) }]);
    const { msgs, stats } = await read('cut.pcap', Buffer.concat([good, Buffer.from([1, 2, 3, 4, 5, 6, 7])]));
    expect(msgs).toHaveLength(1);
    expect(stats.error).toMatch(/ends inside a record/);
  });
});

describe('pcapng', () => {
  it('reads Enhanced Packet Blocks on two interfaces (Ethernet µs, Linux cooked v2 ns) and a TCP stream', async () => {
    const stream = [line(7), line(8)].map((l) => `${Buffer.byteLength(l)} ${l}`).join('');
    const packets = [
      { tsMs: T0 + 1, frame: udpFrame('ethernet', handset, server, line(6)) },
      { tsMs: T0 + 2, iface: 1, frame: tcpFrame('sll2', handset, server, 100, { syn: true, ack: false }) },
      { tsMs: T0 + 3, iface: 1, frame: tcpFrame('sll2', handset, server, 101, {}, stream.slice(0, 17)) },
      { tsMs: T0 + 4.5, iface: 1, frame: tcpFrame('sll2', handset, server, 101 + 17, {}, stream.slice(17)) },
    ];
    const { msgs, stats } = await read(
      'two.pcapng',
      pcapngFile([{ linkType: LINK_TYPES.ethernet }, { linkType: LINK_TYPES.sll2, tsresol: 9 }], packets),
    );
    expect(stats.kind).toBe('pcapng');
    expect(msgs.map((m) => m.raw)).toEqual([line(6), line(7), line(8)]);
    expect(msgs.map((m) => m.transport)).toEqual(['udp', 'tcp', 'tcp']);
    // The TCP stream ended without FIN: its frames come out at the end of the capture.
    expect(msgs[2]?.tsMs).toBeCloseTo(T0 + 4.5, 3);
  });
});

describe('text files', () => {
  it('reads lines (CRLF, BOM, blank lines) and the same inside .gz', async () => {
    const text = `\ufeff${line(1)}\r\n\r\n${line(2)}\n${line(3)}`;
    const plain = await read('syslog.txt.1', text);
    expect(plain.stats.kind).toBe('text');
    expect(plain.msgs.map((m) => m.raw)).toEqual([line(1), line(2), line(3)]);
    const gz = await read('syslog.txt.2.gz', gzipSync(text));
    expect(gz.stats).toMatchObject({ kind: 'text', gzip: true });
    expect(gz.msgs.map((m) => m.raw)).toEqual([line(1), line(2), line(3)]);
  });

  it('reads UTF-16 text with a byte-order mark (little and big endian)', async () => {
    const text = `${line(1)}\r\n${line(2)}\r\n`;
    const le = await read('unicode-le.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    expect(le.msgs.map((m) => m.raw)).toEqual([line(1), line(2)]);
    const be = Buffer.from(text, 'utf16le').swap16();
    const big = await read('unicode-be.txt', Buffer.concat([Buffer.from([0xfe, 0xff]), be]));
    expect(big.msgs.map((m) => m.raw)).toEqual([line(1), line(2)]);
  });

  it('reads a gzipped pcap', async () => {
    const cap = pcapFile(LINK_TYPES.ethernet, [{ tsMs: T0, frame: udpFrame('ethernet', handset, server, line(9)) }]);
    const { msgs, stats } = await read('c.pcap.gz', gzipSync(cap));
    expect(stats).toMatchObject({ kind: 'pcap', gzip: true });
    expect(msgs.map((m) => m.raw)).toEqual([line(9)]);
  });
});

describe('packet decoding and replay targets', () => {
  it('never throws on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(Array.from({ length: i % 90 }, () => Math.floor(Math.random() * 256)));
      for (const lt of [0, 1, 101, 113, 276, 999]) expect(() => decodePacket(lt, b)).not.toThrow();
    }
  });

  it('parses replay targets and refuses bad ones', () => {
    expect(parseTarget('udp://127.0.0.1:5514')).toEqual({ protocol: 'udp', host: '127.0.0.1', port: 5514 });
    expect(parseTarget('tls://[::1]:6514')).toEqual({ protocol: 'tls', host: '::1', port: 6514 });
    expect(() => parseTarget('http://x:1')).toThrow(/udp:\/\/HOST:PORT/);
    expect(() => parseTarget('tcp://x:70000')).toThrow();
  });
});

describe('damaged input', () => {
  it('keeps the lines of a truncated .gz and says why it stopped', async () => {
    const text = Array.from({ length: 2000 }, (_, i) => line(i % 60)).join('\n') + '\n';
    const gz = gzipSync(text);
    const { msgs, stats } = await read('cut.log.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    expect(stats.error).toMatch(/unexpected end of file/i);
    expect(msgs.length).toBeGreaterThan(100);
    expect(msgs.length).toBeLessThan(2000);
    expect(msgs.every((m) => m.raw.startsWith('<134>') || m.raw.startsWith('<'))).toBe(true);
  });

  it('reads a file that is not a capture as text, even binary junk, without throwing', async () => {
    const { msgs, stats } = await read('junk.bin', Buffer.from([0, 1, 2, 10, 255, 254, 10, 65, 66]));
    expect(stats.kind).toBe('text');
    // bytes that are not UTF-8 are read as Windows-1252 (parsers/text.ts), so none is lost
    expect(msgs.map((m) => m.raw)).toEqual(['\u0000\u0001\u0002', '\u00ff\u00fe', 'AB']);
  });
});

describe('year of year-less times in imported files (yearRule "past")', () => {
  const at = (iso: string) => Date.parse(iso);
  const timeOf = (line: string, anchor: string, tz = 'UTC') => {
    const r = parseLine(line, fileParseContext(at(anchor), tz));
    return r.device_time ?? r.syslog_time;
  };
  const liveTimeOf = (line: string, anchor: string) => {
    const r = parseLine(line, { receivedAtMs: at(anchor), tz: 'UTC' });
    return r.device_time ?? r.syslog_time;
  };

  it('puts lines of a file modified in December in the same year, not the next (live ingest keeps the closest year)', () => {
    const mtime = '2026-12-02T09:00:00Z';
    const kernel = 'Mar  9 10:23:16 172.29.4.17 kernel: wlan0: link down';
    expect(timeOf(kernel, mtime)).toBe('2026-03-09T10:23:16.000Z');
    expect(liveTimeOf(kernel, mtime)).toBe('2027-03-09T10:23:16.000Z');
    const logcat = '02-27 18:51:16.580 V/SlnkHTTPServerUtils( 3093): Battery percentage: 1.0';
    expect(timeOf(logcat, mtime)).toBe('2026-02-27T18:51:16.580Z');
    // The handset's internal form: header time year-less, body time epoch ms; both say 2026.
    const ms = Date.UTC(2026, 2, 10, 11, 59, 3);
    const handset = parseLine(`<134>Mar 10 11:59:03 00907a11baaa SipService: ${ms}|SipService|6|00| placeCall`, fileParseContext(at(mtime), 'UTC'));
    expect(handset).toMatchObject({ syslog_time: '2026-03-10T11:59:03.000Z', device_time: '2026-03-10T11:59:03.000Z' });
    // The body's MMDDHHMMSS form of a bare body, anchored on the file.
    expect(timeOf('00907a11baaa|0310115903.25|SipService|6|00| x', mtime)).toBe('2026-03-10T11:59:03.250Z');
  });

  it('crosses the Dec→Jan boundary both ways, and a time within the day after the anchor stays', () => {
    // Written on Jan 1: Dec 31 is last year's, under both rules.
    expect(timeOf('Dec 31 23:59:00 h t: x', '2027-01-01T00:30:00Z')).toBe('2026-12-31T23:59:00.000Z');
    expect(liveTimeOf('Dec 31 23:59:00 h t: x', '2027-01-01T00:30:00Z')).toBe('2026-12-31T23:59:00.000Z');
    // Written late on Dec 31: a Jan 1 line 70 minutes later is within the day (a clock ahead): next year.
    expect(timeOf('Jan  1 00:10:00 h t: x', '2026-12-31T23:00:00Z')).toBe('2027-01-01T00:10:00.000Z');
    // Written on Dec 30: Jan 5 is days ahead, so it is the January before (live ingest: the next one).
    expect(timeOf('Jan  5 08:00:00 h t: x', '2026-12-30T00:00:00Z')).toBe('2026-01-05T08:00:00.000Z');
    expect(liveTimeOf('Jan  5 08:00:00 h t: x', '2026-12-30T00:00:00Z')).toBe('2027-01-05T08:00:00.000Z');
    // The day of slack, exactly: 23 h after stays, 25 h after is a year back.
    expect(timeOf('Jun  2 11:00:00 h t: x', '2026-06-01T12:00:00Z')).toBe('2026-06-02T11:00:00.000Z');
    expect(timeOf('Jun  2 13:00:00 h t: x', '2026-06-01T12:00:00Z')).toBe('2025-06-02T13:00:00.000Z');
    // A zone east of UTC: Jan 1 00:30 in Auckland is Dec 31 11:30 UTC, before the anchor: that Jan 1.
    expect(timeOf('Jan  1 00:30:00 h t: x', '2026-12-31T12:00:00Z', 'Pacific/Auckland')).toBe('2026-12-31T11:30:00.000Z');
    // Feb 29 reaches back to the latest leap year.
    expect(timeOf('Feb 29 12:00:00 h t: x', '2026-12-02T00:00:00Z')).toBe('2024-02-29T12:00:00.000Z');
    expect(inferYear('UTC', at('2028-03-01T00:00:00Z'), 1, 29, 12, 0, 0, 0, 'past')).toBe(at('2028-02-29T12:00:00Z'));
  });
});

describe('file order and line times shared by import and replay', () => {
  it('orders the rotated syslog.txt.N files by their first time, else highest number first; other sets keep their order', async () => {
    const mk = (name: string, text: string) => {
      const p = path.join(dir, name);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, text);
      return p;
    };
    const t = (ms: number) => `<134>Mar 10 11:59:00 00907a11baaa SipService: ${ms}|SipService|6|00| m`;
    // .3 is the oldest (normal rotation).
    const a = [1, 2, 3].map((n) => mk(`rot-a/syslog.txt.${n}`, `${t(T0 + (3 - n) * 60_000)}\n`));
    expect((await orderFiles(a.map((p) => ({ path: p })), 'UTC')).map((f) => path.basename(f.path))).toEqual(['syslog.txt.3', 'syslog.txt.2', 'syslog.txt.1']);
    // Numbering the other way round: the times decide.
    const b = [1, 2, 3].map((n) => mk(`rot-b/syslog.txt.${n}`, `${t(T0 + n * 60_000)}\n`));
    expect((await orderFiles(b.map((p) => ({ path: p })), 'UTC')).map((f) => path.basename(f.path))).toEqual(['syslog.txt.1', 'syslog.txt.2', 'syslog.txt.3']);
    // No times: highest number first.
    const c = [1, 2].map((n) => mk(`rot-c/syslog.txt.${n}`, 'no time here\n'));
    expect((await orderFiles(c.map((p) => ({ path: p })), 'UTC')).map((f) => path.basename(f.path))).toEqual(['syslog.txt.2', 'syslog.txt.1']);
    const other = [mk('rot-d/b.log', `${t(T0 + 60_000)}\n`), mk('rot-d/a.log', `${t(T0)}\n`)];
    expect((await orderFiles(other.map((p) => ({ path: p })), 'UTC')).map((f) => path.basename(f.path))).toEqual(['b.log', 'a.log']);
  });

  it('gives a line without a time the time of the timed line before it; leading ones wait for the first, bounded', () => {
    const run = (lines: (number | null)[], maxLead?: number) => {
      const out: [string, number, boolean][] = [];
      const lt = new LineTimes<string, number>(-1, (item, time, own) => out.push([item, time, own]), maxLead);
      lines.forEach((t, i) => lt.push(`l${i}`, t));
      lt.end();
      return out;
    };
    expect(run([null, null, 100, null, 200, null])).toEqual([
      ['l0', 100, false],
      ['l1', 100, false],
      ['l2', 100, true],
      ['l3', 100, false],
      ['l4', 200, true],
      ['l5', 200, false],
    ]);
    // Out of order lines keep their own times.
    expect(run([300, 100, null]).map((x) => x[1])).toEqual([300, 100, 100]);
    // No time in the whole file: the anchor.
    expect(run([null, null])).toEqual([
      ['l0', -1, false],
      ['l1', -1, false],
    ]);
    // More leading untimed lines than held: those get the anchor, in file order.
    expect(run([null, null, null, null, 50, null], 3).map((x) => `${x[0]}@${x[1]}`)).toEqual(['l0@-1', 'l1@-1', 'l2@-1', 'l3@-1', 'l4@50', 'l5@50']);
  });
});

describe('what replay sends for a line of a log file', () => {
  const body = '172.29.101.149 SlnkHTTPServerUtils[3117]: 00907a11bacb| 1384554194760| SlnkHTTPServerUtils |7|00| Response Code:404';

  it('sends <PRI> + the sender message of a Kiwi-style line, PRI from its Facility.Level column', () => {
    expect(senderFrame(`2013-11-15 15:23:09 Local0.Debug 172.29.101.149 Nov 15 10:23:14 ${body}`)).toBe(`<135>Nov 15 10:23:14 ${body}`);
    expect(senderFrame(`2013-11-15 15:23:09\tLocal0.Error\t172.29.101.149\tNov 15 10:23:14 ${body}`)).toBe(`<131>Nov 15 10:23:14 ${body}`);
    // A server that kept the PRI in the message column: the message as it is.
    expect(senderFrame(`2013-11-15 15:23:09 Local0.Debug 172.29.101.149 <134>Nov 15 10:23:14 ${body}`)).toBe(`<134>Nov 15 10:23:14 ${body}`);
    // The frame parses back to the same record as the file line.
    const fromFile = parseLine(`2013-11-15 15:23:09 Local0.Debug 172.29.101.149 Nov 15 10:23:14 ${body}`, { receivedAtMs: T0, tz: 'UTC' });
    const fromFrame = parseLine(`<135>Nov 15 10:23:14 ${body}`, { receivedAtMs: Date.parse('2013-11-15T15:23:09Z'), tz: 'UTC' });
    expect(fromFrame).toMatchObject({ severity: fromFile.severity, facility: fromFile.facility, mac: fromFile.mac, device_time: fromFile.device_time, message: fromFile.message });
  });

  it('sends <PRI> + the line of an rsyslog file (traditional and ISO), which does not keep the PRI', () => {
    expect(senderFrame(`Nov 15 10:23:14 ${body}`)).toBe(`<135>Nov 15 10:23:14 ${body}`);
    expect(senderFrame(`2013-11-15T10:23:14.123456+01:00 ${body}`)).toBe(`<135>2013-11-15T10:23:14.123456+01:00 ${body}`);
    expect(senderFrame('Mar  9 10:23:16 172.29.4.17 kernel: wlan0: link down')).toBe('<13>Mar  9 10:23:16 172.29.4.17 kernel: wlan0: link down');
  });

  it('leaves frames with a PRI, logcat lines, handset bodies and text no parser knows as they are', () => {
    for (const l of [line(1), `<134>1 2026-03-10T11:59:00Z host app - - - x`, '02-27 18:51:16.580 V/Tag( 3093): x', 'I/battery_level( 2488): [81,3986,254]', '00907a11baaa|1773143943000|SipService|6|00| x', 'this line is garbage', '']) {
      expect(senderFrame(l)).toBe(l);
    }
  });
});

describe('replay schedule', () => {
  it('measures the span from the earliest to the latest time, and the schedule from the first message', () => {
    const ms = (ts: number[]) => ts.map((tMs) => ({ raw: 'x', tMs }));
    expect(timeSpanMs(ms([3_600_000, 1000, 3_602_000, 3000]))).toBe(3_601_000);
    expect(scheduleMs(ms([3_600_000, 1000, 3_602_000, 3000]))).toBe(2000);
    expect(scheduleMs(ms([5000, 1000]))).toBe(0);
    expect(timeSpanMs([])).toBe(0);
  });

  it('sends a message older than the one before it right after it, and keeps the schedule of the rest', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const got: { text: string; at: number }[] = [];
    sock.on('message', (m) => got.push({ text: m.toString(), at: performance.now() }));
    try {
      // Times in ms: b is an hour older than a; c is 300 ms after a.
      const msgs = [
        { raw: 'a', tMs: 3_600_000 },
        { raw: 'b', tMs: 0 },
        { raw: 'c', tMs: 3_600_300 },
      ];
      const r = await replay(msgs, { target: { protocol: 'udp', host: '127.0.0.1', port: (sock.address() as { port: number }).port }, speed: 1 });
      expect(r).toMatchObject({ sent: 3, failed: 0 });
      await new Promise((res) => setTimeout(res, 100));
      expect(got.map((g) => g.text)).toEqual(['a', 'b', 'c']);
      const [a, b, c] = got.map((g) => g.at) as [number, number, number];
      expect(b - a).toBeLessThan(100);
      expect(c - a).toBeGreaterThanOrEqual(290);
      expect(c - a).toBeLessThan(1000);
    } finally {
      sock.close();
    }
  });

  it('a TLS target that requires a client certificate: refused without one (an error, not "sent"), accepted with --cert/--key', async () => {
    const certs = makeCerts();
    const got: string[] = [];
    const server = tls.createServer(
      { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), ca: fs.readFileSync(certs.caCert), requestCert: true, rejectUnauthorized: true },
      (sock) => {
        let buf = '';
        sock.on('data', (d: Buffer) => (buf += d.toString()));
        sock.on('end', () => {
          got.push(buf);
          sock.end();
        });
        sock.on('error', () => undefined);
      },
    );
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const target = { protocol: 'tls' as const, host: '127.0.0.1', port: (server.address() as AddressInfo).port };
    const msgs = [{ raw: 'one', tMs: 0 }, { raw: 'two', tMs: 1 }];
    try {
      await expect(replay(msgs, { target, speed: 0, ca: certs.caCert })).rejects.toMatchObject({ code: 'TARGET_FAILED' });
      expect(got).toEqual([]);
      const r = await replay(msgs, { target, speed: 0, ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey });
      expect(r).toMatchObject({ sent: 2, failed: 0 });
      expect(got).toEqual(['3 one3 two']);
    } finally {
      server.close();
      fs.rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it('after a late send, the next gap is not squeezed to catch up at once (at most 5 %)', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    try {
      const msgs = [0, 100, 200, 300, 400, 500].map((t, i) => ({ raw: `m${i}`, tMs: 1_000_000 + t }));
      // Send times as the replay sees them; the process is kept busy for 150 ms after the third
      // send, so the fourth goes ~50 ms late.
      const sentAt: number[] = [];
      const onProgress = (sent: number) => {
        sentAt.push(performance.now());
        if (sent !== 3) return;
        const until = performance.now() + 150;
        while (performance.now() < until);
      };
      await replay(msgs, { target: { protocol: 'udp', host: '127.0.0.1', port: (sock.address() as { port: number }).port }, speed: 1, onProgress });
      const gaps = sentAt.slice(1).map((t, i) => t - (sentAt[i] as number));
      expect(gaps[2]).toBeGreaterThan(140); // the late one
      expect(gaps[3]).toBeGreaterThan(90); // was ~50: the absolute schedule caught up in one gap
      expect(gaps[4]).toBeGreaterThan(90);
      expect(sentAt[5]! - sentAt[0]!).toBeLessThan(600);
    } finally {
      sock.close();
    }
  });
});
