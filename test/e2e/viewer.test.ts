// A viewer token in headless chromium: the admin's actions are refused by the API (403), and the UI
// must say so and keep showing the state as it is — the refusal used to vanish at the alerts page's
// next refresh, and a refused rule toggle left the box showing the rule disabled. Then the service
// stops: the pages say they cannot reach it, not that there is nothing.

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
  await sendUdp(svc.udpPort, [handsetLine({ mac: '00907a11f00f', tag: 'SipService', sev: 3, text: 'registration failed 403', atMs: Date.now() })]);
  await until(
    () => apiJson<{ events: unknown[] }>(svc.http, '/api/alerts/events', ADMIN),
    (r) => r.events.length > 0,
  );
  ui = await openPage();
  page = ui.page;
});

afterAll(async () => {
  await ui?.close();
  await svc?.stop();
});

describe('viewer token', () => {
  it('keeps the refusal of an acknowledgement on screen past the next refresh', async () => {
    await page.goto(`${svc.http}/alerts`);
    await signIn(page, VIEWER);
    await page.getByRole('button', { name: 'Acknowledge' }).first().click();
    await page.getByTestId('action-error').waitFor();
    await new Promise((r) => setTimeout(r, 4_000)); // the list refreshes every 3 s
    expect(await page.getByTestId('action-error').innerText()).toMatch(/admin token/);
  });

  it('shows a rule as still enabled when the viewer may not disable it', async () => {
    await page.goto(`${svc.http}/alerts?tab=rules`);
    const box = page.locator('[data-testid=alert-rules] input[type=checkbox]').first();
    expect(await box.isChecked()).toBe(true);
    await box.click();
    await page.getByRole('alert').filter({ hasText: 'admin token' }).waitFor();
    expect(await box.isChecked()).toBe(true);
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
