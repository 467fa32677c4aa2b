// The session service's view of an upload under way, against the real embedded store: a session
// read must not look finished while the upload that is finishing it has not reported yet.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { Registry } from '../core/metrics.js';
import { openStore, type Store } from '../store/client.js';
import { createSessionService, type SessionService } from './service.js';

let root: string;
let store: Store;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-sessions-'));
  store = await openStore({ dataDir: path.join(root, 'data'), retentionDays: 30 });
}, 60_000);

afterAll(async () => {
  await store?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('session service', () => {
  it('reports a session as importing while its upload has not reported, even when the import saved it done in between', async () => {
    // The next read through this client waits until the imports are finished: the session row it
    // reads is then `done`, while the upload states were taken before, under way.
    let holdNextRead = false;
    let svc: SessionService | undefined;
    const client = new Proxy(store.client, {
      get(target, key, receiver) {
        if (key === 'query') {
          return async (params: Parameters<ClickHouseClient['query']>[0]) => {
            if (holdNextRead) {
              holdNextRead = false;
              await svc?.idle();
            }
            return target.query(params);
          };
        }
        const v: unknown = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    svc = createSessionService(
      { dataDir: path.join(root, 'data'), tz: 'UTC', maxUploadBytes: 1 << 20 },
      { client, insertLines: (lines, token) => store.insertLines(lines, token), logger: silentLogger, metrics: new Registry() },
    );
    const line = '<131>Mar  9 10:23:16 172.29.69.30 SipService[3367]: 00907a11baaa|011511.006|SipService|3|00| registration failed 403\n';
    await svc.upload(Readable.from([Buffer.from(line)]), { name: 'race', filename: 'messages.log', declaredBytes: null });
    holdNextRead = true;
    const during = await svc.get('race');
    expect(during?.uploads.map((u) => u.state)).toEqual(['importing']);
    expect(during?.state).toBe('importing');
    const after = await svc.get('race');
    expect(after?.uploads.map((u) => u.state)).toEqual(['done']);
    expect(after?.state).toBe('done');
    expect(after?.stored).toBe(1);
  });
});
