// Decoder registry: each handset event worth structuring is one small module. A decoder is chosen
// by exact tag, or by a cheap substring test of the message for events logged under varying tags.

import type { BatteryInfo, EventInfo } from '../../core/record.js';
import { batteryDecoders } from './battery.js';
import { otaDecoder } from './ota.js';
import { sipCallStateDecoder, sipPlaceCallDecoder } from './sip.js';
import { wifiHandshakeDecoder } from './wifi.js';

export interface Decoded {
  battery?: BatteryInfo;
  event?: EventInfo;
}

export interface Decoder {
  name: string;
  /** Exact, case-sensitive tags this decoder applies to. */
  tags?: readonly string[];
  /** Otherwise: substrings of which at least one must occur in the message. */
  contains?: readonly string[];
  decode(message: string, tag: string | null): Decoded | null;
}

export const DECODERS: readonly Decoder[] = [
  ...batteryDecoders,
  sipCallStateDecoder,
  sipPlaceCallDecoder,
  otaDecoder,
  wifiHandshakeDecoder,
];

const byTag = new Map<string, Decoder[]>();
const byContent: Decoder[] = [];
for (const d of DECODERS) {
  if (d.tags !== undefined) {
    for (const t of d.tags) byTag.set(t, [...(byTag.get(t) ?? []), d]);
  } else byContent.push(d);
}

/** Run the decoders that apply to (tag, message); the first that recognises it wins. */
export function decodeEvent(tag: string | null, message: string): Decoded | null {
  if (tag !== null) {
    const list = byTag.get(tag);
    if (list !== undefined) {
      for (const d of list) {
        const r = d.decode(message, tag);
        if (r !== null) return r;
      }
    }
  }
  if (byContent.length === 0) return null;
  for (const d of byContent) {
    const needles = d.contains ?? [];
    let hit = false;
    for (const n of needles) {
      if (message.includes(n)) {
        hit = true;
        break;
      }
    }
    if (!hit) continue;
    const r = d.decode(message, tag);
    if (r !== null) return r;
  }
  return null;
}
