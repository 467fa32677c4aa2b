// Slack-compatible incoming webhook (also Mattermost, Rocket.Chat): `{ text, blocks }`. Log text is
// put in a code span-free plain_text block so that nothing from a handset is rendered as markup.

import { batchHeading, batchSubject, subject, textBody, type AlertEvent } from '../event.js';
import { DEFAULT_RETRY, postJson, type RetryPolicy } from './webhook.js';
import type { Sender, SlackConfig } from './types.js';

export function slackPayload(e: AlertEvent): Record<string, unknown> {
  return {
    text: subject(e),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: subject(e).slice(0, 150) } },
      { type: 'section', text: { type: 'plain_text', text: textBody(e).slice(0, 2900) } },
    ],
  };
}

/** Several notices sent together (a storm): one message, a section per notice (Slack allows 50 blocks). */
export function slackBatchPayload(events: readonly AlertEvent[]): Record<string, unknown> {
  const first = events[0];
  if (events.length === 1 && first !== undefined) return slackPayload(first);
  return {
    text: batchSubject(events),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: batchHeading(events.length) } },
      ...events.slice(0, 49).map((e) => ({ type: 'section', text: { type: 'plain_text', text: textBody(e).slice(0, 2900) } })),
    ],
  };
}

export function slackSender(cfg: SlackConfig, policy: RetryPolicy = DEFAULT_RETRY): Sender {
  return (events, signal) => postJson(cfg.url, slackBatchPayload(events), {}, policy, signal);
}
