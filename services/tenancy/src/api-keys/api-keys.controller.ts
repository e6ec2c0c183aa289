import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, ROLES, Requires } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { parseDuration } from '@baton/domain';
import { ApiKeysService } from './api-keys.service.js';

const CreateApiKey = z
  .strictObject({
    name: z.string().min(1).max(100),
    role: z.enum(ROLES).default('developer'),
    /** When the key stops working: an ISO time, or `expiresIn` as a duration ("90d"); neither: never. */
    expiresAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time' }).optional(),
    expiresIn: z
      .string()
      .refine((v) => (parseDuration(v) ?? 0) > 0, 'must be a duration such as 30d or 12h')
      .optional(),
  })
  .refine((b) => !(b.expiresAt && b.expiresIn), {
    path: ['expiresIn'],
    message: 'give expiresAt or expiresIn, not both',
  })
  .refine((b) => !b.expiresAt || Date.parse(b.expiresAt) > Date.now(), {
    path: ['expiresAt'],
    message: 'must be in the future',
  });

@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiDoc({ summary: 'Issue an API key with a role (returned once)', body: CreateApiKey, status: 201 })
  @Requires('create', 'ApiKey')
  create(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    const cmd = parseInput(CreateApiKey, body);
    const expiresAt = cmd.expiresAt
      ? Date.parse(cmd.expiresAt)
      : cmd.expiresIn
        ? Date.now() + parseDuration(cmd.expiresIn)!
        : null;
    return this.keys.create(p, cmd.name, cmd.role, expiresAt);
  }

  @Get()
  @Requires('read', 'ApiKey')
  async list(@CurrentPrincipal() p: Principal) {
    return { items: await this.keys.list(p) };
  }

  @Delete(':id')
  @HttpCode(200)
  @Requires('delete', 'ApiKey')
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.keys.revoke(p, id);
  }
}
