import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AuditsItself, CurrentPrincipal, type Principal, Public, Requires, TENANT_ROLES } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ApiDoc, parseInput } from '@baton/http';
import { setSessionCookie } from '../auth/session-cookie.js';
import { EmailAddress } from '../users/users.views.js';
import { InvitationsService } from './invitations.service.js';

const Invite = z.strictObject({ email: EmailAddress, role: z.enum(TENANT_ROLES) });

const Preview = z.strictObject({ token: z.string().min(1).max(200) });

const Accept = z.strictObject({
  token: z.string().min(1).max(200),
  // For a new account; an existing one keeps its name.
  name: z.string().trim().min(1).max(200).optional(),
  // A new account's password, or the existing account's own (at most 1024: argon2 hashes whatever it is given).
  password: z.string().min(1).max(1024),
});

/** Invitations into the caller's tenant (tenant admins), and their acceptance (anyone holding the link). */
@Controller('api/v1/invitations')
export class InvitationsController {
  constructor(
    private readonly invitations: InvitationsService,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  @Post()
  @AuditsItself()
  @ApiDoc({
    summary: 'Invite an email with a role: a one-time link, mailed (or logged without SMTP) and returned once',
    body: Invite,
    status: 201,
  })
  @Requires('create', 'User')
  create(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    return this.invitations.create(p, parseInput(Invite, body));
  }

  @Get()
  @ApiDoc({ summary: "The tenant's pending invitations (never their links)" })
  @Requires('read', 'User')
  async list(@CurrentPrincipal() p: Principal) {
    return { items: await this.invitations.list(p) };
  }

  @Delete(':id')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: 'Revoke a pending invitation: its link stops working' })
  @Requires('delete', 'User')
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.invitations.revoke(p, id);
  }

  // POST, not GET ?token=: the token is a credential and a query string lands in access logs.
  @Post('preview')
  @Public()
  @HttpCode(200)
  @ApiDoc({
    summary:
      'What an invitation link is for, before accepting it: the tenant, role and email, and its state ' +
      '(pending, accepted, revoked, expired); 404 for a token that names no invitation',
    body: Preview,
  })
  preview(@Body() body: unknown, @Req() req: Request) {
    return this.invitations.preview(parseInput(Preview, body).token, {
      ip: req.ip ?? req.socket.remoteAddress ?? null,
      userAgent: req.headers['user-agent'] ?? null,
    });
  }

  @Post('accept')
  @Public()
  @HttpCode(200)
  @ApiDoc({
    summary: "Accept an invitation: creates the account (or joins with an existing one's password) and signs in",
    body: Accept,
  })
  async accept(@Body() body: unknown, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const { token, view } = await this.invitations.accept(parseInput(Accept, body), {
      ip: req.ip ?? req.socket.remoteAddress ?? null,
      userAgent: req.headers['user-agent'] ?? null,
    });
    setSessionCookie(res, token, this.config);
    return view;
  }
}
