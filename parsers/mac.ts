// MAC addresses in any common notation, normalized to 12 lowercase hex digits.

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * `00907a11baaa`, `00:90:7A:11:BA:AA`, `00-90-7a-11-ba-aa`, `0090.7a11.baaa` → `00907a11baaa`;
 * null when `s[start, end)` is not a MAC. Separators must be consistent and at octet (or Cisco
 * quad) boundaries, so a 12-digit number with stray punctuation is not mistaken for a MAC.
 */
export function normalizeMac(s: string, start = 0, end = s.length): string | null {
  const len = end - start;
  if (len === 12) {
    let upper = false;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c >= 48 && c <= 57) continue;
      if (c >= 97 && c <= 102) continue;
      if (c >= 65 && c <= 70) {
        upper = true;
        continue;
      }
      return null;
    }
    const raw = s.slice(start, end);
    return upper ? raw.toLowerCase() : raw;
  }
  let step: number;
  let groups: number;
  if (len === 17) {
    step = 3; // xx:xx:xx:xx:xx:xx
    groups = 6;
  } else if (len === 14) {
    step = 5; // xxxx.xxxx.xxxx
    groups = 3;
  } else return null;
  const sep = s.charCodeAt(start + step - 1);
  // Octets take `:` or `-`; Cisco's quads take `.`.
  if (step === 3 ? sep !== 58 && sep !== 45 : sep !== 46) return null;
  let out = '';
  for (let g = 0; g < groups; g++) {
    const at = start + g * step;
    for (let k = 0; k < step - 1; k++) {
      const c = s.charCodeAt(at + k);
      if (hexVal(c) < 0) return null;
      out += String.fromCharCode(c);
    }
    if (g < groups - 1 && s.charCodeAt(at + step - 1) !== sep) return null;
  }
  return out.toLowerCase();
}

/** Parse a user-supplied MAC (trimmed); null when invalid. */
export function parseMac(input: string): string | null {
  const t = input.trim();
  return normalizeMac(t, 0, t.length);
}
