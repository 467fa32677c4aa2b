// Test captures written byte by byte from the file-format specifications (pcap-savefile(5), the
// pcapng draft) and the packet headers (Ethernet II, Linux cooked v1/v2, IPv4 RFC 791, IPv6
// RFC 8200, UDP RFC 768, TCP RFC 9293). Checksums are left zero: captures of locally sent traffic
// look like that too (checksum offload), and the importer does not verify them.

export interface Endpoint {
  ip: string;
  port: number;
}

export interface PacketSpec {
  tsMs: number;
  /** Link-layer frame bytes. */
  frame: Buffer;
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [head, tail] = ip.split('::') as [string, string | undefined];
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
    return b;
  }
  return Buffer.from(ip.split('.').map(Number));
}

function udp(src: Endpoint, dst: Endpoint, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(src.port, 0);
  h.writeUInt16BE(dst.port, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export interface TcpFlags {
  syn?: boolean;
  fin?: boolean;
  ack?: boolean;
}

function tcp(src: Endpoint, dst: Endpoint, seq: number, flags: TcpFlags, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(src.port, 0);
  h.writeUInt16BE(dst.port, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(flags.ack === false ? 0 : 1, 8);
  h[12] = 5 << 4;
  h[13] = (flags.fin ? 0x01 : 0) | (flags.syn ? 0x02 : 0) | (flags.ack === false ? 0 : 0x10);
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

function ip(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  if (src.includes(':')) {
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(l4.length, 4);
    h[6] = proto;
    h[7] = 64;
    ipBytes(src).copy(h, 8);
    ipBytes(dst).copy(h, 24);
    return Buffer.concat([h, l4]);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h.writeUInt16BE(0x4000, 6); // don't fragment
  h[8] = 64;
  h[9] = proto;
  ipBytes(src).copy(h, 12);
  ipBytes(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

export type Link = 'ethernet' | 'sll' | 'sll2';
export const LINK_TYPES: Record<Link, number> = { ethernet: 1, sll: 113, sll2: 276 };

function link(kind: Link, ipPacket: Buffer, v6: boolean): Buffer {
  const etherType = v6 ? 0x86dd : 0x0800;
  if (kind === 'ethernet') {
    const h = Buffer.alloc(14);
    Buffer.from([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]).copy(h, 0);
    Buffer.from([0x00, 0x90, 0x7a, 0x11, 0xba, 0xaa]).copy(h, 6);
    h.writeUInt16BE(etherType, 12);
    return Buffer.concat([h, ipPacket]);
  }
  if (kind === 'sll') {
    const h = Buffer.alloc(16);
    h.writeUInt16BE(0, 0); // to us
    h.writeUInt16BE(1, 2); // ARPHRD_ETHER
    h.writeUInt16BE(6, 4);
    Buffer.from([0x00, 0x90, 0x7a, 0x11, 0xba, 0xaa]).copy(h, 6);
    h.writeUInt16BE(etherType, 14);
    return Buffer.concat([h, ipPacket]);
  }
  const h = Buffer.alloc(20);
  h.writeUInt16BE(etherType, 0);
  h.writeUInt32BE(2, 4); // interface index
  h.writeUInt16BE(1, 8); // ARPHRD_ETHER
  h[10] = 0; // to us
  h[11] = 6;
  Buffer.from([0x00, 0x90, 0x7a, 0x11, 0xba, 0xaa]).copy(h, 12);
  return Buffer.concat([h, ipPacket]);
}

export function udpFrame(kind: Link, src: Endpoint, dst: Endpoint, payload: string | Buffer): Buffer {
  const v6 = src.ip.includes(':');
  return link(kind, ip(src.ip, dst.ip, 17, udp(src, dst, Buffer.from(payload))), v6);
}

export function tcpFrame(kind: Link, src: Endpoint, dst: Endpoint, seq: number, flags: TcpFlags, payload: string | Buffer = ''): Buffer {
  const v6 = src.ip.includes(':');
  return link(kind, ip(src.ip, dst.ip, 6, tcp(src, dst, seq, flags, Buffer.from(payload))), v6);
}

/** Classic pcap, little-endian, microsecond timestamps (or nanosecond with `ns`). */
export function pcapFile(linkType: number, packets: PacketSpec[], opts: { ns?: boolean; bigEndian?: boolean } = {}): Buffer {
  const be = opts.bigEndian === true;
  const u32 = (b: Buffer, v: number, at: number) => (be ? b.writeUInt32BE(v >>> 0, at) : b.writeUInt32LE(v >>> 0, at));
  const u16 = (b: Buffer, v: number, at: number) => (be ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const g = Buffer.alloc(24);
  u32(g, opts.ns === true ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(g, 2, 4);
  u16(g, 4, 6);
  u32(g, 0, 8); // thiszone
  u32(g, 0, 12); // sigfigs
  u32(g, 262_144, 16); // snaplen
  u32(g, linkType, 20);
  const parts: Buffer[] = [g];
  for (const p of packets) {
    const r = Buffer.alloc(16);
    const sec = Math.floor(p.tsMs / 1000);
    const frac = opts.ns === true ? Math.round((p.tsMs - sec * 1000) * 1e6) : Math.round((p.tsMs - sec * 1000) * 1e3);
    u32(r, sec, 0);
    u32(r, frac, 4);
    u32(r, p.frame.length, 8);
    u32(r, p.frame.length, 12);
    parts.push(r, p.frame);
  }
  return Buffer.concat(parts);
}

function pad4(b: Buffer): Buffer {
  const n = (4 - (b.length % 4)) % 4;
  return n === 0 ? b : Buffer.concat([b, Buffer.alloc(n)]);
}

function block(type: number, body: Buffer): Buffer {
  const b = pad4(body);
  const total = 12 + b.length;
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(total, 4);
  const t = Buffer.alloc(4);
  t.writeUInt32LE(total, 0);
  return Buffer.concat([h, b, t]);
}

/**
 * pcapng, little-endian: a Section Header Block, one Interface Description Block per link type given
 * (with if_tsresol when `tsresol` is set: 6 = µs, 9 = ns), Enhanced Packet Blocks, and a statistics
 * block the importer must skip.
 */
export function pcapngFile(interfaces: { linkType: number; tsresol?: number }[], packets: (PacketSpec & { iface?: number })[]): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8); // section length unknown
  const parts: Buffer[] = [block(0x0a0d0d0a, shb)];
  for (const i of interfaces) {
    const opts: Buffer[] = [];
    if (i.tsresol !== undefined) {
      const o = Buffer.alloc(8);
      o.writeUInt16LE(9, 0);
      o.writeUInt16LE(1, 2);
      o[4] = i.tsresol;
      opts.push(o);
    }
    if (opts.length > 0) opts.push(Buffer.alloc(4)); // opt_endofopt
    const idb = Buffer.alloc(8);
    idb.writeUInt16LE(i.linkType, 0);
    idb.writeUInt32LE(262_144, 4);
    parts.push(block(1, Buffer.concat([idb, ...opts])));
  }
  for (const p of packets) {
    const iface = interfaces[p.iface ?? 0] as { tsresol?: number };
    const units = 10 ** (iface.tsresol ?? 6);
    const ts = BigInt(Math.round((p.tsMs / 1000) * units));
    const h = Buffer.alloc(20);
    h.writeUInt32LE(p.iface ?? 0, 0);
    h.writeUInt32LE(Number(ts >> 32n), 4);
    h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(p.frame.length, 12);
    h.writeUInt32LE(p.frame.length, 16);
    parts.push(block(6, Buffer.concat([h, pad4(p.frame)])));
  }
  // Interface Statistics Block (type 5): interface 0, timestamp, no options.
  parts.push(block(5, Buffer.alloc(12)));
  return Buffer.concat(parts);
}

/** A UDP datagram cut into IPv4 (or IPv6, by the source address) fragments of `size` bytes (a multiple of 8). */
export function udpFragments(kind: Link, src: Endpoint, dst: Endpoint, payload: string | Buffer, size: number, id = 0x4242): Buffer[] {
  const l4 = udp(src, dst, Buffer.from(payload));
  const v6 = src.ip.includes(':');
  const frames: Buffer[] = [];
  for (let off = 0; off < l4.length; off += size) {
    const part = l4.subarray(off, off + size);
    const more = off + size < l4.length;
    if (v6) {
      const fh = Buffer.alloc(8);
      fh[0] = 17; // next header: UDP
      fh.writeUInt16BE(off | (more ? 1 : 0), 2);
      fh.writeUInt32BE(id, 4);
      frames.push(link(kind, ip(src.ip, dst.ip, 44, Buffer.concat([fh, part])), true));
    } else {
      const h = Buffer.alloc(20);
      h[0] = 0x45;
      h.writeUInt16BE(20 + part.length, 2);
      h.writeUInt16BE(id, 4);
      h.writeUInt16BE((more ? 0x2000 : 0) | (off / 8), 6);
      h[8] = 64;
      h[9] = 17;
      ipBytes(src.ip).copy(h, 12);
      ipBytes(dst.ip).copy(h, 16);
      frames.push(link(kind, Buffer.concat([h, part]), false));
    }
  }
  return frames;
}
