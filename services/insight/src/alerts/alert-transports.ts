import { createHmac } from 'node:crypto';
import { type Transporter, createTransport } from 'nodemailer';
import { type AlertMessage, slackPayload } from '@baton/domain';

/** How long one send may take before it counts as failed (and is retried). */
export const SEND_TIMEOUT_MS = 10_000;

/** The header a webhook channel with a secret signs its body in. */
export const SIGNATURE_HEADER = 'X-Baton-Signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the channel's secret>`.
 * A receiver recomputes v1 over the raw body it received and compares in constant
 * time, and refuses a `t` too far from its clock (replays).
 */
export function signatureHeader(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

/** A delivery that must not be tried again (its channel is gone, email is not configured). */
export class PermanentDeliveryError extends Error {}

async function postJson(url: string, body: string, headers: Record<string, string>): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'baton-alerts', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    throw new Error(`POST ${new URL(url).host}: ${e.cause?.code ?? e.cause?.message ?? e.message}`, { cause: err });
  }
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`POST ${new URL(url).host}: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`);
  }
}

/** A signed JSON POST (signed when the channel has a secret). */
export function sendWebhook(url: string, payload: unknown, secret: string | null, deliveryId: string, event: string) {
  const body = JSON.stringify(payload);
  return postJson(url, body, {
    'X-Baton-Event': event,
    'X-Baton-Delivery': deliveryId,
    ...(secret ? { [SIGNATURE_HEADER]: signatureHeader(secret, body, Date.now()) } : {}),
  });
}

/** A Slack-compatible incoming webhook: `text` plus blocks. */
export function sendSlack(url: string, msg: AlertMessage, runUrl: string | null) {
  return postJson(url, JSON.stringify(slackPayload(msg, runUrl)), {});
}

/** Email over SMTP (nodemailer), one transport per process. */
export class Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = createTransport({
      url,
      connectionTimeout: SEND_TIMEOUT_MS,
      greetingTimeout: SEND_TIMEOUT_MS,
      socketTimeout: SEND_TIMEOUT_MS,
    });
  }

  async send(to: readonly string[], msg: AlertMessage, headers: Record<string, string>): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: [...to],
      subject: msg.title,
      text: `${msg.lines.join('\n')}\n`,
      headers,
    });
  }

  close(): void {
    this.transport.close();
  }
}
