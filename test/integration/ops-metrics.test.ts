// /metrics as a monitoring system reads it: the store's state is a metric of its own (a Prometheus
// alert cannot read /healthz), and the text is valid exposition format (every sample's family has
// HELP and TYPE, once).

import { afterEach, describe, expect, it } from 'vitest';
import { metric, metricsText, startTestService } from './helpers.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function checkExposition(text: string): string[] {
  const problems: string[] = [];
  const help = new Set<string>();
  const type = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const h = /^# HELP (\S+) (.+)$/.exec(line);
    if (h !== null) {
      if (help.has(h[1] as string)) problems.push(`duplicate HELP ${h[1]}`);
      help.add(h[1] as string);
      continue;
    }
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t !== null) {
      if (type.has(t[1] as string)) problems.push(`duplicate TYPE ${t[1]}`);
      type.set(t[1] as string, t[2] as string);
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (\S+)$/.exec(line);
    if (s === null) {
      problems.push(`bad line: ${line}`);
      continue;
    }
    const name = s[1] as string;
    const family = type.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!type.has(family) || !help.has(family)) problems.push(`no HELP/TYPE before ${name}`);
    if (Number.isNaN(Number(s[3]))) problems.push(`bad value: ${line}`);
  }
  return problems;
}

describe('/metrics for operators', () => {
  it('says the store is up on the embedded engine, in valid exposition format', async () => {
    const svc = await startTestService();
    stops.push(() => svc.stop());
    const text = await metricsText(svc.http);
    expect(checkExposition(text)).toEqual([]);
    expect(text).toMatch(/^# TYPE handlog_store_up gauge$/m);
    expect(metric(text, 'handlog_store_up')).toBe(1);
    expect(text).toMatch(/^handlog_wal_full 0$/m);
  });

  it('says the store is down when --clickhouse-url points at nothing (as /healthz does)', async () => {
    const svc = await startTestService({ 'clickhouse-url': 'http://127.0.0.1:1/handlog' });
    stops.push(() => svc.stop());
    const health = await fetch(svc.http + '/healthz');
    expect(health.status).toBe(503);
    const text = await metricsText(svc.http);
    expect(checkExposition(text)).toEqual([]);
    expect(text).toMatch(/^handlog_store_up 0$/m);
  });
});
