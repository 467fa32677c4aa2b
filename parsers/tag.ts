// Tags are the handset's Activity/Component names; filters match them exactly, so junk that a
// transport or a PDF copy mangled into them (the guide's `SipService?[3367]`) is removed.

function isJunk(c: number): boolean {
  return c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f) || c === 0x3f /* ? */ || c === 0xfffd || c === 0xfeff;
}

export function cleanTag(raw: string): string | null {
  let clean = true;
  for (let i = 0; i < raw.length; i++) {
    if (isJunk(raw.charCodeAt(i))) {
      clean = false;
      break;
    }
  }
  let t = raw;
  if (!clean) {
    t = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (!isJunk(c)) t += raw[i];
    }
  }
  t = t.trim();
  return t === '' ? null : t;
}
