// A viewer token in headless chromium: the UI learns the token's role (GET /api/whoami) and shows the
// admin's actions disabled, saying why, instead of letting them fail with a 403 (the API refuses
// them anyway: query-api/auth.test.ts). Then the service stops: the pages say they cannot reach it,
// not that there is nothing.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiJson, handsetLine, sendUdp, startServe, until, type ServeProcess, openPage, signIn, type BrowserPage } from './harness.js';

const ADMIN = 'e2e-admin-token-viewer-test-0123';
const VIEWER = 'e2e-viewer-token-viewer-test-0123';

let svc: ServeProcess;
let ui: BrowserPage;
let page: Page;

beforeAll(async () => {
  svc = await startServe({ HANDLOG_API_TOKEN_ADMIN: ADMIN, HANDLOG_API_TOKEN_VIEWER: VIEWER });
  await sendUdp(svc.udpPort, [
    handsetLine({ mac: '00907a11f00f', tag: 'SipService', sev: 3, text: 'registration failed 403', atMs: Date.now() }),
    // One long word: it must wrap in the alert list and the rule preview, not widen the page.
    handsetLine({ mac: '00907a11f010', tag: 'SipService', sev: 3, text: 'x'.repeat(5000), atMs: Date.now() }),
  ]);
  await until(
    () => apiJson<{ events: unknown[] }>(svc.http, '/api/alerts/events', ADMIN),
    (r) => r.events.length >= 2,
  );
  ui = await openPage();
  page = ui.page;
});

afterAll(async () => {
  await ui?.close();
  await svc?.stop();
});

describe('viewer token', () => {
  it('shows the write controls disabled, saying an admin token is needed', async () => {
    await page.goto(`${svc.http}/alerts`);
    await signIn(page, VIEWER);
    const ack = page.getByRole('button', { name: 'Acknowledge' }).first();
    await expect.poll(() => ack.isDisabled()).toBe(true);
    expect(await ack.getAttribute('title')).toMatch(/admin API token/);
    expect(await page.getByRole('combobox', { name: 'Silence' }).first().isDisabled()).toBe(true);
    await page.getByTestId('alert-events').getByText('xxxxxxxx').first().waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
  });

  it('shows the rules read-only: the enable box and New rule disabled, the editor a view with the preview', async () => {
    await page.goto(`${svc.http}/alerts?tab=rules`);
    const box = page.locator('[data-testid=alert-rules] input[type=checkbox]').first();
    await expect.poll(() => box.isDisabled()).toBe(true);
    expect(await box.isChecked()).toBe(true);
    expect(await page.getByRole('button', { name: 'New rule' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'View' }).first().click();
    // The live preview is a read: a viewer gets it.
    await expect.poll(() => page.getByTestId('rule-preview').innerText(), { timeout: 10_000 }).toMatch(/2 messages match the filter/);
    await page.getByTestId('rule-preview').getByText('xxxxxxxx').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
    expect(await page.getByRole('button', { name: 'Save rule' }).isDisabled()).toBe(true);
    expect(ui.errors).toEqual([]);
  });

  it('does not claim an empty list when the service cannot be reached', async () => {
    await page.goto(`${svc.http}/alerts`);
    await page.getByTestId('alert-events').waitFor();
    await svc.stop();
    await page.getByRole('alert').filter({ hasText: 'cannot reach the handlog service' }).waitFor({ timeout: 10_000 });
    expect(await page.getByText('No alerts have fired').count()).toBe(0);
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('alert').filter({ hasText: 'cannot reach the handlog service' }).waitFor();
    expect(await page.locator('.page').innerText()).not.toMatch(/\b0 handsets/);
  });
});
