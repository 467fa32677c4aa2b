// An embedded store of its own for the tests of one file (one engine per process: vitest forks a
// process per file): opened before the file's tests, closed and its directory removed after them.

import { afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../store/client.js';

export function useTempStore(prefix: string): { readonly store: Store; readonly dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let store: Store | undefined;
  beforeAll(async () => {
    store = await openStore({ dataDir: dir, retentionDays: 30 });
  });
  afterAll(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    get store(): Store {
      if (store === undefined) throw new Error('the store opens in beforeAll');
      return store;
    },
  };
}
