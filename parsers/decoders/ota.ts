// SlnkOTA upgrade checks (vendor guide, "Over-the-air downloader related tags"):
//   UPGRADE REQUIRED: Local signature: 1393429830 remote signature: 1393528547
//   Upgrade not required: Local signature: 1393429830 remote signature: 1393429830

import type { Decoder } from './index.js';

const REQUIRED = 'UPGRADE REQUIRED';
const NOT_REQUIRED = 'Upgrade not required';
const SIGS = /local signature:\s*(\S+)\s+remote signature:\s*(\S+)/i;

export const otaDecoder: Decoder = {
  name: 'ota_check',
  tags: ['SlnkOTA', 'OTAHandler'],
  decode(message, _tag, rec) {
    const required = message.includes(REQUIRED);
    if (!required && !message.includes(NOT_REQUIRED)) return false;
    const m = SIGS.exec(message);
    rec.event = {
      type: 'ota_check',
      upgrade_required: required,
      local_signature: m?.[1] ?? null,
      remote_signature: m?.[2] ?? null,
    };
    return true;
  },
};
