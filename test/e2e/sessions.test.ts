// The session player in headless chromium (capture issue): upload a packet capture written byte by
// byte, watch it import, play it, jump to the next Error or Fatal.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_TYPES, pcapFile, tcpFrame, udpFrame } from '../../capture/capture-writer.test-helper.js';
import { handsetLine, SCREENSHOTS, startServe, type ServeProcess, openPage, signIn, type BrowserPage } from './harness.js';

const ADMIN = 'e2e-admin-token-0123456789abc';
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const MACS = ['00907a11c001', '00907a11c002', '00907a11c003'];
// 30 messages over 60 s from three handsets; Errors at 8 and 19, a Fatal at 24.
const SEV = (i: number) => (i === 8 || i === 19 ? 3 : i === 24 ? 0 : i % 5 === 0 ? 4 : 6);
const MESSAGES = Array.from({ length: 30 }, (_, i) => ({
  mac: MACS[i % 3] as string,
  tag: i % 2 ? 'SipService' : 'SlnkOTA',
  sev: SEV(i),
  text: SEV(i) <= 3 ? `failure number ${i}` : `step ${i}`,
  atMs: T0 + i * 2000,
}));

let svc: ServeProcess;
let ui: BrowserPage;
let page: Page;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-e2e-capture-'));
const capture = path.join(work, 'ward3.pcap');

beforeAll(async () => {
  // Two handsets over UDP, the third over one TCP connection whose stream is cut into segments.
  const server = { ip: '10.0.0.5', port: 514 };
  const packets: { tsMs: number; frame: Buffer }[] = [];
  const tcpSrc = { ip: '172.29.4.33', port: 41000 };
  let seq = 5000;
  packets.push({ tsMs: T0 - 10, frame: tcpFrame('ethernet', tcpSrc, server, seq - 1, { syn: true, ack: false }) });
  MESSAGES.forEach((m, i) => {
    const line = handsetLine({ ...m, ip: `172.29.4.${31 + (i % 3)}` });
    if (i % 3 === 2) {
      const framed = `${Buffer.byteLength(line)} ${line}`;
      const cut = Math.floor(framed.length / 2);
      packets.push({ tsMs: m.atMs, frame: tcpFrame('ethernet', tcpSrc, server, seq, {}, framed.slice(0, cut)) });
      packets.push({ tsMs: m.atMs + 1, frame: tcpFrame('ethernet', tcpSrc, server, seq + cut, {}, framed.slice(cut)) });
      seq += framed.length;
    } else packets.push({ tsMs: m.atMs, frame: udpFrame('ethernet', { ip: `172.29.4.${31 + (i % 3)}`, port: 40000 }, server, line) });
  });
  fs.writeFileSync(capture, pcapFile(LINK_TYPES.ethernet, packets));
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  svc = await startServe({ HANDLOG_API_TOKEN_ADMIN: ADMIN });
  ui = await openPage();
  page = ui.page;
});

afterAll(async () => {
  await ui?.close();
  await svc?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const position = () => page.getByTestId('position').innerText();
const selectedText = () => page.locator('[data-testid=log-viewport] [role=row].selected').innerText();

describe('session player', () => {
  it('uploads a capture, plays it, and jumps to the next Error or Fatal', async () => {
    await page.goto(`${svc.http}/sessions`);
    await signIn(page, ADMIN);
    await page.getByText('No sessions yet').waitFor();

    await page.locator('input[type=file]').setInputFiles(capture);
    await page.locator('input[name=session-name]').fill('ward 3 capture');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/sessions\/[0-9a-f-]{36}$/);
    await expect.poll(position, { timeout: 20_000 }).toBe('message 0 of 30');
    // One lane per handset on the timeline.
    await expect.poll(() => page.locator('h2').innerText()).toBe('ward 3 capture');

    await page.getByTestId('next-error').click();
    expect(await position()).toBe('message 9 of 30');
    expect(await selectedText()).toContain('failure number 8');
    await page.getByTestId('next-error').click();
    expect(await position()).toBe('message 20 of 30');
    expect(await selectedText()).toContain('failure number 19');
    await page.getByTestId('next-error').click();
    expect(await position()).toBe('message 25 of 30');
    expect(await selectedText()).toMatch(/Fatal[\s\S]*failure number 24/);
    expect(await page.getByTestId('next-error').isDisabled()).toBe(true);

    // Step back one message, then play at 100× to the end: the table follows the playhead.
    await page.getByRole('button', { name: 'Previous message' }).click();
    expect(await position()).toBe('message 24 of 30');
    await page.getByRole('button', { name: '100×' }).click();
    await page.getByTestId('play').click();
    await expect.poll(position, { timeout: 10_000 }).toBe('message 30 of 30');
    expect(await selectedText()).toContain('step 29');
    expect(await page.getByTestId('play').innerText()).toBe('Play');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'session.png') });

    await page.goto(`${svc.http}/sessions`);
    await expect.poll(() => page.getByTestId('session-state').innerText()).toBe('done');
    expect(await page.locator('table.grid tbody tr').innerText()).toMatch(/ward 3 capture[\s\S]*30[\s\S]*ward3\.pcap \(pcap\)/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sessions.png') });
    expect(ui.errors).toEqual([]);
  }, 120_000);
});
