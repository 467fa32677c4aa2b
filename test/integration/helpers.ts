// In-process service for integration tests: real listeners on 127.0.0.1 (ports picked by the
// kernel), the real embedded ClickHouse in a temp directory, real HTTP.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadServeConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { startService, type Service } from '../../cli/serve.js';

export function tempDir(prefix = 'handlog-it-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestService(flags: Record<string, string> = {}): Promise<Service & { http: string; dir: string }> {
  const dir = flags['data'] ?? tempDir();
  const config = loadServeConfig(
    {
      data: dir,
      udp: '127.0.0.1:0',
      tcp: '127.0.0.1:0',
      http: '127.0.0.1:0',
      'batch-max-age-ms': '50',
      ...flags,
    },
    {},
  );
  const svc = await startService(config, { logger: silentLogger });
  return Object.assign(svc, { http: `http://${svc.addresses['http'] ?? ''}`, dir });
}

export function port(addr: string | null | undefined): number {
  const m = /:(\d+)$/.exec(addr ?? '');
  if (m === null) throw new Error(`no port in ${String(addr)}`);
  return Number(m[1]);
}

export async function api<T>(base: string, p: string): Promise<{ status: number; body: T }> {
  const r = await fetch(base + p);
  return { status: r.status, body: (await r.json()) as T };
}

export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function metricsText(base: string): Promise<string> {
  return (await fetch(base + '/metrics')).text();
}

/** Value of one Prometheus sample line, e.g. metric(text, 'handlog_dropped_total{reason="frame_oversize"}'). */
export function metric(text: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ')) return Number(line.slice(name.length + 1));
  }
  return 0;
}
