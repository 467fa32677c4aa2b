// Link, network and transport headers of a captured packet: Ethernet (with 802.1Q/802.1ad tags),
// Linux cooked capture v1 and v2, raw IP and BSD loopback; IPv4 (fragments are reported, not
// reassembled) and IPv6 (hop-by-hop, routing, destination-options and fragment headers walked);
// UDP and TCP. Returns a result, never throws on untrusted bytes.

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

export interface UdpPacket {
  proto: 'udp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Buffer;
}

export interface TcpSegment {
  proto: 'tcp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  payload: Buffer;
}

export type DecodedPacket = UdpPacket | TcpSegment | { proto: 'skip'; reason: SkipReason };

/** Why a packet holds nothing to import; counted per reason in the import summary. */
export type SkipReason = 'link_type' | 'not_ip' | 'ip_fragment' | 'not_udp_tcp' | 'truncated';

const skip = (reason: SkipReason): DecodedPacket => ({ proto: 'skip', reason });

function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + i * 2).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The EtherType / family and the offset of the network header for a link type. */
function linkLayer(linkType: number, b: Buffer): { etherType: number; at: number } | DecodedPacket {
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (b.length < 14) return skip('truncated');
      let at = 12;
      let etherType = b.readUInt16BE(at);
      // 802.1Q / 802.1ad VLAN tags, possibly stacked.
      while ((etherType === 0x8100 || etherType === 0x88a8) && at + 6 <= b.length) {
        at += 4;
        etherType = b.readUInt16BE(at);
      }
      return { etherType, at: at + 2 };
    }
    case LINKTYPE.LINUX_SLL:
      if (b.length < 16) return skip('truncated');
      return { etherType: b.readUInt16BE(14), at: 16 };
    case LINKTYPE.LINUX_SLL2:
      if (b.length < 20) return skip('truncated');
      return { etherType: b.readUInt16BE(0), at: 20 };
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6: {
      if (b.length < 1) return skip('truncated');
      const v = (b[0] as number) >> 4;
      return { etherType: v === 6 ? 0x86dd : v === 4 ? 0x0800 : 0, at: 0 };
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (b.length < 4) return skip('truncated');
      // The family is in the capturing host's byte order; 2 is IPv4, 24/28/30 are IPv6 on the BSDs.
      const le = b.readUInt32LE(0);
      const fam = le < 0x10000 ? le : b.readUInt32BE(0);
      return { etherType: fam === 2 ? 0x0800 : fam === 24 || fam === 28 || fam === 30 ? 0x86dd : 0, at: 4 };
    }
    default:
      return skip('link_type');
  }
}

/** An IP datagram (or one fragment of it) with its transport-layer bytes. */
export interface IpDatagram {
  src: string;
  dst: string;
  proto: number;
  /** Transport header and payload (of this fragment, when `fragment` is set). */
  l4: Buffer;
  fragment: { id: string; offset: number; more: boolean } | null;
}

export function decodeIp(linkType: number, b: Buffer): IpDatagram | { proto: 'skip'; reason: SkipReason } {
  const link = linkLayer(linkType, b);
  if ('proto' in link) return link as { proto: 'skip'; reason: SkipReason };
  let { at } = link;
  let proto: number;
  let src: string;
  let dst: string;
  let end: number;
  let fragment: IpDatagram['fragment'] = null;
  if (link.etherType === 0x0800) {
    if (b.length < at + 20) return { proto: 'skip', reason: 'truncated' };
    const ihl = ((b[at] as number) & 0x0f) * 4;
    const total = b.readUInt16BE(at + 2);
    const frag = b.readUInt16BE(at + 6);
    proto = b[at + 9] as number;
    src = ipv4(b, at + 12);
    dst = ipv4(b, at + 16);
    if ((frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0) {
      fragment = { id: `4|${src}|${dst}|${proto}|${b.readUInt16BE(at + 4)}`, offset: (frag & 0x1fff) * 8, more: (frag & 0x2000) !== 0 };
    }
    // TSO captures write total length 0; fall back to the captured size.
    end = total === 0 ? b.length : Math.min(b.length, at + total);
    at += ihl;
  } else if (link.etherType === 0x86dd) {
    if (b.length < at + 40) return { proto: 'skip', reason: 'truncated' };
    const payloadLen = b.readUInt16BE(at + 4);
    proto = b[at + 6] as number;
    src = ipv6(b, at + 8);
    dst = ipv6(b, at + 24);
    end = payloadLen === 0 ? b.length : Math.min(b.length, at + 40 + payloadLen);
    at += 40;
    for (let hops = 0; hops < 8; hops++) {
      if (proto === 0 || proto === 43 || proto === 60) {
        if (b.length < at + 2) return { proto: 'skip', reason: 'truncated' };
        proto = b[at] as number;
        at += ((b[at + 1] as number) + 1) * 8;
      } else if (proto === 44) {
        if (b.length < at + 8) return { proto: 'skip', reason: 'truncated' };
        const off = b.readUInt16BE(at + 2);
        proto = b[at] as number;
        if ((off & 0xfff8) !== 0 || (off & 1) !== 0) {
          fragment = { id: `6|${src}|${dst}|${b.readUInt32BE(at + 4)}`, offset: off & 0xfff8, more: (off & 1) !== 0 };
        }
        at += 8;
      } else break;
    }
  } else return { proto: 'skip', reason: 'not_ip' };
  if (end < at) return { proto: 'skip', reason: 'truncated' };
  return { src, dst, proto, l4: b.subarray(at, end), fragment };
}

/** UDP or TCP of a whole (unfragmented or reassembled) datagram. */
export function decodeTransport(ip: IpDatagram): DecodedPacket {
  const { l4, src, dst } = ip;
  if (ip.proto === 17) {
    if (l4.length < 8) return skip('truncated');
    const len = l4.readUInt16BE(4);
    const stop = len >= 8 ? Math.min(l4.length, len) : l4.length;
    return { proto: 'udp', src, dst, sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2), payload: l4.subarray(8, stop) };
  }
  if (ip.proto === 6) {
    if (l4.length < 20) return skip('truncated');
    const off = ((l4[12] as number) >> 4) * 4;
    const flags = l4[13] as number;
    if (l4.length < off) return skip('truncated');
    return {
      proto: 'tcp',
      src,
      dst,
      sport: l4.readUInt16BE(0),
      dport: l4.readUInt16BE(2),
      seq: l4.readUInt32BE(4),
      fin: (flags & 0x01) !== 0,
      syn: (flags & 0x02) !== 0,
      rst: (flags & 0x04) !== 0,
      payload: l4.subarray(off),
    };
  }
  return skip('not_udp_tcp');
}

/** One packet, fragments not reassembled (they are reported as `ip_fragment`). */
export function decodePacket(linkType: number, b: Buffer): DecodedPacket {
  const ip = decodeIp(linkType, b);
  if ('reason' in ip) return ip;
  if (ip.fragment !== null) return skip('ip_fragment');
  return decodeTransport(ip);
}

const MAX_PENDING_DATAGRAMS = 1024;
const MAX_DATAGRAM_BYTES = 65_535;

/**
 * IPv4 / IPv6 fragment reassembly (RFC 791 / RFC 8200): fragments are kept by datagram until the last
 * one and every byte before it have arrived. Bounded: at most MAX_PENDING_DATAGRAMS incomplete ones;
 * the oldest is given up (and counted) to make room.
 */
export class Defragmenter {
  incomplete = 0;
  private readonly pending = new Map<string, { parts: { offset: number; bytes: Buffer }[]; total: number | null }>();

  push(ip: IpDatagram): IpDatagram | null {
    const f = ip.fragment;
    if (f === null) return ip;
    let d = this.pending.get(f.id);
    if (d === undefined) {
      if (this.pending.size >= MAX_PENDING_DATAGRAMS) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.incomplete++;
      }
      d = { parts: [], total: null };
      this.pending.set(f.id, d);
    }
    if (f.offset + ip.l4.length > MAX_DATAGRAM_BYTES) {
      this.pending.delete(f.id);
      this.incomplete++;
      return null;
    }
    d.parts.push({ offset: f.offset, bytes: Buffer.from(ip.l4) });
    if (!f.more) d.total = f.offset + ip.l4.length;
    if (d.total === null) return null;
    d.parts.sort((a, b) => a.offset - b.offset);
    let have = 0;
    for (const p of d.parts) {
      if (p.offset > have) return null;
      have = Math.max(have, p.offset + p.bytes.length);
    }
    if (have < d.total) return null;
    const whole = Buffer.alloc(d.total);
    for (const p of d.parts) p.bytes.copy(whole, p.offset, 0, Math.min(p.bytes.length, d.total - p.offset));
    this.pending.delete(f.id);
    return { src: ip.src, dst: ip.dst, proto: ip.proto, l4: whole, fragment: null };
  }

  /** End of capture: datagrams still missing fragments. */
  end(): void {
    this.incomplete += this.pending.size;
    this.pending.clear();
  }
}
