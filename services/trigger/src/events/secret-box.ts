import { randomBytes } from 'node:crypto';

/** A new webhook secret: 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}
