// E-mail over SMTP (nodemailer): implicit TLS (`secure`, port 465) or STARTTLS (`required` refuses
// to send in clear, `auto` upgrades when the server offers it, `off` never), AUTH when a user is set.
// Notices sent together (a storm) make one e-mail listing them all.

import nodemailer from 'nodemailer';
import { errorMessage } from '../../core/errors.js';
import { batchSubject, batchTextBody, type AlertEvent } from '../event.js';
import type { Sender, SmtpConfig } from './types.js';

export function smtpSender(cfg: SmtpConfig, timeoutMs = 10_000): Sender {
  return async (events: readonly AlertEvent[], signal?: AbortSignal) => {
    const transport = nodemailer.createTransport({
      host: cfg.host,
      port: cfg.port,
      secure: cfg.secure,
      requireTLS: !cfg.secure && cfg.starttls === 'required',
      ignoreTLS: !cfg.secure && cfg.starttls === 'off',
      ...(cfg.user === '' ? {} : { auth: { user: cfg.user, pass: cfg.pass } }),
      tls: { rejectUnauthorized: !cfg.tls_insecure },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
    const onAbort = () => transport.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await transport.sendMail({ from: cfg.from, to: cfg.to, subject: batchSubject(events), text: batchTextBody(events) });
      return { ok: true, error: null, attempts: 1 };
    } catch (e: unknown) {
      return { ok: false, error: errorMessage(e), attempts: 1 };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      transport.close();
    }
  };
}
