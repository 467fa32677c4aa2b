// Generic webhook: the event as a JSON POST. Each attempt has a timeout; network errors, timeouts,
// 429 and 5xx are retried with exponential backoff, other 4xx are not (the receiver refused this
// body and will refuse it again). The POSTs themselves run on an HTTP client thread (node:http
// with keep-alive agents, not fetch), off the event loop that ingests.

import { Worker } from 'node:worker_threads';
import { errorMessage } from '../../core/errors.js';
import { webhookPayload, type AlertEvent } from '../event.js';
import type { SendResult, Sender, WebhookConfig } from './types.js';

export interface RetryPolicy {
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** Wait before the first retry; doubled for each next one. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { timeoutMs: 5000, retries: 3, backoffMs: 500 };

/**
 * The HTTP client thread (plain JS: it runs as is under the compiled service and under vitest).
 * Webhook and Slack POSTs are made there, not on the event loop that ingests: in an alert storm
 * (~1,800 notifications in the 20-rule ingest bench) each POST's socket work cost the event loop
 * ~1.5 ms on this VM, where a system call is expensive; handing one over costs a message each way.
 * Keep-alive agents per protocol, one deadline per attempt (connect, send, answer).
 */
const POSTER = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const https = require('node:https');
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }),
};
const reqs = new Map();
const text = (e) => (e instanceof Error ? e.message : String(e));
parentPort.on('message', (m) => {
  if (m.cancel !== undefined) {
    const r = reqs.get(m.cancel);
    if (r !== undefined) r.destroy(new Error('The operation was aborted'));
    return;
  }
  let done = false;
  let timer;
  const finish = (result) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    reqs.delete(m.id);
    parentPort.postMessage({ id: m.id, result });
  };
  let req;
  try {
    const url = new URL(m.url);
    const lib = url.protocol === 'https:' ? https : http;
    req = lib.request(url, { method: 'POST', agent: agents[url.protocol === 'https:' ? 'https:' : 'http:'], headers: m.headers });
  } catch (e) {
    finish(text(e));
    return;
  }
  reqs.set(m.id, req);
  timer = setTimeout(() => req.destroy(new Error('no answer in ' + m.timeoutMs + ' ms')), m.timeoutMs);
  req.once('response', (res) => {
    res.resume();
    res.once('end', () => finish(res.statusCode || 0));
    res.once('error', (e) => finish(text(e)));
  });
  req.once('error', (e) => finish(text(e)));
  req.end(Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength));
});
`;

let poster: Worker | null = null;
let lastId = 0;
const answers = new Map<number, (r: number | string) => void>();

/** Fails what the thread still had and lets the next POST start a new one (once per thread). */
function posterGone(w: Worker, why: string): void {
  if (poster !== w) return;
  poster = null;
  for (const answer of answers.values()) answer(why);
  answers.clear();
}

function posterThread(): Worker {
  if (poster !== null) return poster;
  const w = new Worker(POSTER, { eval: true });
  w.on('message', (m: { id: number; result: number | string }) => {
    const answer = answers.get(m.id);
    answers.delete(m.id);
    // The thread keeps the process alive only while a POST is under way.
    if (answers.size === 0) w.unref();
    answer?.(m.result);
  });
  w.on('error', (e) => posterGone(w, `HTTP client thread failed: ${errorMessage(e)}`));
  w.on('exit', () => posterGone(w, 'HTTP client thread exited'));
  w.unref();
  poster = w;
  return w;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** One POST on the HTTP client thread: the HTTP status, or an error message. */
function postOnce(url: URL, body: Buffer, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<number | string> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve('The operation was aborted');
      return;
    }
    const w = posterThread();
    const id = ++lastId;
    const onAbort = (): void => w.postMessage({ cancel: id });
    signal?.addEventListener('abort', onAbort, { once: true });
    answers.set(id, (r) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    });
    w.ref();
    w.postMessage({
      id,
      url: url.href,
      body: new Uint8Array(body),
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'handlog-alerts', ...headers },
      timeoutMs,
    });
  });
}

/** POST `body` as JSON with the retry policy. Shared by the webhook and Slack channels. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<SendResult> {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, error: `invalid URL ${url}`, attempts: 0 };
  }
  let error = '';
  let attempts = 0;
  for (let i = 0; i <= policy.retries; i++) {
    if (i > 0) await sleep(policy.backoffMs * 2 ** (i - 1), signal);
    if (signal?.aborted === true) break;
    attempts++;
    const r = await postOnce(target, data, headers, policy.timeoutMs, signal);
    if (typeof r === 'string') {
      error = r;
      continue;
    }
    if (r >= 200 && r < 300) return { ok: true, error: null, attempts };
    error = `HTTP ${r}`;
    if (r < 500 && r !== 429) break;
  }
  return { ok: false, error, attempts };
}

export function webhookSender(cfg: WebhookConfig, policy: RetryPolicy = DEFAULT_RETRY): Sender {
  return (event: AlertEvent, signal?: AbortSignal) => postJson(cfg.url, webhookPayload(event), cfg.headers, policy, signal);
}
