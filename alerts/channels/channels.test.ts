// Senders against real peers on loopback: retries and backoff, the per-attempt timeout, 4xx not
// retried, Slack body shape, syslog over TCP (octet-counted RFC 5424).

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { Registry } from '../../core/metrics.js';
import { testEvent, type AlertEvent } from '../event.js';
import { BATCH_MAX, Dispatcher } from './index.js';
import { slackBatchPayload, slackSender } from './slack.js';
import { syslogLine, syslogSender } from './syslog.js';
import { webhookSender } from './webhook.js';
import { maskChannel, validateChannel } from './types.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** Answers the n-th request with statuses[n] (the last one repeated); -1 never answers. */
async function peer(statuses: number[]): Promise<{ url: string; bodies: unknown[]; times: number[] }> {
  const bodies: unknown[] = [];
  const times: number[] = [];
  const srv = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      times.push(Date.now());
      const s = statuses[Math.min(bodies.length - 1, statuses.length - 1)] ?? 200;
      if (s >= 0) res.writeHead(s).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`, bodies, times };
}

const fast = { timeoutMs: 300, retries: 3, backoffMs: 50 };

describe('webhook', () => {
  it('retries 5xx with exponential backoff until it succeeds', async () => {
    const p = await peer([503, 500, 200]);
    const r = await webhookSender({ url: p.url, headers: {} }, fast)([testEvent(Date.now())]);
    expect(r).toEqual({ ok: true, error: null, attempts: 3 });
    expect(p.times[1]! - p.times[0]!).toBeGreaterThanOrEqual(45);
    expect(p.times[2]! - p.times[1]!).toBeGreaterThanOrEqual(95);
    expect(p.bodies[0]).toMatchObject({ source: 'handlog', kind: 'test' });
  });

  it('gives up after the retries and reports the last error', async () => {
    const p = await peer([502]);
    const r = await webhookSender({ url: p.url, headers: {} }, fast)([testEvent(Date.now())]);
    expect(r).toEqual({ ok: false, error: 'HTTP 502', attempts: 4 });
  });

  it('does not retry a 4xx refusal', async () => {
    const p = await peer([400]);
    const r = await webhookSender({ url: p.url, headers: {} }, fast)([testEvent(Date.now())]);
    expect(r).toEqual({ ok: false, error: 'HTTP 400', attempts: 1 });
  });

  it('times out an attempt that gets no answer', async () => {
    const p = await peer([-1, 200]);
    const started = Date.now();
    const r = await webhookSender({ url: p.url, headers: {} }, { ...fast, retries: 0 })([testEvent(Date.now())]);
    expect(r).toEqual({ ok: false, error: 'no answer in 300 ms', attempts: 1 });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('an abort cancels a POST that is waiting for its answer, without retrying', async () => {
    const p = await peer([-1]);
    const ac = new AbortController();
    const started = Date.now();
    const pending = webhookSender({ url: p.url, headers: {} }, { timeoutMs: 10_000, retries: 3, backoffMs: 50 })([testEvent(Date.now())], ac.signal);
    setTimeout(() => ac.abort(), 100);
    const r = await pending;
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(1);
    expect(r.error).toMatch(/abort/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('sends the configured headers and a JSON content type', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const srv = http.createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
    const r = await webhookSender({ url, headers: { authorization: 'Bearer s3cret' } }, fast)([testEvent(Date.now())]);
    expect(r).toEqual({ ok: true, error: null, attempts: 1 });
    expect(seen[0]).toMatchObject({ authorization: 'Bearer s3cret', 'content-type': 'application/json', 'user-agent': 'handlog-alerts' });
  });

  it('slack gets { text, blocks } with the log text as plain_text', async () => {
    const p = await peer([200]);
    const e = { ...testEvent(Date.now()), message: '<b>not markup</b>' };
    expect((await slackSender({ url: p.url }, fast)([e])).ok).toBe(true);
    const body = p.bodies[0] as { text: string; blocks: { type: string; text: { type: string; text: string } }[] };
    expect(body.text).toContain('[handlog] TEST');
    expect(body.blocks[1]?.text).toMatchObject({ type: 'plain_text' });
    expect(body.blocks[1]?.text.text).toContain('<b>not markup</b>');
  });
});

/** Notice `i` of a storm: fired, one handset each. */
function stormEvent(i: number): AlertEvent {
  return { ...testEvent(Date.now()), kind: 'fired', rule_id: 'r', rule_name: 'storm', mac: `00907a${i.toString(16).padStart(6, '0')}`, tag: 'SipService', count: i + 1 };
}

describe('dispatcher: notices that queue up travel together', () => {
  const channel = (url: string) => ({ id: 'c1', name: 'hook', enabled: true, created_at: '', updated_at: '', type: 'webhook' as const, config: { url, headers: {} } });

  it('sends a burst of 120 notices as batches of up to 50 and a lone notice on its own', async () => {
    const p = await peer([200]);
    const metrics = new Registry();
    const d = new Dispatcher({ metrics, logger: silentLogger, now: Date.now, retry: fast });
    const c = channel(p.url);
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => d.sendOne(stormEvent(i), c)));
    expect(results.every((r) => r.ok && r.channel_id === 'c1' && r.attempts === 1)).toBe(true);
    expect(p.bodies).toHaveLength(3);
    const batches = p.bodies as { kind: string; batch_size: number; text: string; notifications: { kind: string; mac: string; count: number; text: string }[] }[];
    expect(batches.map((b) => b.batch_size)).toEqual([BATCH_MAX.webhook, BATCH_MAX.webhook, 20]);
    expect(batches.every((b) => b.kind === 'batch' && b.notifications.length === b.batch_size)).toBe(true);
    // Every notice once, in order, with the single-notice body.
    const all = batches.flatMap((b) => b.notifications);
    expect(all.map((n) => n.count)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(all[0]).toMatchObject({ kind: 'fired', mac: '00907a000000', count: 1, text: '[handlog] FIRING storm — 00907a000000 SipService ×1' });
    expect(batches[0]?.text.split('\n')[0]).toBe('[handlog] 50 notifications');
    expect(d.status('c1').sent).toBe(120);
    expect(metrics.render()).toContain('handlog_alert_notifications_total{channel_type="webhook",result="ok"} 120');
    // Series that never moved are there at 0 (an alert on failures works before the first one).
    expect(metrics.render()).toContain('handlog_alert_notifications_total{channel_type="smtp",result="failed"} 0');
    const lone = await d.sendOne(stormEvent(7), c);
    expect(lone.ok).toBe(true);
    expect(p.bodies[3]).toMatchObject({ source: 'handlog', kind: 'fired', mac: '00907a000007', count: 8 });
    await d.close();
  });

  it('fails every notice of a batch the receiver refused, counted per notice', async () => {
    const p = await peer([400]);
    const metrics = new Registry();
    const d = new Dispatcher({ metrics, logger: silentLogger, now: Date.now, retry: fast });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => d.sendOne(stormEvent(i), channel(p.url))));
    expect(p.bodies).toHaveLength(1);
    expect(results.every((r) => !r.ok && r.error === 'HTTP 400')).toBe(true);
    expect(d.status('c1')).toMatchObject({ failures: 1, sent: 0, last_error: 'HTTP 400' });
    expect(metrics.render()).toContain('handlog_alert_notifications_total{channel_type="webhook",result="failed"} 10');
    await d.close();
  });

  it('gives Slack one message with a section per notice', () => {
    const body = slackBatchPayload([stormEvent(0), stormEvent(1), stormEvent(2)]) as { text: string; blocks: { type: string; text: { text: string } }[] };
    expect(body.text).toBe('[handlog] 3 notifications: FIRING storm — 00907a000000 SipService ×1 and 2 more');
    expect(body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'section']);
    expect(body.blocks[3]?.text.text).toContain('00907a000002');
  });
});

describe('syslog forward', () => {
  it('sends the notices of one delivery as frames on one connection, a line each', async () => {
    let got = '';
    let connections = 0;
    const srv = net.createServer((s) => {
      connections++;
      s.on('data', (c: Buffer) => (got += c.toString()));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => srv.close(() => r())));
    const r = await syslogSender({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, protocol: 'tcp', facility: 16 })([0, 1, 2].map(stormEvent));
    expect(r.ok).toBe(true);
    await new Promise((res) => setTimeout(res, 100));
    expect(connections).toBe(1);
    // Three octet-counted frames: `<length> <133>1 …` each.
    expect(got.match(/\d+ <133>1 /g)).toHaveLength(3);
    expect(got).toContain('mac="00907a000002"');
  });

  it('sends a UDP datagram per notice', async () => {
    const dgram = await import('node:dgram');
    const sock = dgram.createSocket('udp4');
    const lines: string[] = [];
    sock.on('message', (m) => lines.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => sock.close(() => r())));
    const r = await syslogSender({ host: '127.0.0.1', port: sock.address().port, protocol: 'udp', facility: 16 })([0, 1, 2].map(stormEvent));
    expect(r).toEqual({ ok: true, error: null, attempts: 1 });
    await new Promise((res) => setTimeout(res, 100));
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => /mac="([0-9a-f]+)"/.exec(l)?.[1])).toEqual(['00907a000000', '00907a000001', '00907a000002']);
  });

  it('sends one octet-counted RFC 5424 frame over TCP', async () => {
    let got = '';
    const srv = net.createServer((s) => s.on('data', (c: Buffer) => (got += c.toString())));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => srv.close(() => r())));
    const e = { ...testEvent(Date.UTC(2026, 0, 5)), kind: 'fired' as const, severity: 0, rule_name: 'a "quoted" ]rule', mac: '00907a11baaa', count: 3 };
    const r = await syslogSender({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, protocol: 'tcp', facility: 16 })([e]);
    expect(r.ok).toBe(true);
    await new Promise((res) => setTimeout(res, 100));
    const line = syslogLine(e, 16, 'box');
    expect(got.endsWith(line.slice(line.indexOf(' handlog ')))).toBe(true);
    expect(got).toMatch(/^\d+ <128>1 2026-01-05T00:00:00.000Z /);
    expect(line).toContain('rule="a \\"quoted\\" \\]rule"');
  });

  it('reports a refused TCP connection', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const r = await syslogSender({ host: '127.0.0.1', port, protocol: 'tcp', facility: 16 })([testEvent(Date.now())]);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/ECONNREFUSED/);
  });
});

describe('secrets in API answers', () => {
  it('masks webhook and Slack URLs and header values, and keeps the stored ones when the masks come back', () => {
    const now = '2026-12-02T00:00:00.000Z';
    const slack = validateChannel({ name: 's', type: 'slack', config: { url: 'https://hooks.slack.com/services/T0/B0/secret' } }, now);
    const shown = maskChannel(slack);
    expect(shown.config).toEqual({ url: 'https://hooks.slack.com/********' });
    const again = validateChannel({ name: 's2', config: shown.config }, now, slack);
    expect(again.config).toEqual(slack.config);
    const hook = validateChannel({ name: 'w', type: 'webhook', config: { url: 'http://10.0.0.5:8080/alert?key=abc', headers: { Authorization: 'Bearer x' } } }, now);
    const hookShown = maskChannel(hook);
    expect(hookShown.config).toEqual({ url: 'http://10.0.0.5:8080/********', headers: { Authorization: '********' } });
    expect(validateChannel({ config: hookShown.config }, now, hook).config).toEqual(hook.config);
    expect(validateChannel({ config: { url: 'http://10.0.0.6/new', headers: {} } }, now, hook).config).toEqual({ url: 'http://10.0.0.6/new', headers: {} });
  });
  it('refuses the mask where no stored secret stands behind it (a new header, a new channel, an empty password)', () => {
    const now = '2026-12-02T00:00:00.000Z';
    const hook = validateChannel({ name: 'w', type: 'webhook', config: { url: 'http://10.0.0.5/a', headers: { 'X-Secret': 's3' } } }, now);
    expect(() => validateChannel({ config: { url: 'http://10.0.0.5/a', headers: { 'X-Secret': '********', 'X-New': '********' } } }, now, hook)).toThrow(
      /^config\.headers\.X-New: \*{8} stands for a stored secret/,
    );
    expect(() => validateChannel({ name: 'n', type: 'webhook', config: { url: 'http://10.0.0.5/a', headers: { A: '********' } } }, now)).toThrow(/^config\.headers\.A: /);
    const mail = { host: 'smtp.example', from: 'a@example.org', to: 'b@example.org' };
    expect(() => validateChannel({ name: 'm', type: 'smtp', config: { ...mail, user: 'u', pass: '********' } }, now)).toThrow(/^config\.pass: /);
    const withPass = validateChannel({ name: 'm', type: 'smtp', config: { ...mail, user: 'u', pass: 'pw' } }, now);
    expect((validateChannel({ config: { ...mail, user: 'u', pass: '********' } }, now, withPass).config as { pass: string }).pass).toBe('pw');
  });
  it('refuses webhook header values (and names) that HTTP cannot carry, naming config.headers.<name>', () => {
    const now = new Date().toISOString();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ 'X-Token': 'abc\r\nX-Injected: 1' }, /^config\.headers\.X-Token: /],
      [{ Authorization: 'Bearer x\ny' }, /^config\.headers\.Authorization: /],
      [{ 'X-Nul': 'a\u0000b' }, /^config\.headers\.X-Nul: /],
      [{ 'X-Del': 'a\u007fb' }, /^config\.headers\.X-Del: /],
    ];
    for (const [headers, re] of cases) {
      expect(() => validateChannel({ name: 'w', type: 'webhook', config: { url: 'http://10.0.0.5/a', headers } }, now), JSON.stringify(headers)).toThrow(re);
    }
    const ok = validateChannel({ name: 'w', type: 'webhook', config: { url: 'http://10.0.0.5/a', headers: { 'X-Token': 'abc def\tghi' } } }, now);
    expect(ok.config).toMatchObject({ headers: { 'X-Token': 'abc def\tghi' } });
    // An update is checked the same way.
    expect(() => validateChannel({ config: { url: 'http://10.0.0.5/a', headers: { 'X-Token': 'x\r\n' } } }, now, ok)).toThrow(/^config\.headers\.X-Token: /);
  });
});
