// SipService / SlnkSipService call events (vendor guide, "SIP related tags"):
//   Process call state change: cid=2 cstate=CALL_STATE_DISCONNECTED mstate=MEDIA_STATE_ACTIVE respCode=200
//   placeCall to sip:4000@172.29.102.11

import type { EventInfo } from '../../core/record.js';
import type { Decoder } from './index.js';

const STATE_CHANGE = 'call state change:';
const KEYS = new Set(['cid', 'cstate', 'mstate', 'respCode']);

export const sipCallStateDecoder: Decoder = {
  name: 'sip_call_state',
  contains: [STATE_CHANGE],
  decode(message) {
    const at = message.indexOf(STATE_CHANGE);
    const event: EventInfo = { type: 'sip_call_state' };
    let found = 0;
    for (const pair of message.slice(at + STATE_CHANGE.length).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const key = pair.slice(0, eq);
      if (!KEYS.has(key)) continue;
      const value = pair.slice(eq + 1);
      event[key] = key === 'cid' || key === 'respCode' ? (/^-?\d+$/.test(value) ? Number(value) : value) : value;
      found++;
    }
    return found > 0 ? { event } : null;
  },
};

const PLACE_CALL = 'placeCall to ';

export const sipPlaceCallDecoder: Decoder = {
  name: 'sip_place_call',
  contains: [PLACE_CALL],
  decode(message) {
    const to = message.slice(message.indexOf(PLACE_CALL) + PLACE_CALL.length).trim().split(/\s+/)[0];
    if (to === undefined || to === '') return null;
    return { event: { type: 'sip_place_call', to } };
  },
};
