import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LINK_TYPES, pcapFile, pcapngFile, tcpFrame, udpFragments, udpFrame, type Endpoint } from './capture-writer.test-helper.js';
import { decodePacket } from './packet.js';
import { newReadStats, readCapture, type CaptureMessage, type ReadStats } from './reader.js';
import { parseTarget } from './replay.js';

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
    expect(msgs.map((m) => m.raw)).toEqual(['\u0000\u0001\u0002', '\ufffd\ufffd', 'AB']);
  });
});
