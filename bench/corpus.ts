// Realistic handset traffic for benchmarks and load generators: the tag mix of the vendor guide,
// severities weighted toward Info/Debug, battery lines, SIP call states, OTA checks.

export const TAGS = [
  'SipService', 'SlnkSipService', 'wpa_supplicant', 'WifiStateMachine', 'SlnkOTA', 'battery_level',
  'battery_status', 'SlnkHTTPServerUtils', 'HeartbeatThread', 'SlnkCnfMgntService', 'BarcodeService',
  'AudioFlinger', 'slnk_pjsua_aud', 'FeatureLicenseService', 'ErrorReportingService', 'SlnkQBC',
] as const;

/** Small deterministic PRNG (mulberry32) so every run sends the same corpus. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function macOf(i: number): string {
  return '00907a' + (0x100000 + i).toString(16).slice(-6);
}

export function ipOf(i: number): string {
  return `172.29.${(i >> 8) & 255}.${i & 255}`;
}

const SEVERITIES = [7, 7, 7, 6, 6, 6, 6, 6, 4, 4, 3, 0];

function description(tag: string, r: () => number): string {
  switch (tag) {
    case 'battery_level':
      return `[${Math.floor(r() * 100)},${3600 + Math.floor(r() * 600)},${200 + Math.floor(r() * 250)}]`;
    case 'battery_status':
      return `[${Math.floor(r() * 6)},${Math.floor(r() * 8)},1,${Math.floor(r() * 3)},Li-ion]`;
    case 'SipService':
    case 'SlnkSipService':
      return r() < 0.5
        ? `Process call state change: cid=${Math.floor(r() * 9)} cstate=CALL_STATE_CONFIRMED mstate=MEDIA_STATE_ACTIVE respCode=200`
        : `placeCall to sip:${4000 + Math.floor(r() * 999)}@172.29.102.11`;
    case 'SlnkOTA':
      return 'Upgrade not required: Local signature: 1393429830 remote signature: 1393429830';
    case 'wpa_supplicant':
      return r() < 0.2 ? 'WPA: 4-Way Handshake failed - pre-shared key may be incorrect' : 'wlan0: CTRL-EVENT-SCAN-STARTED';
    case 'SlnkHTTPServerUtils':
      return r() < 0.5 ? `Battery percentage: ${r().toFixed(2)}` : 'Response Code:404';
    default:
      return `event ${Math.floor(r() * 100000)} state=ok | detail=${Math.floor(r() * 1000)}`;
  }
}

export interface HandsetLine {
  line: string;
  host: string;
  mac: string;
  tag: string;
  severity: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC3164 header time for epoch ms `t` (UTC). */
export function bsdTime(t: number): string {
  const d = new Date(t);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  return `${MONTHS[d.getUTCMonth()]} ${day} ${d.toISOString().slice(11, 19)}`;
}

/** One handset network-form line, as a PIVOT handset sends it to a syslog server. */
export function handsetLine(r: () => number, handsets: number, t: number): HandsetLine {
  const h = Math.floor(r() * handsets);
  const tag = TAGS[Math.floor(r() * TAGS.length)] ?? 'SipService';
  const severity = SEVERITIES[Math.floor(r() * SEVERITIES.length)] ?? 6;
  const mac = macOf(h);
  const line =
    `<${128 + severity}>${bsdTime(t)} ${ipOf(h)} ${tag}[${1000 + (h % 4000)}]: ` +
    `${mac}| ${t}| ${tag} |${128 + severity}|00| ${description(tag, r)}`;
  return { line, host: ipOf(h), mac, tag, severity };
}
