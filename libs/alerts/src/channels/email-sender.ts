import { createTransport } from 'nodemailer';
import type { EmailSettings } from './channel-config';
import { DeliveryError, networkError } from './delivery-error';
import { type AlertNotice, bodyLines, headline } from './notice';

export interface EmailSenderOptions {
  /** Each SMTP step (connect, greeting, STARTTLS, each command). Default 15 s. */
  readonly timeoutMs?: number;
  /** Extra CA certificates (PEM) to trust, besides the system's (tests, or NODE_EXTRA_CA_CERTS instead). */
  readonly ca?: string;
}

interface SmtpErrorLike {
  readonly code?: unknown;
  readonly originalCode?: unknown;
  readonly responseCode?: unknown;
  readonly response?: unknown;
  readonly permanent?: unknown;
  readonly message?: unknown;
}

const escapeHtml = (t: string): string =>
  t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Subject, text and HTML of an alert mail. */
export function emailContent(n: AlertNotice): { subject: string; text: string; html: string } {
  const subject = `[restic-fleet] ${headline(n)}`;
  const lines = bodyLines(n);
  return {
    subject: subject.length > 200 ? `${subject.slice(0, 199)}…` : subject,
    text: `${lines.join('\n')}\n`,
    html: `<p><strong>${escapeHtml(headline(n))}</strong></p>${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}`,
  };
}

/**
 * Sends alert mail over SMTP through nodemailer: implicit TLS (`tls`, usually
 * port 465) or a required STARTTLS upgrade (`starttls`, usually 587) — never
 * plain text. The Message-ID is derived from the delivery id, so a retried
 * delivery is the same message to the receiving side.
 */
export class EmailSender {
  private readonly timeoutMs: number;

  constructor(private readonly options: EmailSenderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  async send(s: EmailSettings, n: AlertNotice): Promise<void> {
    const transport = createTransport({
      host: s.host,
      port: s.port,
      secure: s.security === 'tls',
      requireTLS: s.security === 'starttls',
      ...(s.username !== undefined ? { auth: { user: s.username, pass: s.password ?? '' } } : {}),
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
      tls: { minVersion: 'TLSv1.2', ...(this.options.ca ? { ca: this.options.ca } : {}) },
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
    });
    const content = emailContent(n);
    // Each step has its own timeout; this bounds the whole exchange (a server that answers slowly at every step).
    let overrun = false;
    const overall = setTimeout(() => {
      overrun = true;
      transport.close();
    }, 4 * this.timeoutMs);
    try {
      await transport.sendMail({
        from: s.from,
        to: [...s.to],
        subject: content.subject,
        text: content.text,
        html: content.html,
        messageId: `<${n.deliveryId}@restic-fleet>`,
        headers: { 'X-RF-Event': n.event, 'X-RF-Delivery': n.deliveryId },
      });
    } catch (err) {
      if (overrun)
        throw new DeliveryError(
          'timeout',
          `${s.host}:${s.port} did not take the mail within ${(4 * this.timeoutMs) / 1000} s`,
          true,
        );
      throw this.error(err, `${s.host}:${s.port}`);
    } finally {
      clearTimeout(overall);
      transport.close();
    }
  }

  private error(err: unknown, target: string): DeliveryError {
    const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpErrorLike;
    const code = typeof e.code === 'string' ? e.code : '';
    const reply = typeof e.response === 'string' ? e.response.replace(/\s+/g, ' ').slice(0, 200) : '';
    const timeoutS = this.timeoutMs / 1000;
    switch (code) {
      case 'EAUTH':
      case 'ENOAUTH':
        return new DeliveryError(
          'smtp_auth',
          `${target} refused the login${reply ? `: ${reply}` : ''} — check the user name and password`,
          false,
        );
      case 'ETLS':
      case 'EREQUIRETLS':
        return new DeliveryError(
          'tls',
          `TLS with ${target} failed${reply ? `: ${reply}` : ''} — check the security setting (starttls or tls) and the port`,
          true,
        );
      case 'ETIMEDOUT':
        return new DeliveryError('timeout', `no answer from ${target} within ${timeoutS} s`, true);
      case 'ESOCKET':
      case 'ECONNECTION':
      case 'EDNS': {
        const original =
          typeof e.originalCode === 'string' ? e.originalCode : code === 'EDNS' ? 'ENOTFOUND' : '';
        if (original !== '') return networkError({ ...e, code: original }, target, 'SMTP server', timeoutS);
        return new DeliveryError('reset', `${target} closed the connection before the mail was sent`, true);
      }
      case 'EENVELOPE':
      case 'EMESSAGE':
        return new DeliveryError(
          'smtp_rejected',
          `${target} refused the mail${reply ? `: ${reply}` : ''}`,
          e.permanent !== true,
        );
      default:
        return new DeliveryError(
          'smtp',
          `sending mail through ${target} failed: ${reply || (typeof e.message === 'string' ? e.message : code || 'unknown error')}`,
          e.permanent !== true,
        );
    }
  }
}
