// Generic webhook: the event as a JSON POST. Each attempt has a timeout; network errors, timeouts,
// 429 and 5xx are retried with exponential backoff, other 4xx are not (the receiver refused this
// body and will refuse it again). node:http with keep-alive agents rather than fetch: in an alert
// storm a POST costs a fraction of the CPU, next to ingest on the same event loop.

import http from 'node:http';
import https from 'node:https';
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

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }),
};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** One POST: the HTTP status, or an error message. */
function postOnce(url: URL, body: Buffer, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<number | string> {
  return new Promise((resolve) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method: 'POST',
      agent: agents[url.protocol === 'https:' ? 'https:' : 'http:'],
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'handlog-alerts', ...headers },
      ...(signal === undefined ? {} : { signal }),
    });
    // One deadline for the whole attempt (connect, send, answer), like a fetch timeout.
    const timer = setTimeout(() => req.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
      });
      res.once('error', (e) => {
        clearTimeout(timer);
        resolve(errorMessage(e));
      });
    });
    req.once('error', (e) => {
      clearTimeout(timer);
      resolve(errorMessage(e));
    });
    req.end(body);
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
