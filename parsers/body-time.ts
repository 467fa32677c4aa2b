// The three timestamp forms of the handset's pipe body (vendor guide, "Timestamp"):
//   1382727009525   epoch milliseconds                               → device_time
//   011511.006      HHMMSS.mmm since boot (before network time)      → uptime_ms
//   1028171642.05   MMDDHHMMSS.hh absolute, hundredths, no year      → device_time (year inferred)

import type { YearRule } from '../core/record.js';
import { inferYear } from './time.js';

export type BodyTime =
  | { kind: 'epoch'; ms: number }
  | { kind: 'uptime'; ms: number }
  | { kind: 'absolute'; ms: number };

/** Fraction digits after the dot as milliseconds ("05" → 50, "006" → 6). */
function fractionMs(s: string, at: number, end: number): number {
  let ms = 0;
  let n = 0;
  for (let i = at; i < end && n < 3; i++, n++) ms = ms * 10 + (s.charCodeAt(i) - 48);
  while (n < 3) {
    ms *= 10;
    n++;
  }
  return ms;
}

function num(s: string, at: number, end: number): number {
  let v = 0;
  for (let i = at; i < end; i++) v = v * 10 + (s.charCodeAt(i) - 48);
  return v;
}

/**
 * Parse `s[start, end)` (already trimmed). `refMs` anchors the year of the absolute form (by `rule`)
 * and `tz` is its zone. Returns null when the field is not one of the three forms.
 */
/** The kind of the last successful readBodyTime (module state: the per-line path allocates nothing). */
export let bodyTimeKind: BodyTime['kind'] = 'epoch';

/** parseBodyTime as an object, for callers off the hot path. */
export function parseBodyTime(s: string, start: number, end: number, tz: string, refMs: number, rule: YearRule = 'nearest'): BodyTime | null {
  const ms = readBodyTime(s, start, end, tz, refMs, rule);
  return Number.isNaN(ms) ? null : { kind: bodyTimeKind, ms };
}

/** Epoch ms (or uptime ms) of `s[start, end)`, NaN when it is none of the three forms; see bodyTimeKind. */
export function readBodyTime(s: string, start: number, end: number, tz: string, refMs: number, rule: YearRule = 'nearest'): number {
  // One pass: the integer part's value and length, and where the dot is.
  let dot = -1;
  let intVal = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot >= 0) return NaN;
      dot = i;
    } else if (c < 48 || c > 57) return NaN;
    else if (dot < 0) intVal = intVal * 10 + (c - 48);
  }
  const intEnd = dot < 0 ? end : dot;
  const intLen = intEnd - start;
  if (intLen === 0 || (dot >= 0 && dot === end - 1)) return NaN;
  if (dot < 0 && intLen >= 12 && intLen <= 14) {
    bodyTimeKind = 'epoch';
    return intVal;
  }
  const frac = dot < 0 ? 0 : fractionMs(s, dot + 1, end);
  if (intLen === 10) {
    // MMDDHHMMSS
    const month = num(s, start, start + 2) - 1;
    const day = num(s, start + 2, start + 4);
    const hour = num(s, start + 4, start + 6);
    const minute = num(s, start + 6, start + 8);
    const second = num(s, start + 8, start + 10);
    const ms = inferYear(tz, refMs, month, day, hour, minute, second, frac, rule);
    if (Number.isNaN(ms)) return NaN;
    bodyTimeKind = 'absolute';
    return ms;
  }
  if (intLen >= 6 && intLen <= 9 && dot >= 0) {
    // HHMMSS since boot; hours may run past two digits on a long uptime.
    const hours = Math.floor(intVal / 10_000);
    const minutes = Math.floor(intVal / 100) % 100;
    const seconds = intVal % 100;
    if (minutes > 59 || seconds > 59) return NaN;
    bodyTimeKind = 'uptime';
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + frac;
  }
  return NaN;
}
