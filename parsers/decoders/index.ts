// Decoder registry: each handset event worth structuring is one small module. A decoder is chosen
// by exact tag, or by a cheap substring test of the message for events logged under varying tags.

import type { LogRecord } from '../../core/record.js';
import { batteryDecoders } from './battery.js';
import { otaDecoder } from './ota.js';
import { sipCallStateDecoder, sipPlaceCallDecoder } from './sip.js';
import { wifiHandshakeDecoder } from './wifi.js';

export interface Decoder {
  name: string;
  /** Exact, case-sensitive tags this decoder applies to. */
  tags?: readonly string[];
  /** Otherwise: substrings of which at least one must occur in the message. */
  contains?: readonly string[];
  /** Decode the message into `rec.battery` / `rec.event`; false when it is not this event. */
  decode(message: string, tag: string | null, rec: LogRecord): boolean;
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

/** Run the decoders that apply to the record's (tag, message); the first that recognises it wins. */
export function decodeInto(rec: LogRecord): void {
  const tag = rec.tag;
  const message = rec.message;
  if (tag !== null) {
    const list = byTag.get(tag);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) if ((list[i] as Decoder).decode(message, tag, rec)) return;
    }
  }
  for (let i = 0; i < byContent.length; i++) {
    const d = byContent[i] as Decoder;
    const needles = d.contains ?? [];
    let hit = false;
    for (const n of needles) {
      if (message.includes(n)) {
        hit = true;
        break;
      }
    }
    if (hit && d.decode(message, tag, rec)) return;
  }
}
