// SipService / SlnkSipService call events (vendor guide, "SIP related tags"):
//   Process call state change: cid=2 cstate=CALL_STATE_DISCONNECTED mstate=MEDIA_STATE_ACTIVE respCode=200
//   placeCall to sip:4000@172.29.102.11

import type { EventInfo } from '../../core/record.js';
import type { Decoder } from './index.js';

/** The tags the guide lists for SIP ("SlnkSipService", "Slnk_Sip", "SipService"). */
const SIP_TAGS = ['SipService', 'SlnkSipService', 'Slnk_Sip'];
const STATE_CHANGE = 'call state change:';

function intOrText(value: string): number | string {
  const n = Number(value);
  return value !== '' && Number.isInteger(n) ? n : value;
}

export const sipCallStateDecoder: Decoder = {
  name: 'sip_call_state',
  tags: SIP_TAGS,
  decode(message, _tag, rec) {
    const at = message.indexOf(STATE_CHANGE);
    if (at < 0) return false;
    // One fixed shape (absent keys stay null): cheaper than growing the object key by key.
    const event: EventInfo = { type: 'sip_call_state', cid: null, cstate: null, mstate: null, respCode: null };
    let found = 0;
    let i = at + STATE_CHANGE.length;
    while (i < message.length) {
      while (message.charCodeAt(i) === 32) i++;
      let end = message.indexOf(' ', i);
      if (end < 0) end = message.length;
      const eq = message.indexOf('=', i);
      if (eq > i && eq < end) {
        const keyLen = eq - i;
        if (keyLen === 3 && message.startsWith('cid', i)) {
          event['cid'] = intOrText(message.slice(eq + 1, end));
          found++;
        } else if (keyLen === 6 && message.startsWith('cstate', i)) {
          event['cstate'] = message.slice(eq + 1, end);
          found++;
        } else if (keyLen === 6 && message.startsWith('mstate', i)) {
          event['mstate'] = message.slice(eq + 1, end);
          found++;
        } else if (keyLen === 8 && message.startsWith('respCode', i)) {
          event['respCode'] = intOrText(message.slice(eq + 1, end));
          found++;
        }
      }
      i = end + 1;
    }
    if (found === 0) return false;
    rec.event = event;
    return true;
  },
};

const PLACE_CALL = 'placeCall to ';

export const sipPlaceCallDecoder: Decoder = {
  name: 'sip_place_call',
  tags: SIP_TAGS,
  decode(message, _tag, rec) {
    const at = message.indexOf(PLACE_CALL);
    if (at < 0) return false;
    let start = at + PLACE_CALL.length;
    while (message.charCodeAt(start) === 32) start++;
    let end = message.indexOf(' ', start);
    if (end < 0) end = message.length;
    const to = message.slice(start, end).trim();
    if (to === '') return false;
    rec.event = { type: 'sip_place_call', to };
    return true;
  },
};
