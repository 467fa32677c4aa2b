// Slack-compatible incoming webhook (also Mattermost, Rocket.Chat): `{ text, blocks }`. Log text is
// put in a code span-free plain_text block so that nothing from a handset is rendered as markup.

import { subject, textBody, type AlertEvent } from '../event.js';
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

export function slackSender(cfg: SlackConfig, policy: RetryPolicy = DEFAULT_RETRY): Sender {
  return (event, signal) => postJson(cfg.url, slackPayload(event), {}, policy, signal);
}
