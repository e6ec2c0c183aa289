import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Transporter, createTransport } from 'nodemailer';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger } from '@baton/telemetry';

/** What became of a one-time link: mailed, only logged (no SMTP server, development), or neither. */
export type LinkDelivery = 'mailed' | 'logged' | 'failed' | 'not_sent';

export interface LinkMail {
  to: string;
  subject: string;
  /** The text before the link, and after it. */
  intro: string;
  link: string;
  outro: string;
  /** For the log line: `invitation`, `password reset`. */
  what: string;
}

const SEND_TIMEOUT_MS = 10_000;

/**
 * One-time links (invitations, password resets) to their owner's mailbox over
 * the SMTP server of the alerts (`BATON_SMTP_URL`, `BATON_SMTP_FROM`). With no
 * SMTP server, the embedded default logs the link instead; production mode does
 * not (a log is read by more people than the mailbox's owner).
 */
@Injectable()
export class LinkMailer implements OnModuleDestroy {
  private readonly transport: Transporter | null;
  private readonly log: Logger;

  constructor(
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('mail');
    this.transport = config.smtp
      ? createTransport({
          url: config.smtp.url,
          connectionTimeout: SEND_TIMEOUT_MS,
          greetingTimeout: SEND_TIMEOUT_MS,
          socketTimeout: SEND_TIMEOUT_MS,
        })
      : null;
  }

  get mails(): boolean {
    return this.transport !== null;
  }

  /** Never throws: a link that could not be mailed is logged as such (without the link). */
  async deliver(mail: LinkMail): Promise<LinkDelivery> {
    if (!this.transport || !this.config.smtp) {
      if (this.config.mode === 'production') {
        this.log.warn(`${mail.what} for ${mail.to} not mailed: no SMTP server is configured (BATON_SMTP_URL)`);
        return 'not_sent';
      }
      this.log.info(`${mail.what} link for ${mail.to} (no SMTP server configured, so logged): ${mail.link}`);
      return 'logged';
    }
    try {
      await this.transport.sendMail({
        from: this.config.smtp.from,
        to: mail.to,
        subject: mail.subject,
        text: `${mail.intro}\n\n${mail.link}\n\n${mail.outro}\n`,
      });
      return 'mailed';
    } catch (err) {
      this.log.error(`${mail.what} for ${mail.to} not mailed`, { error: String(err) });
      return 'failed';
    }
  }

  onModuleDestroy(): void {
    this.transport?.close();
  }
}
