// wpa_supplicant 4-way handshake failures (vendor guide, "Wireless related tags": Info level shows
// 4-Way Handshake results), e.g.
//   WPA: 4-Way Handshake failed - pre-shared key may be incorrect
//   CTRL-EVENT-DISCONNECTED bssid=00:11:22:33:44:55 reason=15

import { normalizeMac } from '../mac.js';
import type { Decoder } from './index.js';

const BSSID = /bssid=([0-9A-Fa-f:.-]{12,17})/;
const REASON = /reason=(\d+)/;

export const wifiHandshakeDecoder: Decoder = {
  name: 'wifi_handshake_failed',
  tags: ['wpa_supplicant', 'WifiStateMachine'],
  decode(message, _tag, rec) {
    if (!message.includes('4-Way Handshake failed') && !message.includes('CTRL-EVENT-DISCONNECTED')) return false;
    const bssid = BSSID.exec(message)?.[1];
    const reason = REASON.exec(message)?.[1];
    const dash = message.indexOf(' - ');
    rec.event = {
      type: 'wifi_handshake_failed',
      bssid: bssid === undefined ? null : normalizeMac(bssid),
      reason_code: reason === undefined ? null : Number(reason),
      detail: dash >= 0 ? message.slice(dash + 3).trim() : null,
    };
    return true;
  },
};
