// Generic webhook: the event as a JSON POST. Each attempt has a timeout; network errors, timeouts,
// 429 and 5xx are retried with exponential backoff, other 4xx are not (the receiver refused this
// body and will refuse it again).

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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
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
  const text = JSON.stringify(body);
  let error = '';
  let attempts = 0;
  for (let i = 0; i <= policy.retries; i++) {
    if (i > 0) await sleep(policy.backoffMs * 2 ** (i - 1), signal);
    if (signal?.aborted === true) break;
    attempts++;
    try {
      const timeout = AbortSignal.timeout(policy.timeoutMs);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'handlog-alerts', ...headers },
        body: text,
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
        redirect: 'error',
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { ok: true, error: null, attempts };
      error = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) break;
    } catch (e: unknown) {
      const name = e instanceof Error ? e.name : '';
      error = name === 'TimeoutError' ? `no answer in ${policy.timeoutMs} ms` : errorMessage(e);
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : '';
      if (cause !== '' && !error.includes(cause)) error += ` (${cause})`;
    }
  }
  return { ok: false, error, attempts };
}

export function webhookSender(cfg: WebhookConfig, policy: RetryPolicy = DEFAULT_RETRY): Sender {
  return (event: AlertEvent, signal?: AbortSignal) => postJson(cfg.url, webhookPayload(event), cfg.headers, policy, signal);
}
