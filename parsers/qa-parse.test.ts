// Black-box findings on what handsets and other senders send (qa-parse): each case was a line that
// lost fields or was misread before its fix.

import { describe, expect, it } from 'vitest';
import { parseLine } from './detect.js';

const at = (iso: string) => ({ receivedAtMs: Date.parse(iso), tz: 'UTC' });
const NOW = at('2026-12-02T15:00:00Z');

describe('tags with spaces (the guide lists "SlnkWebViewHelper - SlnkJavaScriptInterface")', () => {
  const tag = 'SlnkWebViewHelper - SlnkJavaScriptInterface';
  it('reads the network form behind such a header tag', () => {
    const rec = parseLine(`<134>Sep 27 11:05:00 172.29.69.30 ${tag}[3367]: 00907a117d65|1380279900487|${tag}|134|00| js call`, NOW);
    expect(rec).toMatchObject({
      format: 'pivot',
      host: '172.29.69.30',
      tag,
      pid: 3367,
      mac: '00907a117d65',
      device_time: '2013-09-27T11:05:00.487Z',
      severity: 6,
      missed_events: 0,
      message: 'js call',
    });
    expect(rec.parse_error).toBeUndefined();
  });
  it('reads the internal form behind such a header tag', () => {
    const rec = parseLine(`<135>Sep 27 11:05:00 00907a117d65 ${tag}: 1380279900487|${tag}|7|02| internal`, NOW);
    expect(rec).toMatchObject({ format: 'pivot', tag, mac: '00907a117d65', severity: 7, missed_events: 2, message: 'internal' });
  });
  it('reads a server-file line with such a tag', () => {
    const rec = parseLine(
      `2013-09-27 05:05:01 Local0.Info 172.29.69.30 Sep 27 11:05:00 172.29.69.30 ${tag}[3367]: 00907a117d65| 1380279900487| ${tag} |6|00| kiwi`,
      NOW,
    );
    expect(rec).toMatchObject({ format: 'pivot', tag, pid: 3367, mac: '00907a117d65', message: 'kiwi' });
  });
  it('leaves plain text with a colon alone', () => {
    const rec = parseLine('<13>Dec  2 15:00:00 host some words: not | a body', NOW);
    expect(rec).toMatchObject({ format: 'rfc3164', host: 'host', tag: null, message: 'some words: not | a body' });
  });
});

describe('RFC 5424 headers', () => {
  it('takes a MAC in the HOSTNAME field as the handset MAC (a relay forwarding the internal form)', () => {
    const rec = parseLine('<134>1 2026-12-02T15:00:00.123Z 00907A117D65 SipService 3367 - - 1028171642.05|SipService|6|00| relayed', NOW);
    expect(rec).toMatchObject({ format: 'pivot', mac: '00907a117d65', tag: 'SipService', device_time: '2026-10-28T17:16:42.050Z' });
    const plain = parseLine('<13>1 2026-12-02T15:00:00Z 00:90:7a:11:ba:aa app - - - no body', NOW);
    expect(plain.mac).toBe('00907a11baaa');
  });
  it('keeps the time of a header that ends right after it, and says the header is truncated', () => {
    const rec = parseLine('<13>1 2026-12-02T15:00:00Z', NOW);
    expect(rec.syslog_time).toBe('2026-12-02T15:00:00.000Z');
    expect(rec.parse_error).toBe('RFC5424 header truncated');
  });
});

describe('four-digit years below 100', () => {
  it('are not taken for 19xx (Date.UTC maps years 0-99 to 1900-1999)', () => {
    const rec = parseLine('<13>1 0001-01-01T00:00:00Z host app - - - year one', NOW);
    expect(rec.syslog_time).toBe('0001-01-01T00:00:00.000Z');
    const iso = parseLine('0099-06-01T00:00:00Z host app: rsyslog line', NOW);
    expect(iso.syslog_time).toBe('0099-06-01T00:00:00.000Z');
  });
});

describe('bytes that are not UTF-8', () => {
  it('are read as Windows-1252, valid UTF-8 around them kept', async () => {
    const { decodeText } = await import('./text.js');
    expect(decodeText(Buffer.from('caf\xe9 \x93quoted\x94 \x80 \x81', 'latin1'))).toBe('café \u201cquoted\u201d € \u0081');
    expect(decodeText(Buffer.concat([Buffer.from('naïve '), Buffer.from([0xe9, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80])]))).toBe(
      'naïve é\u00ed\u00a0€😀',
    );
    expect(decodeText(Buffer.from('plain ascii'))).toBe('plain ascii');
  });
  it('keep their characters in message through parseLine', () => {
    const rec = parseLine(Buffer.from('<13>Dec  2 15:00:00 host app: caf\xe9', 'latin1'), NOW);
    expect(rec.message).toBe('café');
  });
});

describe('RFC 3164 header separators', () => {
  it('takes tabs between the header fields as spaces', () => {
    const rec = parseLine('<13>Dec  2 15:00:00\thost\tapp[7]: tabbed', NOW);
    expect(rec).toMatchObject({ host: 'host', tag: 'app', pid: 7, message: 'tabbed' });
    const body = parseLine('<134>Dec  2 15:00:00\t172.29.69.30\tSipService[3367]:\t00907a117d65|1380279900487|SipService|6|00| tabbed body', NOW);
    expect(body).toMatchObject({ format: 'pivot', host: '172.29.69.30', mac: '00907a117d65', tag: 'SipService', message: 'tabbed body' });
  });
  it('skips the colon some senders put after the time (Cisco IOS)', () => {
    const rec = parseLine('<189>Dec  2 2026 15:00:00: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down', NOW);
    expect(rec).toMatchObject({ host: null, tag: '%LINK-3-UPDOWN', syslog_time: '2026-12-02T15:00:00.000Z' });
  });
});

describe('SlnkHTTPServerUtils battery lines', () => {
  const http = (text: string) =>
    parseLine(`<135>Dec  2 15:00:00 172.29.69.30 SlnkHTTPServerUtils[3093]: 00907a117d65|1764687600000|SlnkHTTPServerUtils|7|00| ${text}`, NOW)
      .battery;
  it('reads the guide fraction as a percentage', () => {
    expect(http('Battery percentage: 1.0')).toEqual({ level_pct: 100 });
    expect(http('Battery percentage: 0.87')).toEqual({ level_pct: 87 });
  });
  it('does not make 8700 % of a value that is already a percentage, nor decode impossible values', () => {
    expect(http('Battery percentage: 87')).toEqual({ level_pct: 87 });
    expect(http('Battery percentage: 250')).toBeUndefined();
    expect(http('Battery percentage: -0.5')).toBeUndefined();
  });
  it('reads a temperature with its unit', () => {
    expect(http('Battery temperature: 26.3C')).toEqual({ temperature_c: 26.3 });
    expect(http('Battery temperature: 26.3 °C')).toEqual({ temperature_c: 26.3 });
  });
});

describe('more adb logcat -v forms', () => {
  it('process: `I(  576) message  (Tag)`', () => {
    const rec = parseLine('I( 3266) Upgrade not required: Local signature: 1 remote signature: 1  (SlnkOTA)', NOW);
    expect(rec).toMatchObject({ format: 'logcat', severity: 6, pid: 3266, tag: 'SlnkOTA', message: 'Upgrade not required: Local signature: 1 remote signature: 1' });
    expect(rec.event).toMatchObject({ type: 'ota_check', upgrade_required: false });
  });
  it('thread: `I(  576:  600) message`', () => {
    const rec = parseLine('W( 2582: 2590) battery low', NOW);
    expect(rec).toMatchObject({ format: 'logcat', severity: 4, pid: 2582, tid: 2590, tag: null, message: 'battery low' });
  });
  it('threadtime with the zone modifier (-v threadtime,zone)', () => {
    const rec = parseLine('12-02 16:00:00.123 +0100  1234  5678 I ActivityManager: Start proc', NOW);
    expect(rec).toMatchObject({ format: 'logcat', pid: 1234, tid: 5678, tag: 'ActivityManager', device_time: '2026-12-02T15:00:00.123Z' });
  });
  it('time with the zone modifier (-v time,zone)', () => {
    const rec = parseLine('12-02 09:00:00.123 -0600 I/battery_level( 2488): [81,3986,254]', NOW);
    expect(rec).toMatchObject({ device_time: '2026-12-02T15:00:00.123Z', battery: { level_pct: 81 } });
  });
  it('threadtime with the epoch modifier (-v threadtime,epoch)', () => {
    const rec = parseLine('1764687600.123  1234  5678 E AndroidRuntime: FATAL EXCEPTION: main', NOW);
    expect(rec).toMatchObject({ format: 'logcat', severity: 3, tag: 'AndroidRuntime', device_time: '2025-12-02T15:00:00.123Z' });
  });
  it('threadtime with the uid modifier (-v threadtime,uid)', () => {
    const rec = parseLine('12-02 15:00:00.123 u0_a12  1234  5678 I Tag: with uid', NOW);
    expect(rec).toMatchObject({ format: 'logcat', pid: 1234, tid: 5678, tag: 'Tag', message: 'with uid' });
    const num = parseLine('12-02 15:00:00.123  1000  1234  5678 D Tag: numeric uid', NOW);
    expect(num).toMatchObject({ format: 'logcat', pid: 1234, tid: 5678, tag: 'Tag', message: 'numeric uid' });
  });
});

describe('wpa_supplicant disconnects', () => {
  const wpa = (text: string) =>
    parseLine(`<134>Dec  2 15:00:00 172.29.69.30 wpa_supplicant[900]: 00907a117d65|1764687600000|wpa_supplicant|6|00| ${text}`, NOW).event;
  it('calls a disconnect a handshake failure only for the handshake reason codes (15 4-way timeout, 16, 17)', () => {
    expect(wpa('wlan0: CTRL-EVENT-DISCONNECTED bssid=00:11:22:33:44:55 reason=15')).toEqual({
      type: 'wifi_handshake_failed',
      bssid: '001122334455',
      reason_code: 15,
      detail: null,
    });
  });
  it('reports an ordinary disconnect (reason 3, leaving) as wifi_disconnected, not a handshake failure', () => {
    expect(wpa('wlan0: CTRL-EVENT-DISCONNECTED bssid=00:11:22:33:44:55 reason=3 locally_generated=1')).toEqual({
      type: 'wifi_disconnected',
      bssid: '001122334455',
      reason_code: 3,
      detail: null,
    });
  });
});

describe("RFC 3164's own examples", () => {
  it('uses the year of `Aug 24 05:34:00 CST 1987` (§5.4), not the receive year', () => {
    const rec = parseLine("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.", NOW);
    expect(rec).toMatchObject({ host: 'mymachine', tag: 'myproc', pid: 10, syslog_time: '1987-08-24T05:34:00.000Z' });
  });
});

describe('the header time cache', () => {
  it('does not give the year of `… CST 1987` to the next line with the same month, day and time', () => {
    parseLine('<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: first', NOW);
    expect(parseLine('<165>Aug 24 05:34:00 mymachine myproc[10]: second', NOW).syslog_time).toBe('2026-08-24T05:34:00.000Z');
  });
});

describe('a header cut inside its time, with a zone option', () => {
  const denver = { receivedAtMs: Date.parse('2026-12-02T15:00:00Z'), tz: 'America/Denver' };
  it.each(['<134>Sep 27 11:05:', '<135>Oct 25 06:50:0', '<165>1 2003-10-11T22:14:1', '2013-11-15 15:23:09 Local0.Debug 172.29.101.149 Nov 15 10:23:'])(
    '%s keeps its priority and says why, no internal parser error',
    (line) => {
      const rec = parseLine(line, denver);
      expect(rec.parse_error ?? '').not.toMatch(/internal parser error/);
      if (line.startsWith('<')) expect(rec.severity).not.toBeNull();
    },
  );
});

describe('numbers too large for their field', () => {
  it('are not taken as pid / tid / missed events (the store cannot keep them)', () => {
    expect(parseLine('<134>Dec  2 08:00:00 h SipService[9999999999]: x', NOW).pid).toBeNull();
    expect(parseLine('<13>1 2026-12-02T15:00:00Z h a 9999999999 - - x', NOW).pid).toBeNull();
    const lc = parseLine('12-02 08:00:00.000  9999999999  9999999999 I Tag: x', NOW);
    expect([lc.format, lc.pid, lc.tid]).toEqual(['logcat', null, null]);
    const body = parseLine('<134>Dec  2 08:00:00 h SipService[1]: 00907a11dead|1764687600000|SipService|6|99999999999| x', NOW);
    expect(body.missed_events).toBeNull();
    expect(body.parse_error).toBe('unrecognised missed-events field "9999999999"');
  });
});

describe('damaged lines say what is wrong', () => {
  it('reads the timestamp of a network-form body cut right after it', () => {
    const rec = parseLine('<134>Dec  2 08:00:00 h SipService[1]: 00907a117d65| 1764687600123', NOW);
    expect(rec).toMatchObject({ format: 'pivot', mac: '00907a117d65', device_time: '2025-12-02T15:00:00.123Z', message: '' });
    expect(rec.parse_error).toBe('pipe body truncated after timestamp');
  });
  it('names an impossible RFC 3164 date as such', () => {
    const rec = parseLine('<13>Feb 30 12:00:00 host app: x', NOW);
    expect(rec).toMatchObject({ severity: 5, message: 'Feb 30 12:00:00 host app: x', parse_error: 'invalid RFC3164 timestamp' });
  });
});
