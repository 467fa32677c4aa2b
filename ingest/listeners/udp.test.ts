import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HandlogError } from '../../core/errors.js';
import { Registry } from '../../core/metrics.js';
import { parseProcNetUdpDrops, readUdpKernelDrops } from './kernel-drops.js';
import { harness, ipv6Available, waitFor } from './test-helpers.js';
import { createUdpListener, type UdpListener } from './udp.js';

const open: UdpListener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.stop()));
});

async function send(port: number, messages: (string | Buffer)[], host = '127.0.0.1'): Promise<void> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const m of messages) {
    await new Promise<void>((resolve, reject) => s.send(m, port, host, (e) => (e ? reject(e) : resolve())));
  }
  s.close();
}

describe('UDP listener', () => {
  it('turns each datagram into one frame, stripping a trailing LF, CRLF or NUL', async () => {
    const h = harness();
    const l = createUdpListener({ address: '127.0.0.1:0' }, h.deps);
    open.push(l);
    const { address, port } = await l.start();
    expect(address).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    await send(port, ['<13>one\n', '<13>two\r\n', '<13>three\0', '<13>multi\nline', '', '\n']);
    await waitFor(() => h.frames.length === 4, '4 frames');
    expect(h.texts().sort()).toEqual(['<13>multi\nline', '<13>one', '<13>three', '<13>two']);
    const f = h.frames[0];
    expect(f?.transport).toBe('udp');
    expect(f?.sourceIp).toBe('127.0.0.1');
    expect(f?.truncated).toBe(false);
    expect(Math.abs((f?.receivedAtMs ?? 0) - Date.now())).toBeLessThan(5_000);
    expect(h.metric('handlog_frames_received_total', { transport: 'udp' })).toBe(4);
    expect(h.metric('handlog_bytes_received_total', { transport: 'udp' })).toBe(8 + 9 + 10 + 14 + 0 + 1);
    // The empty one and the lone LF carry no message: not frames, but counted as drops.
    await waitFor(() => h.metric('handlog_dropped_total', { reason: 'empty_datagram' }) === 2, '2 empty datagrams counted');
  });

  it('cuts datagrams longer than maxFrameBytes and counts them', async () => {
    const h = harness();
    const l = createUdpListener({ address: '127.0.0.1:0', maxFrameBytes: 100 }, h.deps);
    open.push(l);
    const { port } = await l.start();
    await send(port, ['x'.repeat(1000)]);
    await waitFor(() => h.frames.length === 1, 'a frame');
    expect(h.frames[0]?.data.length).toBe(100);
    expect(h.frames[0]?.truncated).toBe(true);
    expect(h.metric('handlog_dropped_total', { reason: 'frame_oversize' })).toBe(1);
  });

  it('passes binary and invalid UTF-8 datagrams through as bytes', async () => {
    const h = harness();
    const l = createUdpListener({ address: '127.0.0.1:0' }, h.deps);
    open.push(l);
    const { port } = await l.start();
    const bin = Buffer.from([0xff, 0x00, 0xfe, 0xc3, 0x28, 0x0a, 0x80]);
    await send(port, [bin]);
    await waitFor(() => h.frames.length === 1, 'a frame');
    expect([...(h.frames[0]?.data ?? [])]).toEqual([...bin]);
  });

  it.skipIf(!ipv6Available())('listens on IPv6 loopback', async () => {
    const h = harness();
    const l = createUdpListener({ address: '[::1]:0' }, h.deps);
    open.push(l);
    const { address, port } = await l.start();
    expect(address).toBe('::1');
    await send(port, ['<13>v6\n'], '::1');
    await waitFor(() => h.frames.length === 1, 'a frame');
    expect(h.frames[0]?.sourceIp).toBe('::1');
  });

  it('refuses a port that is already bound (no SO_REUSEADDR sharing)', async () => {
    const h = harness();
    const a = createUdpListener({ address: '127.0.0.1:0' }, h.deps);
    open.push(a);
    const { port } = await a.start();
    const b = createUdpListener({ address: `127.0.0.1:${port}` }, harness().deps);
    await expect(b.start()).rejects.toSatisfy((e: unknown) => e instanceof HandlogError && e.code === 'LISTEN_FAILED');
  });

  it('never crashes when the frame handler throws', async () => {
    let calls = 0;
    const h = harness({
      onFrame: () => {
        calls += 1;
        throw new Error('bug downstream');
      },
    });
    const l = createUdpListener({ address: '127.0.0.1:0' }, h.deps);
    open.push(l);
    const { port } = await l.start();
    await send(port, ['a', 'b']);
    await waitFor(() => calls === 2, 'two calls');
  });

  it('parses the drops column of /proc/net/udp and /proc/net/udp6 for the bound address and port', () => {
    const v4 = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  120: 0100007F:158A 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 1234 2 0000000000000000 17',
      '  121: 00000000:158A 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 1235 2 0000000000000000 5',
      '  122: 0100007F:158B 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 1236 2 0000000000000000 99',
    ].join('\n');
    expect(parseProcNetUdpDrops(v4, '127.0.0.1', 0x158a)).toBe(17);
    expect(parseProcNetUdpDrops(v4, '0.0.0.0', 0x158a)).toBe(5);
    expect(parseProcNetUdpDrops(v4, '127.0.0.1', 1)).toBeUndefined();
    const v6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  300: 00000000000000000000000001000000:158A 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 999 2 0000000000000000 3',
      '  301: 00000000000000000000000000000000:158A 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 998 2 0000000000000000 4',
    ].join('\n');
    expect(parseProcNetUdpDrops(v6, '::1', 0x158a)).toBe(3);
    expect(parseProcNetUdpDrops(v6, '::', 0x158a)).toBe(4);
  });

  it.skipIf(!fs.existsSync('/proc/net/udp'))(
    'shows what the kernel drops when the receive buffer overflows, as a gauge and as dropped{udp_kernel}',
    async () => {
      const h = harness();
      // The smallest buffer the kernel allows, so a blocked event loop overflows it quickly.
      const l = createUdpListener({ address: '127.0.0.1:0', recvBufferSize: 4096 }, h.deps);
      open.push(l);
      const { port } = await l.start();
      expect(readUdpKernelDrops('127.0.0.1', port)).toBe(0);
      expect(h.registry.render()).toContain('handlog_udp_kernel_drops 0');
      // Another process floods the port while this one's event loop is blocked and cannot read.
      const script = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(1000,65);let n=0;(function f(){for(let i=0;i<200;i++)s.send(b,${port},'127.0.0.1');if(++n<10)setTimeout(f,5);else setTimeout(()=>process.exit(0),200)})();`;
      const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const deadline = Date.now() + 5_000;
      while ((readUdpKernelDrops('127.0.0.1', port) ?? 0) === 0 && Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // block, do not read
      }
      await exited;
      const drops = readUdpKernelDrops('127.0.0.1', port) ?? 0;
      expect(drops).toBeGreaterThan(0);
      const text = h.registry.render();
      const gauge = Number(/^handlog_udp_kernel_drops (\d+)$/m.exec(text)?.[1]);
      expect(gauge).toBeGreaterThanOrEqual(drops);
      await waitFor(() => h.metric('handlog_dropped_total', { reason: 'udp_kernel' }) >= drops, 'dropped{udp_kernel}');
    },
  );

  it('bounds what the receiver thread hands over while the main thread is busy, and counts the rest', async () => {
    const h = harness();
    const l = createUdpListener({ address: '127.0.0.1:0', maxBacklog: 10 }, h.deps);
    open.push(l);
    const { port } = await l.start();
    // Another process sends 100 datagrams while this thread is blocked: the receiver keeps reading
    // the socket (no kernel drops) but hands over at most 10 unprocessed messages.
    const script = `const s=require('dgram').createSocket('udp4');let n=0;(function f(){s.send('<13>m'+n,${port},'127.0.0.1',()=>{if(++n<100)f();else setTimeout(()=>process.exit(0),100)})})();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500); // busy main thread
    await exited;
    await waitFor(() => h.frames.length + h.metric('handlog_dropped_total', { reason: 'udp_backlog' }) === 100, 'all 100 accounted for');
    expect(h.frames.length).toBeLessThanOrEqual(10);
    expect(h.metric('handlog_dropped_total', { reason: 'udp_backlog' })).toBeGreaterThanOrEqual(90);
    expect(readUdpKernelDrops('127.0.0.1', port) ?? 0).toBe(0);
  });

  it('creates each metric family once when several listeners share a registry', async () => {
    const registry = new Registry();
    const h = harness({ metrics: registry });
    const a = createUdpListener({ address: '127.0.0.1:0' }, h.deps);
    const b = createUdpListener({ address: '127.0.0.1:0' }, h.deps);
    open.push(a, b);
    await a.start();
    await b.start();
    const text = registry.render();
    expect(text.match(/^# TYPE handlog_frames_received_total /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE handlog_udp_kernel_drops /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE handlog_dropped_total /gm)).toHaveLength(1);
  });
});
