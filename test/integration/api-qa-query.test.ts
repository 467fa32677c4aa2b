// The query API as a script uses it, over real HTTP against the real service: paging a relative
// time range while time passes, HEAD on the streaming routes, stats of a range that starts later.

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { api, metric, metricsText, port, serviceForFile, until } from './helpers.js';

const svc = serviceForFile();

/** A handset line (network form) whose body carries the time `ms`. */
function line(mac: string, text: string, ms: number): string {
  const d = new Date(ms);
  const head = `<131>${d.toUTCString().slice(8, 11)} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
  return `${head} 172.29.4.17 SipService[3367]: ${mac}| ${ms}| SipService |3|00| ${text}`;
}

async function send(lines: string[]): Promise<void> {
  const s = net.connect(port(svc.addresses['tcp']), '127.0.0.1');
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  s.end(lines.map((l) => l + '\n').join(''));
  await new Promise((r) => s.once('close', r));
}

type Page = { rows: { id: string }[]; next_cursor: string | null };

describe('paging', () => {
  it('a relative range keeps the first page\'s window: rows near its edge are not lost while the user pages', async () => {
    const mac = '00907a0a0001';
    const now = Date.now();
    // 12 rows from 6 s to 0.5 s ago; the range is the last 10 s (4 s to spare for the first page).
    await send(Array.from({ length: 12 }, (_, i) => line(mac, `row ${i}`, now - 6_000 + i * 500)));
    const q = `mac=${mac}&from=-10s&limit=3&fields=id`;
    await until(() => api<{ count: number }>(svc.http, `/api/logs/count?mac=${mac}`), (r) => r.body.count === 12);
    const first = await api<Page>(svc.http, `/api/logs?${q}`);
    expect(first.body.rows).toHaveLength(3);
    // The user reads the first page for a while: by now "-10s" from now would miss the oldest rows.
    await new Promise((r) => setTimeout(r, 5_000));
    const seen = first.body.rows.map((r) => r.id);
    let cursor = first.body.next_cursor;
    while (cursor !== null) {
      const page = await api<Page>(svc.http, `/api/logs?${q}&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.rows.map((r) => r.id));
      cursor = page.body.next_cursor;
    }
    expect(new Set(seen).size).toBe(12);
  }, 30_000);
});

describe('HEAD on the streaming routes', () => {
  it('leaves no live-tail client and no open export behind', async () => {
    for (let i = 0; i < 3; i++) {
      const tail = await fetch(`${svc.http}/api/logs/tail?severity=error`, { method: 'HEAD' });
      expect(tail.status).toBe(200);
      expect(tail.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const exp = await fetch(`${svc.http}/api/logs/export?format=csv`, { method: 'HEAD' });
      expect(exp.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(metric(await metricsText(svc.http), 'handlog_tail_clients')).toBe(0);
  });
});

describe('stats', () => {
  it('a range that starts after now answers an empty range, not one whose end is before its start', async () => {
    const from = new Date(Date.now() + 86_400_000).toISOString();
    const r = await api<{ from: string; to: string; total: number; buckets: unknown[] }>(svc.http, `/api/stats?from=${from}`);
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(0);
    expect(Date.parse(r.body.to)).toBeGreaterThanOrEqual(Date.parse(r.body.from));
  });
});
