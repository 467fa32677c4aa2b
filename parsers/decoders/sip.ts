// SipService / SlnkSipService call events (vendor guide, "SIP related tags"):
//   Process call state change: cid=2 cstate=CALL_STATE_DISCONNECTED mstate=MEDIA_STATE_ACTIVE respCode=200
//   placeCall to sip:4000@172.29.102.11

import type { EventInfo } from '../../core/record.js';
import type { Decoder } from './index.js';

/** The tags the guide lists for SIP ("SlnkSipService", "Slnk_Sip", "SipService"). */
const SIP_TAGS = ['SipService', 'SlnkSipService', 'Slnk_Sip'];
const STATE_CHANGE = 'call state change:';
const KEYS = new Set(['cid', 'cstate', 'mstate', 'respCode']);

export const sipCallStateDecoder: Decoder = {
  name: 'sip_call_state',
  tags: SIP_TAGS,
  decode(message) {
    const at = message.indexOf(STATE_CHANGE);
    if (at < 0) return null;
    const event: EventInfo = { type: 'sip_call_state' };
    let found = 0;
    let i = at + STATE_CHANGE.length;
    while (i < message.length) {
      while (message.charCodeAt(i) === 32) i++;
      let end = message.indexOf(' ', i);
      if (end < 0) end = message.length;
      const eq = message.indexOf('=', i);
      if (eq > i && eq < end) {
        const key = message.slice(i, eq);
        if (KEYS.has(key)) {
          const value = message.slice(eq + 1, end);
          const n = Number(value);
          event[key] = (key === 'cid' || key === 'respCode') && value !== '' && Number.isInteger(n) ? n : value;
          found++;
        }
      }
      i = end + 1;
    }
    return found > 0 ? { event } : null;
  },
};

const PLACE_CALL = 'placeCall to ';

export const sipPlaceCallDecoder: Decoder = {
  name: 'sip_place_call',
  tags: SIP_TAGS,
  decode(message) {
    const at = message.indexOf(PLACE_CALL);
    if (at < 0) return null;
    const to = message.slice(at + PLACE_CALL.length).trim().split(/\s+/)[0];
    if (to === undefined || to === '') return null;
    return { event: { type: 'sip_place_call', to } };
  },
};
