import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** One message as the SMTP server took it, parsed by mailparser. */
export interface ReceivedMail {
  readonly mail: ParsedMail;
  readonly secure: boolean;
  readonly user: string | undefined;
  readonly envelopeTo: string[];
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 that takes mail from user
 * `rf` with password `mail-pass` and keeps every message parsed. TLS with the
 * given (self-signed) certificate: STARTTLS by default, `secure: true` for
 * implicit TLS.
 */
export class SmtpReceiver {
  readonly received: ReceivedMail[] = [];
  /** Connection errors, e.g. a sender killed mid-session (ECONNRESET); kept, never thrown. */
  readonly connectionErrors: Error[] = [];
  private server!: SMTPServer;

  static async start(
    options: Partial<SMTPServerOptions>,
    tls: { key: string; cert: string },
  ): Promise<SmtpReceiver> {
    const r = new SmtpReceiver();
    r.server = new SMTPServer({
      key: tls.key,
      cert: tls.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === 'rf' && auth.password === 'mail-pass') cb(null, { user: 'rf' });
        else cb(new Error('Invalid username or password'));
      },
      onData(stream, session, cb) {
        simpleParser(stream)
          .then((mail) => {
            r.received.push({
              mail,
              secure: session.secure,
              user: typeof session.user === 'string' ? session.user : undefined,
              envelopeTo: session.envelope.rcptTo.map((a) => a.address),
            });
            cb();
          })
          .catch((err: Error) => cb(err));
      },
      ...options,
    });
    // smtp-server emits a client's broken connection on the server; without a
    // listener that is an uncaught exception in the test process.
    r.server.on('error', (err: Error) => r.connectionErrors.push(err));
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
