import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AuditsItself, CurrentPrincipal, type Principal, Public, SESSION_COOKIE, readCookie } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ApiDoc, parseInput } from '@baton/http';
import { EmailAddress } from '../users/users.views.js';
import { AuthService } from './auth.service.js';
import { PasswordsService } from './passwords.service.js';
import { clearSessionCookie, setSessionCookie } from './session-cookie.js';

const Login = z.strictObject({
  email: EmailAddress,
  // Bounded: argon2 hashes whatever it is given.
  password: z.string().min(1).max(1024),
  tenant: z.string().min(1).max(100).optional(),
});

const SwitchTenant = z.strictObject({ tenant: z.string().min(1).max(100) });

/** A new password: at least 12 characters; bounded, since argon2 hashes whatever it is given. */
export const NewPassword = z.string().min(12, 'must be at least 12 characters').max(1024);

const ChangePassword = z.strictObject({ current: z.string().min(1).max(1024), new: NewPassword });
const RequestReset = z.strictObject({ email: EmailAddress });
const ConfirmReset = z.strictObject({ token: z.string().min(1).max(200), password: NewPassword });

const clientOf = (req: Request) => ({
  ip: req.ip ?? req.socket.remoteAddress ?? null,
  userAgent: req.headers['user-agent'] ?? null,
});

const sessionToken = (req: Request) => readCookie(req.headers.cookie, SESSION_COOKIE);

/** Login sessions for people: an httpOnly SameSite cookie, and a CSRF token for calls that change something. */
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly passwords: PasswordsService,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiDoc({ summary: 'Log in with email and password: sets the session cookie, returns the CSRF token', body: Login })
  async login(@Body() body: unknown, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const cmd = parseInput(Login, body);
    const { token, view } = await this.auth.login(cmd, clientOf(req));
    setSessionCookie(res, token, this.config);
    return view;
  }

  @Post('logout')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: 'End the current session and clear its cookie' })
  async logout(@CurrentPrincipal() p: Principal, @Res({ passthrough: true }) res: Response) {
    const r = await this.auth.logout(p);
    clearSessionCookie(res, this.config);
    return r;
  }

  /** Who am I: the user, the tenant and role the call acts with, and the CSRF token of the session. */
  @Get('session')
  @ApiDoc({ summary: 'Who am I: user, tenant, role, memberships and the CSRF token of the session' })
  session(@CurrentPrincipal() p: Principal, @Req() req: Request) {
    return this.auth.current(p, sessionToken(req));
  }

  @Get('sessions')
  @ApiDoc({ summary: "The caller's own live sessions (never their tokens)" })
  async sessions(@CurrentPrincipal() p: Principal) {
    return { items: await this.auth.sessions(p) };
  }

  @Delete('sessions/:id')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: "Revoke one of the caller's own sessions" })
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.auth.revoke(p, id);
  }

  @Post('tenant')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: "Move the session to another of the user's tenants", body: SwitchTenant })
  switchTenant(@CurrentPrincipal() p: Principal, @Body() body: unknown, @Req() req: Request) {
    return this.auth.switchTenant(p, parseInput(SwitchTenant, body).tenant, sessionToken(req));
  }

  @Post('password')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: "Change the signed-in user's password; their other sessions end", body: ChangePassword })
  changePassword(@CurrentPrincipal() p: Principal, @Body() body: unknown, @Req() req: Request) {
    const cmd = parseInput(ChangePassword, body);
    return this.passwords.change(p, cmd.current, cmd.new, clientOf(req));
  }

  @Post('password-reset')
  @Public()
  @HttpCode(202)
  @ApiDoc({
    summary: 'Mail a one-time password reset link to the email if it has an account; 202 whether or not it does',
    body: RequestReset,
    status: 202,
  })
  async requestReset(@Body() body: unknown, @Req() req: Request) {
    await this.passwords.requestReset(parseInput(RequestReset, body).email, clientOf(req));
    return { accepted: true };
  }

  @Post('password-reset/confirm')
  @Public()
  @HttpCode(200)
  @ApiDoc({
    summary: "Set a new password with a reset link's token; every session of the user ends",
    body: ConfirmReset,
  })
  confirmReset(@Body() body: unknown, @Req() req: Request) {
    const cmd = parseInput(ConfirmReset, body);
    return this.passwords.confirmReset(cmd.token, cmd.password, clientOf(req));
  }
}
