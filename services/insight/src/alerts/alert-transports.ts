import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type Transporter, createTransport } from 'nodemailer';
import { type AlertMessage, slackPayload } from '@baton/domain';
import { RefusedAddressError, isPrivateAddress, literalAddress, publicOnlyLookup } from './url-guard.js';

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

/** Where a POST may connect: `allowPrivate` false refuses loopback, link-local and private addresses. */
export interface SendPolicy {
  allowPrivate: boolean;
}

/**
 * One JSON POST over node:http(s): no redirects followed, a whole-request
 * timeout, and (unless private addresses are allowed) the host's addresses
 * checked where the socket connects (`lookup`), so a name that resolves to a
 * private address, or starts to after the channel was saved, is refused.
 */
async function postJson(url: string, body: string, headers: Record<string, string>, policy: SendPolicy) {
  const u = new URL(url);
  const ip = literalAddress(u);
  if (!policy.allowPrivate && ip !== null && isPrivateAddress(ip)) {
    throw new PermanentDeliveryError(`POST ${u.host}: ${new RefusedAddressError(ip, ip).message}`);
  }
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'baton-alerts',
          ...headers,
        },
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        ...(policy.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 1_000) text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  }).catch((err: unknown) => {
    const e = err as Error & { code?: string };
    if (e instanceof RefusedAddressError) throw new PermanentDeliveryError(`POST ${u.host}: ${e.message}`);
    const why = e.name === 'AbortError' || e.name === 'TimeoutError' ? 'timed out' : (e.code ?? e.message);
    throw new Error(`POST ${u.host}: ${why}`, { cause: err });
  });
  if (status < 200 || status >= 300) {
    throw new Error(`POST ${u.host}: HTTP ${status}${text ? ` ${text.slice(0, 200)}` : ''}`);
  }
}

/** A signed JSON POST (signed when the channel has a secret). */
export function sendWebhook(
  url: string,
  payload: unknown,
  secret: string | null,
  deliveryId: string,
  event: string,
  policy: SendPolicy,
) {
  const body = JSON.stringify(payload);
  return postJson(
    url,
    body,
    {
      'X-Baton-Event': event,
      'X-Baton-Delivery': deliveryId,
      ...(secret ? { [SIGNATURE_HEADER]: signatureHeader(secret, body, Date.now()) } : {}),
    },
    policy,
  );
}

/** A Slack-compatible incoming webhook: `text` plus blocks. */
export function sendSlack(url: string, msg: AlertMessage, runUrl: string | null, policy: SendPolicy) {
  return postJson(url, JSON.stringify(slackPayload(msg, runUrl)), {}, policy);
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
