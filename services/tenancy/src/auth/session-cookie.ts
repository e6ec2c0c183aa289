import type { Response } from 'express';
import { SESSION_COOKIE } from '@baton/auth';
import type { BatonConfig } from '@baton/config';

const options = (config: BatonConfig) => ({
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: config.auth.secureCookies,
  path: '/',
});

/** The session's token travels only here: httpOnly, SameSite=Lax, Secure in production. */
export function setSessionCookie(res: Response, token: string, config: BatonConfig): void {
  res.cookie(SESSION_COOKIE, token, { ...options(config), maxAge: config.auth.sessionMaxMs });
}

export function clearSessionCookie(res: Response, config: BatonConfig): void {
  res.clearCookie(SESSION_COOKIE, options(config));
}
