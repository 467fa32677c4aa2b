// Forward to another syslog server as one RFC 5424 line per notice: UDP (one datagram each) or TCP
// (RFC 6587 octet-counted frames on a fresh connection per delivery, closed after the write).

import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { errorMessage } from '../../core/errors.js';
import { textBody, type AlertEvent } from '../event.js';
import type { Sender, SyslogConfig } from './types.js';

/** RFC 5424 PARAM-VALUE escaping (§6.3.3): `"`, `\` and `]`. */
function sdValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export function syslogLine(e: AlertEvent, facility: number, hostname = os.hostname()): string {
  // The alert's own severity (a Fatal stays an emergency); resolved and test notices are notices.
  const sev = e.kind === 'resolved' || e.kind === 'test' || e.severity === null ? 5 : Math.min(e.severity, 7);
  const host = hostname.replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';
  const sd =
    `[handlog@32473 kind="${e.kind}" incident="${sdValue(e.incident_id)}" rule="${sdValue(e.rule_name)}"` +
    ` mac="${sdValue(e.mac)}" tag="${sdValue(e.tag)}" count="${e.count}"]`;
  const msg = textBody(e).replace(/\r?\n/g, ' | ');
  return `<${facility * 8 + sev}>1 ${e.fired_at} ${host} handlog - alert ${sd} ${msg}`;
}

export function syslogSender(cfg: SyslogConfig, timeoutMs = 5000): Sender {
  return (events: readonly AlertEvent[]) => {
    // One line per notice, whatever travels together: datagrams from one socket, or frames on one connection.
    const lines = events.map((e) => Buffer.from(syslogLine(e, cfg.facility), 'utf8'));
    return new Promise((resolve) => {
      const done = (error: string | null) => resolve({ ok: error === null, error, attempts: 1 });
      if (cfg.protocol === 'udp') {
        const sock = dgram.createSocket(net.isIPv6(cfg.host) ? 'udp6' : 'udp4');
        let failed: string | null = null;
        let left = lines.length;
        let closed = false;
        const closeWith = (error: string | null) => {
          if (closed) return;
          closed = true;
          sock.close();
          done(error);
        };
        sock.once('error', (e) => closeWith(errorMessage(e)));
        for (const line of lines) {
          sock.send(line, cfg.port, cfg.host, (e) => {
            if (e !== null && e !== undefined) failed ??= errorMessage(e);
            if (--left === 0) closeWith(failed);
          });
        }
        return;
      }
      const sock = net.connect({ host: cfg.host, port: cfg.port });
      sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no connection in ${timeoutMs} ms`)));
      let failed: string | null = null;
      sock.once('error', (e) => (failed = errorMessage(e)));
      const frames = Buffer.concat(lines.flatMap((line) => [Buffer.from(`${line.length} `), line]));
      // Written and flushed is delivered as far as syslog over TCP can tell; do not wait for the peer.
      sock.once('connect', () => sock.end(frames, () => sock.destroy()));
      sock.once('close', () => done(failed));
    });
  };
}
