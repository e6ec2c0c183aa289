import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, ROLES, Requires } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { ApiKeysService } from './api-keys.service.js';

const CreateApiKey = z.strictObject({
  name: z.string().min(1).max(100),
  role: z.enum(ROLES).default('developer'),
});

@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiDoc({ summary: 'Issue an API key with a role (returned once)', body: CreateApiKey, status: 201 })
  @Requires('create', 'ApiKey')
  create(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    const cmd = parseInput(CreateApiKey, body);
    return this.keys.create(p, cmd.name, cmd.role);
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
