import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** An API key, an agent token, a login session, an invitation, a password reset. */
export type TokenKind = 'key' | 'agt' | 'ses' | 'inv' | 'rst';

export interface IssuedToken {
  /** Shown once; never stored. */
  token: string;
  /** Stored in clear to let users recognise a token (`bat_key_AbCd1234`). */
  prefix: string;
  /** SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough. */
  hash: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function issueToken(kind: TokenKind): IssuedToken {
  const token = `bat_${kind}_${randomBytes(32).toString('base64url')}`;
  return { token, prefix: token.slice(0, 16), hash: hashToken(token) };
}

/** For a fixed token supplied by the operator (BATON_BOOTSTRAP_TOKEN). */
export function tokenFromSecret(token: string): IssuedToken {
  // An operator-chosen token shows only its first 4 characters.
  return { token, prefix: `${token.slice(0, 4)}…`, hash: hashToken(token) };
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
