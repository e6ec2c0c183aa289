import { SMTPServer } from 'smtp-server';
import { freePort } from './processes.js';

export interface ReceivedMail {
  to: string[];
  subject: string;
  /** The message as a reader sees it (quoted-printable decoded), headers included. */
  text: string;
}

/** A real SMTP server (smtp-server) on the loopback: records every message. */
export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  private readonly server: SMTPServer;

  private constructor(readonly port: number) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, cb) => {
        let raw = '';
        stream.on('data', (d: Buffer) => (raw += d.toString()));
        stream.on('end', () => {
          const text = /^Content-Transfer-Encoding: quoted-printable/im.test(raw)
            ? raw
                .replace(/=\r?\n/g, '')
                .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
            : raw;
          this.mails.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: /^Subject: (.*)$/m.exec(text)?.[1]?.trim() ?? '',
            text,
          });
          cb();
        });
      },
    });
  }

  static async start(): Promise<SmtpReceiver> {
    const r = new SmtpReceiver(await freePort());
    await new Promise<void>((res) => r.server.listen(r.port, '127.0.0.1', res));
    return r;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  to(address: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to.includes(address));
  }

  /** The messages that mention `text` (a run id, a link). */
  about(text: string): ReceivedMail[] {
    return this.mails.filter((m) => m.text.includes(text));
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
