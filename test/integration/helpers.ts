// In-process service for integration tests: real listeners on 127.0.0.1 (ports picked by the
// kernel), the real embedded ClickHouse in a temp directory, real HTTP.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadServeConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { afterAll, beforeAll } from 'vitest';
import { startService, type Service } from '../../cli/serve.js';

export function tempDir(prefix = 'handlog-it-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export type TestService = Service & { http: string; dir: string };

/**
 * One service for a test file: started before its tests, stopped after them. The answer reads
 * through to the running service (`svc.http` inside a test).
 */
export function serviceForFile(flags: Record<string, string> = {}): TestService {
  let running: TestService | undefined;
  beforeAll(async () => {
    running = await startTestService(flags);
  }, 60_000);
  afterAll(async () => {
    await running?.stop();
  });
  return new Proxy({} as TestService, {
    get(_target, key) {
      if (running === undefined) throw new Error('the test service is not started (use it inside a test)');
      return Reflect.get(running, key) as unknown;
    },
  });
}

export async function startTestService(flags: Record<string, string> = {}): Promise<TestService> {
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
