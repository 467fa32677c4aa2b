// Alerts in headless chromium (alerts issue): add a webhook channel and send it a test, create a rule
// in the editor (its live preview counting what it would have matched), see it fire on a message
// sent over UDP — at the webhook and on the Alerts page — and acknowledge it from the header badge.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiJson, handsetLine, SCREENSHOTS, sendUdp, startServe, until, type ServeProcess, openPage, signIn, type BrowserPage } from './harness.js';

const ADMIN = 'e2e-admin-token-alerts-0123456789';
const MAC = '00907a11d00d';

interface Hook {
  kind: string;
  rule: { id: string; name: string };
  count: number;
  mac: string;
  message: string;
}

let svc: ServeProcess;
let ui: BrowserPage;
let page: Page;
let hookServer: http.Server;
let hookUrl = '';
const hooks: Hook[] = [];

beforeAll(async () => {
  hookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as Hook);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
  svc = await startServe({ HANDLOG_API_TOKEN_ADMIN: ADMIN });
  // An earlier OTA failure, for the rule editor's preview.
  await sendUdp(svc.udpPort, [handsetLine({ mac: MAC, tag: 'SlnkOTA', sev: 3, text: 'OTA download failed (earlier)', atMs: Date.now() - 3_600_000 })]);
  await until(() => apiJson<{ count: number }>(svc.http, '/api/logs/count', ADMIN), (r) => r.count === 1);
  ui = await openPage();
  page = ui.page;
});

afterAll(async () => {
  await ui?.close();
  await svc?.stop();
  await new Promise((r) => hookServer?.close(r));
});

describe('alerts page', () => {
  it('adds a webhook channel, creates a rule with a live preview, sees it fire, and acknowledges it', async () => {
    await page.goto(`${svc.http}/alerts?tab=channels`);
    await signIn(page, ADMIN);

    await page.getByRole('button', { name: 'New channel' }).click();
    await page.locator('input[name=channel-name]').fill('on-call webhook');
    await page.locator('input[name=channel-url]').fill(hookUrl);
    await page.getByRole('button', { name: 'Create channel' }).click();
    await page.getByTestId('alert-channels').getByText('on-call webhook').waitFor();
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.getByTestId('channel-test-result').innerText()).toMatch(/^sent in \d+ ms$/);
    expect(hooks.map((h) => h.kind)).toEqual(['test']);

    await page.getByRole('tab', { name: 'Rules' }).click();
    await page.getByTestId('alert-rules').getByText('Fatal or Error from any handset').waitFor();
    await page.getByRole('button', { name: 'New rule' }).click();
    await page.locator('input[name=rule-name]').fill('OTA failures');
    await page.locator('input[name=rule-tag]').fill('SlnkOTA');
    await expect.poll(() => page.getByTestId('rule-preview').innerText(), { timeout: 10_000 }).toMatch(/1 messages match the filter, 1 pass the rule/);
    // Fired, and resolved 300 s (the cooldown) after that match an hour ago.
    expect(await page.getByTestId('preview-notifications').innerText()).toBe('2');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'alert-rule.png') });
    await page.locator('input[name=rule-resolve-after]').fill('120');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByTestId('alert-rules').getByText('OTA failures').waitFor();
    const created = await apiJson<{ rules: { name: string; cooldown_s: number; resolve_after_s: number }[] }>(svc.http, '/api/alerts/rules', ADMIN);
    expect(created.rules.find((r) => r.name === 'OTA failures')).toMatchObject({ cooldown_s: 300, resolve_after_s: 120 });

    // A matching Error now, and a warning the rule must ignore.
    const sentAt = Date.now();
    await sendUdp(svc.udpPort, [
      handsetLine({ mac: MAC, tag: 'SlnkOTA', sev: 4, text: 'OTA server slow', atMs: sentAt }),
      handsetLine({ mac: MAC, tag: 'SlnkOTA', sev: 3, text: 'OTA download failed', atMs: sentAt }),
    ]);
    const fired = await until(async () => hooks.find((h) => h.rule.name === 'OTA failures'), (h) => h !== undefined, 10_000);
    expect(fired).toMatchObject({ kind: 'fired', count: 1, mac: MAC, message: 'OTA download failed' });
    console.log(`rule created in the UI fired at the webhook ${Date.now() - sentAt} ms after the message was sent`);

    await page.getByRole('tab', { name: 'Fired alerts' }).click();
    const row = page.getByTestId('alert-events').locator('tr', { hasText: 'OTA failures' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.innerText()).toContain('OTA download failed');
    // Two unacknowledged: this rule's and the default Fatal-or-Error rule's.
    await expect.poll(() => page.getByTestId('alert-badge').innerText(), { timeout: 10_000 }).toBe('2');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'alerts.png') });
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.getByTestId('alert-badge').innerText()).toBe('1');
    await expect.poll(() => row.innerText()).toContain('acknowledged');
    expect(ui.errors).toEqual([]);
  }, 120_000);
});
