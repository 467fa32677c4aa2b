// Packet-capture containers: classic pcap (µs and ns, either byte order) and pcapng (Section Header,
// Interface Description, Enhanced/Simple/obsolete Packet blocks; per-interface link type and
// if_tsresol). A push decoder: bytes in as they stream from disk, packets out through a callback, so a
// 1 GB capture is read in bounded memory. Untrusted bytes never make it throw: a malformed block ends
// the decode with `error` set, every packet before it is kept.
//
// References: https://www.tcpdump.org/manpages/pcap-savefile.5.html and
// draft-ietf-opsawg-pcapng (https://ietf-opsawg-wg.github.io/draft-ietf-opsawg-pcap/draft-ietf-opsawg-pcapng.html).

export interface CapturedPacket {
  /** Capture time in epoch milliseconds (fractional part kept), or null (pcapng Simple Packet Block). */
  tsMs: number | null;
  /** LINKTYPE_* of the interface the packet was captured on. */
  linkType: number;
  /** The captured bytes (may be shorter than on the wire when the snap length cut it). */
  data: Buffer;
}

export type CaptureContainer = 'pcap' | 'pcapng';

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
/** A block or packet bigger than this is taken for corruption rather than buffered. */
const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

/** Which container the first bytes announce, or null when it is not a capture. */
export function sniffCapture(head: Buffer): CaptureContainer | null {
  if (head.length < 4) return null;
  const be = head.readUInt32BE(0);
  const le = head.readUInt32LE(0);
  if (be === PCAPNG_SHB) return 'pcapng';
  if (be === PCAP_US || be === PCAP_NS || le === PCAP_US || le === PCAP_NS) return 'pcap';
  return null;
}

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSec: number;
}

export class CaptureDecoder {
  /** Why decoding stopped early, or null. */
  error: string | null = null;
  container: CaptureContainer | null = null;
  packets = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private le = true;
  // pcap
  private pcapHeaderDone = false;
  private pcapLinkType = 1;
  private pcapNs = false;
  // pcapng
  private ifaces: Iface[] = [];

  constructor(private readonly onPacket: (p: CapturedPacket) => void) {}

  push(chunk: Buffer): void {
    if (this.error !== null || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drain();
  }

  /** Input finished; a partial trailing record is reported (a capture cut while being written). */
  end(): void {
    if (this.error === null && this.buffered > 0) this.error = `capture ends inside a record (${this.buffered} bytes left)`;
    if (this.error === null && this.container === null) this.error = 'empty capture';
  }

  /** The first n buffered bytes as one buffer (joins chunks only when a record straddles them). */
  private peek(n: number): Buffer | null {
    if (this.buffered < n) return null;
    let first = this.chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    return first;
  }

  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const first = this.chunks[0] as Buffer;
      if (first.length <= n) {
        n -= first.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }

  private u32(b: Buffer, at: number): number {
    return this.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }

  private u16(b: Buffer, at: number): number {
    return this.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }

  private drain(): void {
    for (;;) {
      if (this.error !== null) return;
      if (this.container === null) {
        const head = this.peek(4);
        if (head === null) return;
        this.container = sniffCapture(head);
        if (this.container === null) {
          this.error = 'not a pcap or pcapng capture';
          return;
        }
      }
      const progressed = this.container === 'pcap' ? this.pcapStep() : this.pcapngStep();
      if (!progressed) return;
    }
  }

  private pcapStep(): boolean {
    if (!this.pcapHeaderDone) {
      const h = this.peek(24);
      if (h === null) return false;
      const le = h.readUInt32LE(0);
      this.le = le === PCAP_US || le === PCAP_NS;
      this.pcapNs = (this.le ? le : h.readUInt32BE(0)) === PCAP_NS;
      // The link type's upper 16 bits hold the FCS length flags (pcap-savefile(5)); keep the type.
      this.pcapLinkType = this.u32(h, 20) & 0x0fffffff;
      this.pcapHeaderDone = true;
      this.consume(24);
      return true;
    }
    const rh = this.peek(16);
    if (rh === null) return false;
    const inclLen = this.u32(rh, 8);
    if (inclLen > MAX_BLOCK_BYTES) {
      this.error = `packet record of ${inclLen} bytes: corrupt capture`;
      return false;
    }
    const rec = this.peek(16 + inclLen);
    if (rec === null) return false;
    const sec = this.u32(rec, 0);
    const frac = this.u32(rec, 4);
    const tsMs = sec * 1000 + (this.pcapNs ? frac / 1e6 : frac / 1e3);
    // Copy: the packet outlives the chunk it came from only as long as the callback keeps it.
    const data = Buffer.from(rec.subarray(16, 16 + inclLen));
    this.consume(16 + inclLen);
    this.packets++;
    this.onPacket({ tsMs, linkType: this.pcapLinkType, data });
    return true;
  }

  private pcapngStep(): boolean {
    const h = this.peek(12);
    if (h === null) return false;
    const typeBe = h.readUInt32BE(0);
    if (typeBe === PCAPNG_SHB) {
      const bom = h.readUInt32LE(8);
      if (bom === PCAPNG_BOM) this.le = true;
      else if (h.readUInt32BE(8) === PCAPNG_BOM) this.le = false;
      else {
        this.error = 'pcapng section header with an unknown byte-order magic';
        return false;
      }
      // Interface ids are per section.
      this.ifaces = [];
    }
    const type = this.u32(h, 0);
    const total = this.u32(h, 4);
    if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK_BYTES) {
      this.error = `pcapng block of type ${type} with a bad length ${total}`;
      return false;
    }
    const b = this.peek(total);
    if (b === null) return false;
    const body = b.subarray(8, total - 4);
    switch (type) {
      case 1: {
        // Interface Description Block: link type, snap length, options (if_tsresol = 9).
        if (body.length < 8) break;
        let unitsPerSec = 1e6;
        let at = 8;
        while (at + 4 <= body.length) {
          const code = this.u16(body, at);
          const len = this.u16(body, at + 2);
          if (code === 0) break;
          if (code === 9 && len >= 1 && at + 4 < body.length) {
            const v = body[at + 4] as number;
            unitsPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
          }
          at += 4 + Math.ceil(len / 4) * 4;
        }
        this.ifaces.push({ linkType: this.u16(body, 0), unitsPerSec });
        break;
      }
      case 6: {
        // Enhanced Packet Block.
        if (body.length < 20) break;
        const iface = this.ifaces[this.u32(body, 0)];
        const capLen = this.u32(body, 12);
        if (iface === undefined || 20 + capLen > body.length) {
          this.error = 'pcapng packet block names an unknown interface or overruns its block';
          return false;
        }
        const ts = this.u32(body, 4) * 2 ** 32 + this.u32(body, 8);
        this.packets++;
        this.onPacket({ tsMs: (ts / iface.unitsPerSec) * 1000, linkType: iface.linkType, data: Buffer.from(body.subarray(20, 20 + capLen)) });
        break;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp.
        const iface = this.ifaces[0];
        if (iface === undefined || body.length < 4) break;
        const origLen = this.u32(body, 0);
        const capLen = Math.min(origLen, body.length - 4);
        this.packets++;
        this.onPacket({ tsMs: null, linkType: iface.linkType, data: Buffer.from(body.subarray(4, 4 + capLen)) });
        break;
      }
      case 2: {
        // Obsolete Packet Block (pcapng 1.0): 16-bit interface id and drops counter.
        if (body.length < 20) break;
        const iface = this.ifaces[this.u16(body, 0)];
        const capLen = this.u32(body, 12);
        if (iface === undefined || 20 + capLen > body.length) break;
        const ts = this.u32(body, 4) * 2 ** 32 + this.u32(body, 8);
        this.packets++;
        this.onPacket({ tsMs: (ts / iface.unitsPerSec) * 1000, linkType: iface.linkType, data: Buffer.from(body.subarray(20, 20 + capLen)) });
        break;
      }
      default:
        // Section header, statistics, name resolution, custom blocks: nothing to import.
        break;
    }
    this.consume(total);
    return true;
  }
}
