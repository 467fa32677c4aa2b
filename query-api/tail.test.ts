// Live tail through app.request(): rows from a fake pipeline, SSE framing, heartbeats, the
// per-client buffer limit (overflow event, then the stream ends; the ingest side is never made to
// wait), and unsubscribing when the client goes away.

import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { Registry } from '../core/metrics.js';
import type { StoredRecord } from '../core/record.js';
import type { RecordListener } from '../ingest/pipeline.js';
import type { Store } from '../store/client.js';
import { createApp } from './app.js';
import type { TailLimits } from './tail.js';

class FakePipeline {
  readonly listeners = new Set<RecordListener>();
  subscriptions = 0;
  subscribe(l: RecordListener): () => void {
    this.subscriptions++;
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(row: StoredRecord): void {
    for (const l of this.listeners) l(row, Date.now());
  }
}

function setup(limits: Partial<TailLimits> = {}) {
  const pipeline = new FakePipeline();
  const metrics = new Registry();
  const client = {
    query: () => Promise.reject(new Error('no store in unit tests')),
  } as unknown as ClickHouseClient;
  const store = { mode: 'embedded', client } as unknown as Store;
  const app = createApp({
    store,
    metrics,
    logger: silentLogger,
    health: () => Promise.reject(new Error('unused')),
    pipeline,
    tailLimits: limits,
  });
  return { app, pipeline, metrics };
}

let seq = 0;
function row(mac: string, message: string, severity = 6): StoredRecord {
  seq++;
  return {
    id: `6f1c1f64-4b7e-4c52-9d6f-${String(seq).padStart(12, '0')}`,
    time: new Date().toISOString(),
    received_at: new Date().toISOString(),
    source_ip: '127.0.0.1',
    transport: 'udp',
    session: '',
    format: 'pivot',
    facility: 16,
    severity,
    severity_name: null,
    syslog_time: null,
    host: null,
    tag: 'SipService',
    pid: null,
    tid: null,
    mac,
    device_time: null,
    uptime_ms: null,
    missed_events: null,
    message,
    raw: message,
  };
}

/** Reads SSE text until `done(text)` or the stream ends. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, done: (text: string) => boolean, timeoutMs = 2000): Promise<{ text: string; ended: boolean }> {
  const dec = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  while (!done(text)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(text)}`);
    const r = await Promise.race([reader.read(), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), left))]);
    if (r === 'timeout') throw new Error(`timed out; got ${JSON.stringify(text)}`);
    if (r.done) return { text, ended: true };
    text += dec.decode(r.value, { stream: true });
  }
  return { text, ended: false };
}

function events(text: string, name: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith(`event: ${name}\n`))
    .map((block) => JSON.parse(block.slice(`event: ${name}\ndata: `.length)) as unknown);
}

const metric = (m: Registry, name: string): number => {
  const line = m.render().split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
};

describe('GET /api/logs/tail', () => {
  it('streams matching rows as SSE and nothing else', async () => {
    const { app, pipeline, metrics } = setup();
    const res = await app.request('/api/logs/tail?mac=00:90:7a:11:ba:aa&max_severity=error');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    await readUntil(reader, (t) => t.includes(': tail open'));
    expect(metric(metrics, 'handlog_tail_clients')).toBe(1);
    pipeline.emit(row('00907a11baaa', 'info, filtered out', 6));
    pipeline.emit(row('00907a22cccc', 'other handset', 3));
    pipeline.emit(row('00907a11baaa', 'line one\nline two', 3));
    const { text } = await readUntil(reader, (t) => t.includes('event: log'));
    const got = events(text, 'log') as StoredRecord[];
    expect(got.map((r) => r.message)).toEqual(['line one\nline two']);
    // One event per row: the JSON carries the newline escaped, so `data:` is a single line.
    expect(text).toMatch(/event: log\ndata: \{[^\n]*\}\n\n/);
    await reader.cancel();
    expect(pipeline.listeners.size).toBe(0);
    expect(metric(metrics, 'handlog_tail_clients')).toBe(0);
  });

  it('sends a row as /api/logs returns it: fields the store does not keep (RFC5424 msgid, structured data) are left out', async () => {
    const { app, pipeline } = setup();
    const reader = (await app.request('/api/logs/tail')).body!.getReader();
    const r = { ...row('00907a11baaa', 'from a 5424 sender'), format: 'rfc5424', msgid: 'ID47', structured_data: { 'ex@1': { a: 'b' } } } as StoredRecord;
    pipeline.emit(r);
    const got = events((await readUntil(reader, (t) => t.includes('event: log'))).text, 'log')[0] as Record<string, unknown>;
    const { msgid: _m, structured_data: _sd, ...stored } = r as StoredRecord & { msgid: string; structured_data: unknown };
    expect(got).toEqual(JSON.parse(JSON.stringify(stored)));
    await reader.cancel();
  });

  it('shares one pipeline subscription among clients and drops it with the last one', async () => {
    const { app, pipeline } = setup();
    const a = (await app.request('/api/logs/tail?tag=SipService')).body!.getReader();
    const b = (await app.request('/api/logs/tail?q=HELLO')).body!.getReader();
    expect(pipeline.subscriptions).toBe(1);
    pipeline.emit(row('00907a11baaa', 'hello world'));
    expect((events((await readUntil(a, (t) => t.includes('event: log'))).text, 'log') as StoredRecord[])[0]?.message).toBe('hello world');
    expect((events((await readUntil(b, (t) => t.includes('event: log'))).text, 'log') as StoredRecord[])[0]?.message).toBe('hello world');
    await a.cancel();
    expect(pipeline.listeners.size).toBe(1);
    await b.cancel();
    expect(pipeline.listeners.size).toBe(0);
  });

  it('unsubscribes when the request is aborted', async () => {
    const { app, pipeline, metrics } = setup();
    const ac = new AbortController();
    const res = await app.request(new Request('http://localhost/api/logs/tail', { signal: ac.signal }));
    expect(pipeline.listeners.size).toBe(1);
    ac.abort();
    expect(pipeline.listeners.size).toBe(0);
    expect(metric(metrics, 'handlog_tail_clients')).toBe(0);
    const { ended } = await readUntil(res.body!.getReader(), () => false);
    expect(ended).toBe(true);
  });

  it('HEAD answers the headers and leaves no client behind (Hono drops a HEAD body without cancelling it)', async () => {
    const { app, pipeline, metrics } = setup();
    for (let i = 0; i < 3; i++) {
      const res = await app.request('/api/logs/tail?severity=3', { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    }
    expect(pipeline.listeners.size).toBe(0);
    expect(metric(metrics, 'handlog_tail_clients')).toBe(0);
    // The filters are still checked.
    expect((await app.request('/api/logs/tail?severity=loud', { method: 'HEAD' })).status).toBe(400);
  });

  it('sends heartbeat comments', async () => {
    const { app } = setup({ heartbeatMs: 20 });
    const reader = (await app.request('/api/logs/tail')).body!.getReader();
    const { text } = await readUntil(reader, (t) => t.includes(': ping\n\n'));
    expect(text).toContain(': ping');
    await reader.cancel();
  });

  it('a client that does not read is sent overflow and dropped; the emitter never waits', async () => {
    const { app, pipeline, metrics } = setup({ maxBufferRows: 100, overflowGraceMs: 60_000 });
    const slow = (await app.request('/api/logs/tail')).body!.getReader();
    const fast = (await app.request('/api/logs/tail')).body!.getReader();
    const fastText = readUntil(fast, (t) => (t.match(/event: log/g) ?? []).length >= 1000, 5000);
    let emitMs = 0;
    for (let batch = 0; batch < 20; batch++) {
      const started = performance.now();
      for (let i = batch * 50; i < (batch + 1) * 50; i++) pipeline.emit(row('00907a11baaa', `row ${i}`));
      emitMs += performance.now() - started;
      // The reading client gets its turn between bursts, as it would between socket reads.
      await new Promise((r) => setTimeout(r, 5));
    }
    // Emitting only appends to queues: 1000 rows to two clients take well under a second.
    expect(emitMs).toBeLessThan(1000);
    expect(metric(metrics, 'handlog_tail_dropped_clients_total')).toBe(1);
    expect(metric(metrics, 'handlog_tail_clients')).toBe(1);
    const { text, ended } = await readUntil(slow, () => false);
    expect(ended).toBe(true);
    expect(events(text, 'log')).toHaveLength(0);
    expect(events(text, 'overflow')).toEqual([{ dropped_rows: 101, reason: 'client too slow' }]);
    // The client that kept up got every row, in order.
    const got = events((await fastText).text, 'log') as StoredRecord[];
    expect(got.map((r) => r.message)).toEqual(Array.from({ length: 1000 }, (_, i) => `row ${i}`));
    await fast.cancel();
    expect(pipeline.listeners.size).toBe(0);
  });

  it('the byte limit counts too', async () => {
    const { app, pipeline, metrics } = setup({ maxBufferBytes: 10_000 });
    const slow = (await app.request('/api/logs/tail')).body!.getReader();
    for (let i = 0; i < 5; i++) pipeline.emit(row('00907a11baaa', 'x'.repeat(3000)));
    expect(metric(metrics, 'handlog_tail_dropped_clients_total')).toBe(1);
    const { text, ended } = await readUntil(slow, () => false);
    expect(ended).toBe(true);
    expect(events(text, 'overflow')).toHaveLength(1);
  });

  it('a dropped client that reads nothing has its stream errored after the grace period', async () => {
    const { app, pipeline } = setup({ maxBufferRows: 1, overflowGraceMs: 50 });
    const slow = (await app.request('/api/logs/tail')).body!.getReader();
    pipeline.emit(row('00907a11baaa', 'a'));
    pipeline.emit(row('00907a11baaa', 'b'));
    await new Promise((r) => setTimeout(r, 120));
    await expect(slow.read()).rejects.toThrow(/overflow/);
  });
});
