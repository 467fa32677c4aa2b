// wpa_supplicant 4-way handshake failures (vendor guide, "Wireless related tags": Info level shows
// 4-Way Handshake results), e.g.
//   WPA: 4-Way Handshake failed - pre-shared key may be incorrect
//   CTRL-EVENT-DISCONNECTED bssid=00:11:22:33:44:55 reason=15
// and other disconnects (`wifi_disconnected`, with the same fields).

import { normalizeMac } from '../mac.js';
import type { Decoder } from './index.js';

const BSSID = /bssid=([0-9A-Fa-f:.-]{12,17})/;
const REASON = /reason=(\d+)/;
/**
 * IEEE 802.11 reason codes of a failed key handshake: 15 4-way handshake timeout, 16 group key
 * handshake timeout, 17 information element in the 4-way handshake differs. Any other
 * CTRL-EVENT-DISCONNECTED (3 leaving, 8 disassociated on roaming…) is an ordinary disconnect.
 */
const HANDSHAKE_REASONS = new Set([15, 16, 17]);

export const wifiHandshakeDecoder: Decoder = {
  name: 'wifi_handshake_failed',
  tags: ['wpa_supplicant', 'WifiStateMachine'],
  decode(message, _tag, rec) {
    if (!message.includes('4-Way Handshake failed') && !message.includes('CTRL-EVENT-DISCONNECTED')) return false;
    const bssid = BSSID.exec(message)?.[1];
    const reason = REASON.exec(message)?.[1];
    const dash = message.indexOf(' - ');
    const handshake = message.includes('4-Way Handshake failed') || (reason !== undefined && HANDSHAKE_REASONS.has(Number(reason)));
    rec.event = {
      type: handshake ? 'wifi_handshake_failed' : 'wifi_disconnected',
      bssid: bssid === undefined ? null : normalizeMac(bssid),
      reason_code: reason === undefined ? null : Number(reason),
      detail: dash >= 0 ? message.slice(dash + 3).trim() : null,
    };
    return true;
  },
};
