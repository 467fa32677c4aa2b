// E2E harness: `handlog serve` (the built CLI) in a child process on a temp data directory with
// kernel-chosen ports on 127.0.0.1, syslog senders over real sockets, and headless chromium.

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The repository root, from the sources (tsx/vitest) or from dist/ (compiled benchmarks). */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('handlog repository root not found');
    dir = parent;
  }
  return dir;
}
export const ROOT = findRoot();
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');

export interface ServeProcess {
  http: string;
  udpPort: number;
  tcpPort: number;
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

function portOf(addr: unknown): number {
  const m = /:(\d+)$/.exec(String(addr));
  if (m === null) throw new Error(`no port in ${String(addr)}`);
  return Number(m[1]);
}

export async function startServe(env: Record<string, string> = {}, extraArgs: string[] = []): Promise<ServeProcess> {
  const cli = path.join(ROOT, 'dist', 'cli', 'handlog.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  if (!fs.existsSync(path.join(ROOT, 'ui', 'dist', 'index.html'))) throw new Error('ui/dist is missing: run `npm run build` first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-e2e-'));
  const args = [cli, 'serve', '--data', dir, '--udp', '127.0.0.1:0', '--tcp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--batch-max-age-ms', '50', ...extraArgs];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`handlog serve did not start:\n${lines.join('\n')}`)), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`handlog serve exited with ${String(code)}:\n${lines.join('\n')}`));
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      if (lines.length < 200) lines.push(line);
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o['msg'] === 'handlog serving') {
          clearTimeout(timer);
          resolve(o);
        }
      } catch {
        // not a log line
      }
    });
  });
  return {
    http: `http://${String(ready['http'])}`,
    udpPort: portOf(ready['udp']),
    tcpPort: portOf(ready['tcp']),
    dir,
    child,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function sendUdp(port: number, messages: string[]): Promise<void> {
  const sock = dgram.createSocket('udp4');
  for (const m of messages) {
    await new Promise<void>((resolve, reject) => sock.send(Buffer.from(m), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  sock.close();
}

/** RFC6587 octet counting over one TCP connection. */
export async function sendTcp(port: number, messages: string[]): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  for (const m of messages) sock.write(`${Buffer.byteLength(m)} ${m}`);
  await new Promise<void>((resolve) => sock.end(resolve));
}

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function apiJson<T>(base: string, p: string, token?: string): Promise<T> {
  const r = await fetch(base + p, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A handset network-form line: `<PRI>Mmm dd hh:mm:ss host TAG[pid]: MAC|epoch ms|TAG|SEV|missed| text`. */
export function handsetLine(o: { mac: string; tag: string; sev: number; text: string; atMs: number; ip?: string; missed?: number }): string {
  const d = new Date(o.atMs);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const hdr = `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
  const pri = 16 * 8 + o.sev;
  const missed = String(o.missed ?? 0).padStart(2, '0');
  return `<${pri}>${hdr} ${o.ip ?? '10.0.0.7'} ${o.tag}[1234]: ${o.mac}|${o.atMs}|${o.tag}|${o.sev}|${missed}| ${o.text}`;
}

/** A browser with one page; `errors` collects uncaught page errors (a test expects none). */
export interface BrowserPage {
  browser: Browser;
  ctx: BrowserContext;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

export async function openPage(viewport = { width: 1280, height: 800 }): Promise<BrowserPage> {
  const browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    browser,
    ctx,
    page,
    errors,
    close: async () => {
      await ctx.close();
      await browser.close();
    },
  };
}

/** Answers the login screen the UI shows when the API wants a token. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByRole('dialog').waitFor();
  await page.locator('input[name=token]').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
