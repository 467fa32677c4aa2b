// The UI files served by the API process: index.html for client-side routes, assets as they are on
// disk, and no memory kept per path a client made up.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { mountUi } from './static.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-ui-'));
fs.mkdirSync(path.join(dir, 'assets'));
fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>handlog</title>');
fs.writeFileSync(path.join(dir, 'assets', 'app-1.js'), 'console.log(1)');

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function app(): Hono {
  const a = new Hono();
  mountUi(a, dir);
  return a;
}

describe('mountUi', () => {
  it('serves assets, and index.html for client-side routes', async () => {
    const a = app();
    expect(await (await a.request('/assets/app-1.js')).text()).toBe('console.log(1)');
    expect(await (await a.request('/devices/00907a11baaa')).text()).toContain('<title>handlog</title>');
    expect((await a.request('/../../etc/passwd.txt')).status).toBe(200); // index.html, never the file
  });

  it('a path that was missing is looked up again (misses are not remembered: any client can make up paths)', async () => {
    const a = app();
    expect((await a.request('/assets/app-2.js')).status).toBe(404);
    expect(await (await a.request('/late.txt')).text()).toContain('<title>handlog</title>');
    // A rebuild of the UI while the service runs adds files.
    fs.writeFileSync(path.join(dir, 'assets', 'app-2.js'), 'console.log(2)');
    fs.writeFileSync(path.join(dir, 'late.txt'), 'late');
    expect(await (await a.request('/assets/app-2.js')).text()).toBe('console.log(2)');
    expect(await (await a.request('/late.txt')).text()).toBe('late');
  });
});
