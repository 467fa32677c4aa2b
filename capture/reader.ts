// One capture file → the syslog messages in it, streamed in batches. The content decides the format,
// not the file name: gzip (any of the others inside), pcap / pcapng (UDP datagrams and reassembled TCP
// streams), or text lines (handset syslog.txt.N files, syslog-server files, logcat dumps — each line is
// parsed by parsers/ later, which tells those apart line by line).

import fs from 'node:fs';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import { HandlogError } from '../core/errors.js';
import { decodeText } from '../parsers/text.js';
import { CaptureDecoder, sniffCapture } from './pcap.js';
import { decodeIp, decodeTransport, Defragmenter, type SkipReason } from './packet.js';
import { looksLikeSyslog, TcpReassembler } from './tcp-stream.js';

export type CaptureMessageTransport = 'udp' | 'tcp' | 'file';

export interface CaptureMessage {
  /** The message as sent or as written in the file, without the line end. */
  raw: string;
  /** Packet capture time (epoch ms) for captures; null for lines of a text file. */
  tsMs: number | null;
  /** Sender address for captures, '' for files. */
  sourceIp: string;
  transport: CaptureMessageTransport;
  truncated: boolean;
}

export type CaptureKind = 'pcap' | 'pcapng' | 'text';

export interface ReadStats {
  kind: CaptureKind | null;
  gzip: boolean;
  /** File bytes read so far (compressed bytes for .gz): drives the progress bar. */
  bytesRead: number;
  messages: number;
  packets: number;
  /** Packets that held nothing to import, by reason (plus non-syslog UDP/TCP traffic). */
  skipped: Partial<Record<SkipReason | 'not_syslog', number>>;
  tcpFlows: number;
  tcpGaps: number;
  /** Why a capture could not be read to its end, or null. */
  error: string | null;
}

export interface ReadOptions {
  maxFrameBytes?: number;
  /** UDP/TCP ports taken as syslog even when the payload does not start like syslog. */
  ports?: readonly number[];
  /**
   * Read a plain (not gzipped) UTF-8 text file from this byte on, at the start of a line: the part a
   * file gained since it was imported (import.ts). The caller has checked the file is such a file.
   */
  startByte?: number;
}

/** Syslog's registered and customary ports (RFC 5426 514/udp, RFC 6587 601/tcp, RFC 5425 6514 is TLS). */
export const DEFAULT_SYSLOG_PORTS: readonly number[] = [514, 601, 1514, 5514, 10514];
const MAX_LINE_BYTES = 1024 * 1024;

/** Whether the file's first bytes are gzip's magic number. */
export function isGzipHead(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** The UTF-16 encoding a byte-order mark at the start names, or null. */
export function utf16Bom(head: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  if (head.length < 2) return null;
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  return head[0] === 0xfe && head[1] === 0xff ? 'utf-16be' : null;
}

/** Streams the messages of one file in batches (one per chunk read); `stats` is updated as it goes. */
export async function* readCapture(path: string, stats: ReadStats, opts: ReadOptions = {}): AsyncGenerator<CaptureMessage[]> {
  const maxFrameBytes = opts.maxFrameBytes ?? 64 * 1024;
  const ports = new Set(opts.ports ?? DEFAULT_SYSLOG_PORTS);
  let fd: fs.promises.FileHandle;
  try {
    fd = await fs.promises.open(path, 'r');
  } catch (e: unknown) {
    throw new HandlogError('BAD_ARGUMENT', `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const head = Buffer.alloc(4);
  const { bytesRead: headLen } = await fd.read(head, 0, 4, 0);
  await fd.close();
  stats.gzip = isGzipHead(head.subarray(0, headLen));
  const startByte = stats.gzip ? 0 : (opts.startByte ?? 0);
  const file = fs.createReadStream(path, { highWaterMark: 1024 * 1024, start: startByte });
  // Progress counts file bytes: the compressed ones when the file is gzipped (the pipe reads them).
  if (stats.gzip) {
    file.on('data', (c: string | Buffer) => {
      stats.bytesRead += c.length;
    });
  }
  const source: AsyncIterable<Buffer> = stats.gzip ? file.pipe(createGunzip()) : file;

  let out: CaptureMessage[] = [];
  let decoder: CaptureDecoder | null = null;
  let tcp: TcpReassembler | null = null;
  let defragmenter: Defragmenter | null = null;
  let utf16: TextDecoder | null = null;
  let carry: Buffer | null = null;
  const skipped = (r: SkipReason | 'not_syslog') => {
    stats.skipped[r] = (stats.skipped[r] ?? 0) + 1;
  };
  const emit = (m: CaptureMessage) => {
    stats.messages++;
    out.push(m);
  };
  const textChunk = (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      let line = chunk.subarray(start, nl);
      if (carry !== null) {
        line = Buffer.concat([carry, line]);
        carry = null;
      }
      textLine(line, false);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      carry = carry === null ? Buffer.from(rest) : Buffer.concat([carry, rest]);
      if (carry.length > MAX_LINE_BYTES) {
        textLine(carry.subarray(0, maxFrameBytes), true);
        carry = Buffer.alloc(0);
      }
    }
  };
  let firstLine = startByte === 0;
  if (startByte > 0) stats.kind = 'text';
  const textLine = (line: Buffer, truncated: boolean) => {
    let s = decodeText(line); // not-UTF-8 bytes as Windows-1252, not U+FFFD
    if (firstLine) {
      firstLine = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    if (s.endsWith('\r')) s = s.slice(0, -1);
    if (s.trim() === '') return;
    if (Buffer.byteLength(s) > maxFrameBytes) {
      s = Buffer.from(s).subarray(0, maxFrameBytes).toString('utf8');
      truncated = true;
    }
    emit({ raw: s, tsMs: null, sourceIp: '', transport: 'file', truncated });
  };

  try {
    for await (const chunk of source) {
      if (!stats.gzip) stats.bytesRead += chunk.length;
      if (stats.kind === null) {
        const kind = sniffCapture(chunk);
        stats.kind = kind ?? 'text';
        // Windows tools (a syslog server's "Unicode" export) may write UTF-16 with a byte-order mark.
        const bom = kind === null ? utf16Bom(chunk) : null;
        if (bom !== null) {
          utf16 = new TextDecoder(bom);
        }
        if (kind !== null) {
          tcp = new TcpReassembler((m) => {
            emit({ raw: decodeText(m.data), tsMs: m.tsMs, sourceIp: m.src, transport: 'tcp', truncated: m.truncated });
          }, maxFrameBytes);
          const reasm = tcp;
          const defrag = new Defragmenter();
          defragmenter = defrag;
          decoder = new CaptureDecoder((p) => {
            stats.packets++;
            const ip = decodeIp(p.linkType, p.data);
            if ('reason' in ip) return skipped(ip.reason);
            const whole = defrag.push(ip);
            if (whole === null) return;
            const d = decodeTransport(whole);
            if (d.proto === 'skip') return skipped(d.reason);
            if (d.proto === 'udp') {
              if (d.payload.length === 0) return;
              if (!looksLikeSyslog(d.payload) && !ports.has(d.dport)) return skipped('not_syslog');
              let payload = d.payload;
              // Trailing line ends and NULs some senders add are not part of the message.
              let end = payload.length;
              while (end > 0 && (payload[end - 1] === 0x0a || payload[end - 1] === 0x0d || payload[end - 1] === 0)) end--;
              payload = payload.subarray(0, Math.min(end, maxFrameBytes));
              emit({ raw: decodeText(payload), tsMs: p.tsMs, sourceIp: d.src, transport: 'udp', truncated: end > maxFrameBytes });
              return;
            }
            reasm.push(d, p.tsMs);
          });
          stats.kind = decoder.container ?? kind;
        }
      }
      if (decoder !== null) decoder.push(chunk);
      else if (utf16 !== null) textChunk(Buffer.from(utf16.decode(chunk, { stream: true }), 'utf8'));
      else textChunk(chunk);
      if (out.length > 0) {
        yield out;
        out = [];
      }
    }
  } catch (e: unknown) {
    // A corrupt .gz or a read error: keep what was read, say why it stopped.
    stats.error = e instanceof Error ? e.message : String(e);
  } finally {
    file.destroy();
  }
  if (decoder !== null) {
    decoder.end();
    tcp?.end();
    defragmenter?.end();
    if ((defragmenter?.incomplete ?? 0) > 0) stats.skipped.ip_fragment = defragmenter?.incomplete ?? 0;
    stats.tcpFlows = tcp?.flows ?? 0;
    stats.tcpGaps = tcp?.gaps ?? 0;
    // A TCP stream that does not start like syslog (TLS on 6514, other protocols) counts once.
    if ((tcp?.ignoredFlows ?? 0) > 0) stats.skipped.not_syslog = (stats.skipped.not_syslog ?? 0) + (tcp?.ignoredFlows ?? 0);
    stats.error ??= decoder.error === 'empty capture' ? null : decoder.error;
  } else if (carry !== null && (carry as Buffer).length > 0) textLine(carry, false);
  if (stats.kind === null) stats.kind = 'text';
  if (out.length > 0) yield out;
}

export function newReadStats(): ReadStats {
  return { kind: null, gzip: false, bytesRead: 0, messages: 0, packets: 0, skipped: {}, tcpFlows: 0, tcpGaps: 0, error: null };
}
