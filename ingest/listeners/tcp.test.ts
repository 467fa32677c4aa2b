import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HandlogError } from '../../core/errors.js';
import { ConnectionLimiter } from './limits.js';
import { createTcpListener, type TcpListener, type TcpListenerConfig } from './tcp.js';
import { closed, connect, harness, ipv6Available, sleep, waitFor, writeSlowly, type Harness } from './test-helpers.js';

const open: TcpListener[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((l) => l.stop()));
});

async function start(config: Partial<TcpListenerConfig> = {}, h: Harness = harness()): Promise<{ h: Harness; port: number; l: TcpListener }> {
  const l = createTcpListener({ address: '127.0.0.1:0', ...config }, h.deps);
  open.push(l);
  const { port } = await l.start();
  return { h, port, l };
}

async function client(port: number, host?: string, localAddress?: string): Promise<net.Socket> {
  const s = await connect(port, host, localAddress);
  s.on('error', () => undefined);
  sockets.push(s);
  return s;
}

const octet = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`;

describe('TCP listener', () => {
  it('receives LF-framed messages split at arbitrary chunk boundaries', async () => {
    const { h, port } = await start();
    const s = await client(port);
    s.setNoDelay(true);
    const data = Buffer.from('<13>one\n<13>two\r\n<13>three\0<13>four\n');
    await writeSlowly(s, data, [1, 3, 2, 7, 1, 5]);
    await waitFor(() => h.frames.length === 4, '4 frames');
    expect(h.texts()).toEqual(['<13>one', '<13>two', '<13>three', '<13>four']);
    expect(h.frames.every((f) => f.transport === 'tcp' && f.sourceIp === '127.0.0.1' && !f.truncated)).toBe(true);
    expect(h.metric('handlog_frames_received_total', { transport: 'tcp' })).toBe(4);
    expect(h.metric('handlog_bytes_received_total', { transport: 'tcp' })).toBe(data.length);
    expect(h.metric('handlog_connections', { transport: 'tcp' })).toBe(1);
    expect(h.metric('handlog_connections_total', { transport: 'tcp' })).toBe(1);
  });

  it('receives octet-counted messages (LF inside) split at arbitrary chunk boundaries', async () => {
    const { h, port } = await start();
    const s = await client(port);
    s.setNoDelay(true);
    const msgs = ['<13>line one\nline two', '<14>' + 'x'.repeat(3000), '<15>short'];
    await writeSlowly(s, Buffer.from(msgs.map(octet).join('')), [1, 2, 1, 700, 3, 1, 1000]);
    await waitFor(() => h.frames.length === 3, '3 frames');
    expect(h.texts()).toEqual(msgs);
  });

  it('detects the framing per message when a sender mixes them', async () => {
    const { h, port } = await start();
    const s = await client(port);
    s.write(octet('<13>a\nb') + '<14>lf\n' + octet('<15>c'));
    await waitFor(() => h.frames.length === 3, '3 frames');
    expect(h.texts()).toEqual(['<13>a\nb', '<14>lf', '<15>c']);
  });

  it('flushes an unterminated last LF frame when the peer ends the connection', async () => {
    const { h, port } = await start();
    const s = await client(port);
    s.end('<13>first\n<13>last without LF');
    await waitFor(() => h.frames.length === 2, '2 frames');
    expect(h.texts()).toEqual(['<13>first', '<13>last without LF']);
    await closed(s);
    await waitFor(() => h.metric('handlog_connections', { transport: 'tcp' }) === 0, 'connection gauge back to 0');
  });

  it('cuts oversize frames and counts them', async () => {
    const { h, port } = await start({ maxFrameBytes: 1000 });
    const s = await client(port);
    s.write('y'.repeat(5000) + '\n' + octet('z'.repeat(2000)) + '<13>ok\n');
    await waitFor(() => h.frames.length === 3, '3 frames');
    expect(h.texts()).toEqual(['y'.repeat(1000) + '[cut]', 'z'.repeat(1000) + '[cut]', '<13>ok']);
    expect(h.metric('handlog_dropped_total', { reason: 'frame_oversize' })).toBe(2);
  });

  it('counts a broken octet-counting prefix on a connection forced to octet counting, and keeps going', async () => {
    const { h, port } = await start({ framing: 'octet-counting' });
    const s = await client(port);
    s.write('oops no length\n' + octet('<13>ok'));
    await waitFor(() => h.frames.length === 2, '2 frames');
    expect(h.texts()).toEqual(['oops no length', '<13>ok']);
    expect(h.metric('handlog_dropped_total', { reason: 'framing_invalid' })).toBe(1);
  });

  it('survives a 999999999 length prefix without buffering it', async () => {
    const { h, port } = await start({ maxFrameBytes: 4096 });
    const s = await client(port);
    const block = Buffer.alloc(256 * 1024, 0x41);
    s.write('999999999 ');
    for (let i = 0; i < 16; i++) s.write(block);
    await waitFor(() => h.frames.length === 1, 'the cut head');
    expect(h.frames[0]?.data.length).toBe(4096);
    expect(h.frames[0]?.truncated).toBe(true);
  });

  it('drops only the partial frame when a connection is reset mid-frame (ECONNRESET)', async () => {
    const { h, port } = await start();
    const s = await client(port);
    s.write('<13>complete\n<13>partial, never fini');
    await waitFor(() => h.frames.length === 1, 'the complete frame');
    await sleep(20);
    s.resetAndDestroy();
    await waitFor(() => h.metric('handlog_dropped_total', { reason: 'framing_invalid' }) === 1, 'the partial frame counted');
    expect(h.texts()).toEqual(['<13>complete']);
    // The listener still works.
    const t = await client(port);
    t.end('<13>after\n');
    await waitFor(() => h.frames.length === 2, 'a frame after the reset');
    await waitFor(() => h.metric('handlog_connections', { transport: 'tcp' }) === 0, 'both connections closed');
  });

  it('never crashes when the frame handler throws', async () => {
    let calls = 0;
    const h = harness({
      onFrame: () => {
        calls += 1;
        throw new Error('bug downstream');
      },
    });
    const { port } = await start({}, h);
    const s = await client(port);
    s.write('a\nb\n');
    await waitFor(() => calls === 2, 'two calls');
  });

  it('refuses connections over the per-IP limit at once, and counts them', async () => {
    const { h, port } = await start({ maxConnectionsPerIp: 2, maxConnections: 100 });
    const a = await client(port);
    const b = await client(port);
    await waitFor(() => h.metric('handlog_connections', { transport: 'tcp' }) === 2, '2 open');
    const c = await client(port);
    await closed(c);
    expect(h.metric('handlog_dropped_total', { reason: 'conn_limit_per_ip' })).toBe(1);
    // Another source address is not affected (all of 127/8 is loopback on Linux).
    const other = await client(port, '127.0.0.1', '127.0.0.2').catch(() => undefined);
    if (other !== undefined) {
      other.write('<13>from .2\n');
      await waitFor(() => h.frames.some((f) => f.sourceIp === '127.0.0.2'), 'a frame from 127.0.0.2');
    }
    // A slot frees up when a connection closes.
    a.destroy();
    await waitFor(() => h.metric('handlog_connections', { transport: 'tcp' }) === (other === undefined ? 1 : 2), 'a closed');
    const d = await client(port);
    d.write('<13>d\n');
    await waitFor(() => h.frames.some((f) => f.data.toString() === '<13>d'), 'a frame from d');
    expect(b.destroyed).toBe(false);
  });

  it('refuses connections over the total limit at once, and counts them', async () => {
    const { h, port } = await start({ maxConnections: 3, maxConnectionsPerIp: 100 });
    for (let i = 0; i < 3; i++) await client(port);
    await waitFor(() => h.metric('handlog_connections', { transport: 'tcp' }) === 3, '3 open');
    const extra = await Promise.all([client(port), client(port)]);
    await Promise.all(extra.map(closed));
    expect(h.metric('handlog_dropped_total', { reason: 'conn_limit_total' })).toBe(2);
    expect(h.metric('handlog_connections', { transport: 'tcp' })).toBe(3);
  });

  it('shares one connection budget between listeners given the same limiter', async () => {
    const limiter = new ConnectionLimiter({ maxConnections: 1, maxConnectionsPerIp: 10 });
    const { h, port: p1 } = await start({}, harness({ limiter }));
    const { port: p2 } = await start({}, harness({ limiter, metrics: h.registry }));
    await client(p1);
    await waitFor(() => limiter.total === 1, 'one open');
    const refused = await client(p2);
    await closed(refused);
    expect(h.metric('handlog_dropped_total', { reason: 'conn_limit_total' })).toBe(1);
  });

  it('closes a connection that stays silent for idleTimeoutMs, keeping what it had sent', async () => {
    const { h, port } = await start({ idleTimeoutMs: 200 });
    const s = await client(port);
    s.write('<13>done\n<13>half');
    const t0 = Date.now();
    await closed(s);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(h.metric('handlog_dropped_total', { reason: 'idle_timeout' })).toBe(1);
    expect(h.texts()).toEqual(['<13>done', '<13>half[incomplete]']);
  });

  it('keeps a talking connection open past the idle timeout', async () => {
    const { h, port } = await start({ idleTimeoutMs: 150 });
    const s = await client(port);
    for (let i = 0; i < 6; i++) {
      s.write(`<13>tick ${i}\n`);
      await sleep(60);
    }
    expect(s.destroyed).toBe(false);
    expect(h.frames).toHaveLength(6);
  });

  it('does not let a stalled half-sent frame block other senders', async () => {
    const { h, port } = await start();
    const slow = await client(port);
    slow.write('<13>this frame never ends and the sender just sits th');
    slow.write(octet('<13>octet frame whose body') .slice(0, 10));
    const fast = await Promise.all(Array.from({ length: 5 }, () => client(port)));
    fast.forEach((s, i) => s.write(`<13>fast ${i}\n`));
    await waitFor(() => h.frames.length === 5, '5 fast frames');
    expect(h.texts().sort()).toEqual(['<13>fast 0', '<13>fast 1', '<13>fast 2', '<13>fast 3', '<13>fast 4']);
    expect(slow.destroyed).toBe(false);
  });

  it('survives a flood of 500 connections, counting what the limit refuses', async () => {
    const { h, port } = await start({ maxConnections: 300, maxConnectionsPerIp: 10_000 });
    const attempts = await Promise.allSettled(
      Array.from({ length: 500 }, () =>
        connect(port).then((s) => {
          s.on('error', () => undefined);
          sockets.push(s);
          return s;
        }),
      ),
    );
    const connected = attempts.filter((a) => a.status === 'fulfilled').length;
    await waitFor(
      () =>
        h.metric('handlog_connections', { transport: 'tcp' }) + h.metric('handlog_dropped_total', { reason: 'conn_limit_total' }) ===
        connected,
      'every connection admitted or refused',
    );
    expect(h.metric('handlog_connections', { transport: 'tcp' })).toBe(300);
    for (const s of sockets) if (!s.destroyed) s.write('<13>flood\n');
    await waitFor(() => h.frames.length === 300, '300 frames');
    for (const s of sockets) s.destroy();
    await waitFor(() => h.metric('handlog_connections', { transport: 'tcp' }) === 0, 'all closed');
    const s = await client(port);
    s.write('<13>still alive\n');
    await waitFor(() => h.frames.length === 301, 'a frame after the flood');
  });

  it('pause() stops reading from every connection and resume() picks up where it left off', async () => {
    const { h, port, l } = await start({ idleTimeoutMs: 100 });
    const a = await client(port);
    a.write('<13>before\n');
    await waitFor(() => h.frames.length === 1, 'first frame');
    l.pause();
    a.write('<13>while paused a\n');
    const b = await client(port); // a connection opened while paused starts paused
    b.write('<13>while paused b\n');
    await sleep(300); // also longer than the idle timeout: paused connections are not idle-closed
    expect(h.frames).toHaveLength(1);
    expect(a.destroyed || b.destroyed).toBe(false);
    l.resume();
    await waitFor(() => h.frames.length === 3, 'frames after resume');
    expect(h.texts().slice(1).sort()).toEqual(['<13>while paused a', '<13>while paused b']);
  });

  it('notices a peer that resets while paused: slot released, half-read data dropped and counted', async () => {
    const { h, port, l } = await start({ maxConnectionsPerIp: 1, pausedProbeMs: 50 });
    const s = await client(port);
    s.write('<13>complete\n<13>partial');
    await waitFor(() => h.frames.length === 1, 'the complete frame');
    l.pause();
    // More than the socket buffers take: the paused socket stops reading from the kernel.
    s.write(Buffer.alloc(4_000_000, '<13>sent while paused\n'));
    await sleep(200);
    // A healthy paused connection is left alone by the probe.
    expect(h.metric('handlog_connections', { transport: 'tcp' })).toBe(1);
    expect(s.destroyed).toBe(false);
    s.resetAndDestroy();
    await waitFor(() => h.metric('handlog_connections', { transport: 'tcp' }) === 0, 'the reset connection released while paused');
    expect(h.metric('handlog_dropped_total', { reason: 'framing_invalid' })).toBe(1);
    expect(h.texts()).toEqual(['<13>complete']);
    // The per-IP slot is free again: a new connection is admitted (and, paused, read after resume).
    const t = await client(port);
    t.write('<13>next\n');
    await sleep(100);
    expect(t.destroyed).toBe(false);
    expect(h.metric('handlog_dropped_total', { reason: 'conn_limit_per_ip' })).toBe(0);
    l.resume();
    await waitFor(() => h.frames.length === 2, 'the new connection read after resume');
    expect(h.texts()).toEqual(['<13>complete', '<13>next']);
  });

  it('stop() closes open connections, keeping their partial frame of either framing marked incomplete', async () => {
    const { h, port, l } = await start();
    const s = await client(port);
    s.write('<13>whole\n<13>in flight');
    const t = await client(port);
    t.write(octet('<13>counted') + '40 <13>counted but cut');
    await waitFor(() => h.frames.length === 2, 'the complete frames');
    await waitFor(() => h.metric('handlog_bytes_received_total', { transport: 'tcp' }) >= 59, 'bytes read');
    await l.stop();
    open.splice(open.indexOf(l), 1);
    await closed(s);
    await closed(t);
    expect(h.texts().sort()).toEqual(['<13>counted', '<13>counted but cut[incomplete]', '<13>in flight[incomplete]', '<13>whole']);
    expect(h.frames.filter((f) => f.incomplete === true)).toHaveLength(2);
    expect(h.metric('handlog_dropped_total', { reason: 'framing_invalid' })).toBe(2);
    await expect(connect(port)).rejects.toThrow();
  });

  it('refuses to bind a port in use with LISTEN_FAILED', async () => {
    const { port } = await start();
    const l = createTcpListener({ address: `127.0.0.1:${port}` }, harness().deps);
    await expect(l.start()).rejects.toSatisfy((e: unknown) => e instanceof HandlogError && e.code === 'LISTEN_FAILED');
  });

  it.skipIf(!ipv6Available())('listens on IPv6 loopback', async () => {
    const { h, port } = await start({ address: '[::1]:0' } as Partial<TcpListenerConfig>);
    const s = await client(port, '::1');
    s.write('<13>v6\n');
    await waitFor(() => h.frames.length === 1, 'a frame');
    expect(h.frames[0]?.sourceIp).toBe('::1');
  });

  it.skipIf(!ipv6Available())('takes IPv4 peers on [::] and reports them as plain IPv4', async () => {
    const { h, port } = await start({ address: '[::]:0' } as Partial<TcpListenerConfig>);
    const s = await client(port, '127.0.0.1');
    s.write('<13>mapped\n');
    await waitFor(() => h.frames.length === 1, 'a frame');
    expect(h.frames[0]?.sourceIp).toBe('127.0.0.1');
  });
});
