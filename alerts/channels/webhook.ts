// Generic webhook: the event as a JSON POST. Each attempt has a timeout; network errors, timeouts,
// 429 and 5xx are retried with exponential backoff, other 4xx are not (the receiver refused this
// body and will refuse it again). The POSTs themselves run on an HTTP client thread (node:http
// with keep-alive agents, not fetch), off the event loop that ingests.

import { Worker } from 'node:worker_threads';
import { errorMessage } from '../../core/errors.js';
import { webhookBody, type AlertEvent } from '../event.js';
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
 * Messages go both ways in batches: each message wakes the other thread (a system call, ~80 µs of
 * the thread's CPU per answer in the 20-rule bench). POSTs go once per turn of the event loop
 * (notices come in bursts, at the evaluator's ticks); answers, which arrive one by one, travel
 * together when the last POST under way is answered (or after 5 ms).
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
// An answer waits for the other POSTs under way, at most REPLY_DELAY_MS, to travel with them.
const REPLY_DELAY_MS = 5;
let replies = [];
let replyTimer;
const sendReplies = () => {
  clearTimeout(replyTimer);
  const batch = replies;
  replies = [];
  parentPort.postMessage(batch);
};
parentPort.on('message', (batch) => {
  for (const m of batch) handle(m);
});
function handle(m) {
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
    if (replies.length === 0) replyTimer = setTimeout(sendReplies, REPLY_DELAY_MS);
    replies.push({ id: m.id, result });
    // Nothing else under way: no answer to wait for (the sender waits for these to send more).
    if (reqs.size === 0) sendReplies();
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
}
`;

type PosterMessage = { cancel: number } | { id: number; url: string; body: Uint8Array; headers: Record<string, string>; timeoutMs: number };

let poster: Worker | null = null;
let lastId = 0;
const answers = new Map<number, (r: number | string) => void>();
/** Messages for the thread, sent as one batch at the end of this turn. */
let outbox: PosterMessage[] = [];

function toPoster(m: PosterMessage): void {
  if (outbox.length === 0) {
    setImmediate(() => {
      // POSTs of a thread that died in between were failed already (posterGone): not sent again.
      const batch = outbox.filter((x) => 'cancel' in x || answers.has(x.id));
      outbox = [];
      if (batch.length === 0) return;
      const w = posterThread();
      if (answers.size > 0) w.ref();
      w.postMessage(batch);
    });
  }
  outbox.push(m);
}

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
  w.on('message', (batch: { id: number; result: number | string }[]) => {
    for (const m of batch) {
      const answer = answers.get(m.id);
      answers.delete(m.id);
      answer?.(m.result);
    }
    // The thread keeps the process alive only while a POST is under way.
    if (answers.size === 0) w.unref();
  });
  w.on('error', (e) => posterGone(w, `HTTP client thread failed: ${errorMessage(e)}`));
  w.on('exit', () => posterGone(w, 'HTTP client thread exited'));
  w.unref();
  poster = w;
  return w;
}

/**
 * Starts the HTTP client thread before the first POST needs it (the service calls this while a
 * webhook or Slack channel is configured): a thread's start costs ~50 – 100 ms of CPU and wall
 * time (measured: 113 POSTs 190 ms of CPU with the start, ~95 ms of it the start and the first
 * cold POSTs), which the first notification of an incident should not wait for. The thread does not
 * keep the process alive while idle.
 */
export function startHttpClient(): void {
  posterThread();
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
    const onAbort = (): void => toPoster({ cancel: id });
    signal?.addEventListener('abort', onAbort, { once: true });
    answers.set(id, (r) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    });
    w.ref();
    toPoster({
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
  return (events: readonly AlertEvent[], signal?: AbortSignal) => postJson(cfg.url, webhookBody(events), cfg.headers, policy, signal);
}
