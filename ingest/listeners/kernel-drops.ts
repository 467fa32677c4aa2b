// Datagrams the kernel dropped because a UDP socket's receive buffer was full never reach Node, so they
// are read from the kernel: the last column (`drops`) of /proc/net/udp and /proc/net/udp6 for the
// socket's local address and port. Linux only; elsewhere the value is simply not available.

import fs from 'node:fs';
import os from 'node:os';

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** `0100007F` → `127.0.0.1`; the kernel prints each 32-bit word of the address in host byte order. */
function decodeProcAddress(hex: string): string | undefined {
  if (hex.length !== 8 && hex.length !== 32) return undefined;
  const bytes = Buffer.alloc(hex.length / 2);
  for (let i = 0; i < hex.length; i += 8) {
    const word = Number.parseInt(hex.slice(i, i + 8), 16);
    if (Number.isNaN(word)) return undefined;
    if (LITTLE_ENDIAN) bytes.writeUInt32LE(word, i / 2);
    else bytes.writeUInt32BE(word, i / 2);
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalIpv6(groups.join(':'));
}

/** One spelling per IPv6 address (`0:0:0:0:0:0:0:1` and `::1` alike), via the WHATWG URL host parser. */
function canonicalIpv6(address: string): string | undefined {
  try {
    return new URL(`http://[${address}]/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Sums the `drops` column of the rows of a /proc/net/udp{,6} text bound to `port` on `address` (as the
 * socket reports it). Returns undefined when no row matches.
 */
export function parseProcNetUdpDrops(text: string, address: string, port: number): number | undefined {
  const want = address.includes(':') ? canonicalIpv6(address) : address;
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (cols.length < 13 || !/^\d+:$/.test(cols[0] ?? '')) continue;
    const local = cols[1] ?? '';
    const sep = local.indexOf(':');
    if (sep < 0 || Number.parseInt(local.slice(sep + 1), 16) !== port) continue;
    if (decodeProcAddress(local.slice(0, sep)) !== want) continue;
    const drops = Number(cols[cols.length - 1]);
    if (Number.isSafeInteger(drops)) total = (total ?? 0) + drops;
  }
  return total;
}

/** Reads the kernel drop count of the UDP socket bound to address:port, or undefined when unavailable. */
export function readUdpKernelDrops(address: string, port: number, files = ['/proc/net/udp', '/proc/net/udp6']): number | undefined {
  let total: number | undefined;
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    const n = parseProcNetUdpDrops(text, address, port);
    if (n !== undefined) total = (total ?? 0) + n;
  }
  return total;
}
