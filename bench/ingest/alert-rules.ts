// HANDLOG_BENCH_RULES=N for `npm run bench:ingest`: installs N varied alert rules (match rules on
// severities, tags, text and MACs, per-handset and overall thresholds, the battery kinds and
// missed-events jumps) sending to a local webhook that answers 204, so the run measures evaluation,
// grouping, dispatch and alert storage next to ingest. N=0 disables the default rule: the baseline.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TAGS, macOf } from '../corpus.js';

async function call(base: string, method: string, p: string, body: unknown): Promise<unknown> {
  const r = await fetch(base + p, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json: unknown = await r.json();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

/** The N rules (N ≤ 40): the default Fatal/Error rule first, then a mix of every kind. */
export function benchRules(n: number): Record<string, unknown>[] {
  const timing = { cooldown_s: 300, group_wait_ms: 500 };
  const kinds: Record<string, unknown>[] = [
    { name: 'battery low', kind: 'battery_level_below', value: 15 },
    { name: 'battery hot', kind: 'battery_temperature_above', value: 42 },
    { name: 'battery health', kind: 'battery_health_in' },
    { name: 'missed events', kind: 'missed_events_jump', value: 5 },
    { name: 'warnings burst per handset', filter: { max_severity: 'Warning' }, condition: { type: 'threshold', count: 20, window_s: 60, per: 'handset' } },
    { name: 'errors fleet-wide', filter: { severity: 'Error' }, condition: { type: 'threshold', count: 1000, window_s: 60, per: 'overall' } },
    { name: 'WPA handshake', filter: { tag: 'wpa_supplicant', q: '4-Way Handshake failed' } },
    { name: 'HTTP 404', filter: { tag_contains: 'httpserver', q: 'Response Code:404' }, condition: { type: 'threshold', count: 10, window_s: 300, per: 'handset' } },
    { name: 'VIP handsets', filter: { mac: [macOf(1), macOf(2), macOf(3), macOf(4)], max_severity: 'Warning' } },
  ];
  const rules: Record<string, unknown>[] = [];
  for (let i = 0; rules.length < n; i++) {
    if (i < kinds.length) rules.push({ ...timing, ...kinds[i] });
    else {
      const tag = TAGS[i % TAGS.length] ?? 'SipService';
      rules.push({ ...timing, name: `errors from ${tag}`, filter: { tag, max_severity: i % 2 === 0 ? 'Error' : 'Fatal' } });
    }
  }
  return rules;
}

/** Applies the rule set to a running service; returns a stop function for the webhook sink. */
export async function installBenchRules(base: string, n: number): Promise<{ received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/alerts`;
  // The default rule counts as one of the N.
  await call(base, 'PUT', '/api/alerts/rules/default', { enabled: n > 0 });
  if (n > 0) {
    // HANDLOG_BENCH_NO_CHANNEL=1: rules evaluated and alerts stored, nothing sent (isolates delivery).
    if (process.env['HANDLOG_BENCH_NO_CHANNEL'] !== '1') await call(base, 'POST', '/api/alerts/channels', { name: 'bench sink', type: 'webhook', config: { url } });
    for (const rule of benchRules(n - 1)) await call(base, 'POST', '/api/alerts/rules', rule);
  }
  return {
    received: () => received,
    close: () => new Promise((r) => { sink.closeAllConnections(); sink.close(() => r()); }),
  };
}
