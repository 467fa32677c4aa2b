// UI benchmark (`npm run bench:ui`): 100,000 rows in the search table of a real browser.
// Starts `handlog serve` on a temp data dir, sends BENCH_UI_ROWS handset lines over TCP, opens the
// search page in headless chromium, scrolls until every row is loaded through the cursor, then
// scrolls the table continuously for a few seconds and reports frame times and the JS heap.

import { handsetLine, launchBrowser, sendTcp, startServe, until, apiJson } from '../../test/e2e/harness.js';

const ROWS = Number(process.env['BENCH_UI_ROWS'] ?? 100_000);
const MACS = 200;
const TAGS = ['SipService', 'SlnkOTA', 'wpa_supplicant', 'battery_level', 'SlnkCnfMgntService', 'PhoneApp'];

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

async function main(): Promise<void> {
  const svc = await startServe();
  try {
    const t0 = Date.now() - ROWS * 10;
    const lines: string[] = [];
    for (let i = 0; i < ROWS; i++) {
      const mac = '00907a' + (0x100000 + (i % MACS)).toString(16).slice(1);
      const tag = TAGS[i % TAGS.length] ?? 'SipService';
      const sev = i % 97 === 0 ? 3 : i % 13 === 0 ? 4 : 6;
      const text = tag === 'battery_level' ? `[${50 + (i % 50)},${3800 + (i % 300)},${250 + (i % 40)}]` : `event ${i} of the benchmark with some ordinary words in it`;
      lines.push(handsetLine({ mac, tag, sev, text, atMs: t0 + i * 10 }));
    }
    for (let i = 0; i < lines.length; i += 20_000) await sendTcp(svc.tcpPort, lines.slice(i, i + 20_000));
    const c = await until(() => apiJson<{ count: number }>(svc.http, '/api/logs/count'), (r) => r.count >= ROWS, 120_000);
    console.log(`ingested ${c.count} rows`);

    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      const loadStart = Date.now();
      await page.goto(`${svc.http}/`);
      await page.locator('[data-testid=log-viewport] [role=row]').first().waitFor();
      console.log(`first page of rows shown after ${Date.now() - loadStart} ms`);
      const loadedCount = async () => Number(((await page.locator('text=/[0-9,]+ loaded/').first().innerText()).match(/[\d,]+/)?.[0] ?? '0').replace(/,/g, ''));
      const allStart = Date.now();
      let loaded = 0;
      while (loaded < ROWS && Date.now() - allStart < 300_000) {
        await page.evaluate("(() => { const v = document.querySelector('[data-testid=log-viewport]'); v.scrollTop = v.scrollHeight; })()");
        await page.waitForTimeout(50);
        loaded = await loadedCount();
      }
      console.log(`${loaded} rows loaded through the cursor in ${((Date.now() - allStart) / 1000).toFixed(1)} s`);
      // Continuous scrolling: 600 px per animation frame, up and down, for 4 s.
      const frames = await page.evaluate<number[]>(`new Promise((resolve) => {
        const v = document.querySelector('[data-testid=log-viewport]');
        const deltas = []; let last = performance.now(); let dir = -1; const end = last + 4000;
        function step(now) {
          deltas.push(now - last); last = now;
          if (v.scrollTop <= 0) dir = 1; else if (v.scrollTop + v.clientHeight >= v.scrollHeight) dir = -1;
          v.scrollTop += dir * 600;
          if (now < end) requestAnimationFrame(step); else resolve(deltas.slice(1));
        }
        requestAnimationFrame(step);
      })`);
      const sorted = [...frames].sort((a, b) => a - b);
      const rendered = await page.locator('[data-testid=log-viewport] [role=row]').count();
      const heap = await page.evaluate<number>('performance.memory ? performance.memory.usedJSHeapSize : 0');
      console.log(
        `scrolling ${loaded} loaded rows: ${frames.length} frames in 4 s, frame time p50 ${pct(sorted, 50).toFixed(1)} ms, p95 ${pct(sorted, 95).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? 0).toFixed(1)} ms; ${frames.filter((f) => f > 50).length} frames over 50 ms; ${rendered} row elements in the DOM; JS heap ${(heap / 1048576).toFixed(0)} MiB`,
      );
    } finally {
      await browser.close();
    }
  } finally {
    await svc.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
