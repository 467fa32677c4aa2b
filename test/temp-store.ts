// An embedded store of its own for the tests of one file (one engine per process: vitest forks a
// process per file): opened before the file's tests, closed and its directory removed after them.

import { afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../store/client.js';

export interface TempStore {
  /** The store open now (a reopen replaces it). */
  readonly store: Store;
  /** The temporary directory, removed after the file's tests. */
  readonly dir: string;
  /** Closes the store and opens the same data again (a restart), with `retentionDays` (default 30). */
  reopen(retentionDays?: number): Promise<Store>;
}

/** `subdir`: keep the data in that subdirectory of `dir` (the rest of `dir` is the test's, e.g. a WAL). */
export function useTempStore(prefix: string, opts: { subdir?: string } = {}): TempStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dataDir = opts.subdir === undefined ? dir : path.join(dir, opts.subdir);
  let store: Store | undefined;
  const open = async (retentionDays: number) => (store = await openStore({ dataDir, retentionDays }));
  beforeAll(async () => {
    await open(30);
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
    async reopen(retentionDays = 30): Promise<Store> {
      const was = store;
      store = undefined;
      await was?.close();
      return open(retentionDays);
    },
  };
}
