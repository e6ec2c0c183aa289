import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public, readCookie } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ApiDoc, ProblemException } from '@baton/http';
import { setSessionCookie } from '../auth/session-cookie.js';
import { OidcService } from './oidc.service.js';

/** The browser's half of an SSO sign-in: the state, until the provider sends it back. */
export const OIDC_STATE_COOKIE = 'baton_oidc';
const COOKIE_PATH = '/api/v1/auth/oidc';

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A refused sign-in, for a person: the callback is a page the browser navigated to. */
function refusalPage(detail: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused · Baton</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem">
<h1>Sign-in refused</h1>
<p id="reason">${escape(detail)}</p>
<p><a href="/sign-in">Back to sign in</a></p>
</body></html>
`;
}

@Controller('api/v1/auth')
export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  /** What the sign-in page offers: passwords always, SSO when an issuer is configured. */
  @Get('config')
  @Public()
  @ApiDoc({ summary: 'How to sign in here: password, and SSO when it is configured (no credential needed)' })
  signInConfig() {
    return {
      password: true,
      passwordReset: true,
      sso: this.oidc.enabled ? { loginUrl: `${COOKIE_PATH}/login` } : null,
    };
  }

  @Get('oidc/login')
  @Public()
  @ApiDoc({ summary: 'Start an SSO sign-in: redirects to the OpenID provider (`returnTo`: a path to land on after)' })
  async login(@Query('returnTo') returnTo: unknown, @Res() res: Response) {
    const { url, state } = await this.oidc.begin(returnTo);
    res.cookie(OIDC_STATE_COOKIE, state, {
      httpOnly: true,
      // Lax: the provider's redirect back is a top-level navigation from its site.
      sameSite: 'lax',
      secure: this.config.auth.secureCookies,
      path: COOKIE_PATH,
      maxAge: 10 * 60_000,
    });
    res.redirect(302, url);
  }

  @Get('oidc/callback')
  @Public()
  @ApiDoc({ summary: "The OpenID provider's redirect back: signs in (the session cookie) and redirects to the portal" })
  async callback(@Req() req: Request, @Res() res: Response) {
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    res.clearCookie(OIDC_STATE_COOKIE, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.auth.secureCookies,
      path: COOKIE_PATH,
    });
    try {
      const r = await this.oidc.finish(query, readCookie(req.headers.cookie, OIDC_STATE_COOKIE), {
        ip: req.ip ?? req.socket.remoteAddress ?? null,
        userAgent: req.headers['user-agent'] ?? null,
      });
      setSessionCookie(res, r.token, this.config);
      res.redirect(302, r.returnTo);
    } catch (err) {
      if (!(err instanceof ProblemException)) throw err;
      res.status(err.status).type('html').send(refusalPage(err.detail));
    }
  }
}
