import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { EmailSettings } from './channel-config';
import { EmailSender } from './email-sender';
import type { AlertNotice } from './notice';
import { deliveryFailure, refusedPort, selfSignedCertificate } from './testing/http-receiver.testing';
import { SmtpReceiver } from './testing/smtp-receiver.testing';

/** E-mail through a real SMTP server (smtp-server) with a self-signed certificate; mailparser reads what arrived. */

const notice: AlertNotice = {
  type: 'alert',
  event: 'alert.resolved',
  deliveryId: '3f2c1b0a-9e8d-5c7b-a6f5-e4d3c2b1a098',
  sentAt: new Date('2024-05-01T12:00:00Z'),
  alert: {
    id: 'a1',
    rule: 'job_failed',
    severity: 'error',
    state: 'resolved',
    summary: 'backup job failed on web-1: The repository password is wrong.',
    host: { id: 'h1', hostname: 'web-1' },
    raised_at: '2024-05-01T11:00:00.000Z',
    resolved_at: '2024-05-01T11:58:00.000Z',
    resolution: 'a later backup job succeeded',
  },
};

const settings = (port: number, o: Partial<EmailSettings> = {}): EmailSettings => ({
  host: '127.0.0.1',
  port,
  security: 'starttls',
  username: 'rf',
  password: 'mail-pass',
  from: 'fleet@example.com',
  to: ['ops@example.com', 'oncall@example.com'],
  ...o,
});

describe('EmailSender against a real SMTP server', () => {
  const tls = selfSignedCertificate();
  const sender = new EmailSender({ ca: tls.cert, timeoutMs: 5_000 });
  let starttls: SmtpReceiver;
  let implicit: SmtpReceiver;
  let plainOnly: SmtpReceiver;
  before(async () => {
    starttls = await SmtpReceiver.start({}, tls);
    implicit = await SmtpReceiver.start({ secure: true }, tls);
    plainOnly = await SmtpReceiver.start({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true }, tls);
  });
  after(async () => {
    await Promise.all([starttls.close(), implicit.close(), plainOnly.close()]);
  });

  it('delivers over STARTTLS with a login, and the mail reads back as sent', async () => {
    await sender.send(settings(starttls.port), notice);
    assert.equal(starttls.received.length, 1);
    const { mail, secure, user, envelopeTo } = starttls.received[0];
    assert.equal(secure, true, 'upgraded to TLS before the login and the mail');
    assert.equal(user, 'rf');
    assert.deepEqual(envelopeTo, ['ops@example.com', 'oncall@example.com']);
    assert.equal(mail.from?.text, 'fleet@example.com');
    assert.equal(mail.subject, '[restic-fleet] Resolved: job_failed on web-1 (error)');
    assert.equal(mail.messageId, `<${notice.deliveryId}@restic-fleet>`);
    assert.equal(mail.headers.get('x-rf-delivery'), notice.deliveryId);
    assert.equal(mail.headers.get('x-rf-event'), 'alert.resolved');
    assert.equal(
      mail.text,
      [
        notice.alert.summary,
        'Resolved: a later backup job succeeded',
        'Raised 2024-05-01T11:00:00.000Z, resolved 2024-05-01T11:58:00.000Z',
        'Alert a1',
        '',
      ].join('\n'),
    );
    assert.match(String(mail.html), /<strong>Resolved: job_failed on web-1 \(error\)<\/strong>/);
  });

  it('delivers over implicit TLS', async () => {
    await sender.send(settings(implicit.port, { security: 'tls' }), notice);
    assert.equal(implicit.received.length, 1);
    assert.equal(implicit.received[0].secure, true);
  });

  it('never falls back to plain text when the server offers no STARTTLS', async () => {
    const err = await deliveryFailure(sender.send(settings(plainOnly.port), notice));
    assert.equal(err.code, 'tls');
    assert.match(err.message, new RegExp(`TLS with 127.0.0.1:${plainOnly.port} failed`));
    assert.equal(plainOnly.received.length, 0);
  });

  it('names a refused login without the password, and does not retry it', async () => {
    const err = await deliveryFailure(
      sender.send(settings(starttls.port, { password: 'wrong-pass' }), notice),
    );
    assert.equal(err.code, 'smtp_auth');
    assert.match(err.message, new RegExp(`^127.0.0.1:${starttls.port} refused the login`));
    assert.ok(!err.message.includes('wrong-pass'));
    assert.equal(err.retryable, false);
  });

  it('refuses an untrusted certificate', async () => {
    const err = await deliveryFailure(
      new EmailSender({ timeoutMs: 5_000 }).send(settings(starttls.port), notice),
    );
    assert.equal(err.code, 'tls');
  });

  it('says clearly when no SMTP server listens', async () => {
    const port = await refusedPort();
    const err = await deliveryFailure(sender.send(settings(port), notice));
    assert.equal(err.code, 'refused');
    assert.equal(err.message, `connection refused by 127.0.0.1:${port} — is the SMTP server running?`);
  });

  it('gives up on a server that accepts the connection but never greets', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const err = await deliveryFailure(
        new EmailSender({ ca: tls.cert, timeoutMs: 300 }).send(settings(port), notice),
      );
      assert.equal(err.code, 'timeout');
      assert.equal(err.message, `no answer from 127.0.0.1:${port} within 0.3 s`);
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
