import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { AgentTokensService } from './agent-tokens.service.js';

const CreateAgentToken = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 letters, digits, _ . or -')
    .default('agent'),
});

@Controller('api/v1/agent-tokens')
export class AgentTokensController {
  constructor(private readonly tokens: AgentTokensService) {}

  @Post()
  @ApiDoc({ summary: 'Issue an agent token (returned once)', body: CreateAgentToken, status: 201 })
  @Requires('create', 'AgentToken')
  create(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    const cmd = parseInput(CreateAgentToken, body);
    return this.tokens.create(p, cmd.name);
  }

  @Get()
  @Requires('read', 'AgentToken')
  async list(@CurrentPrincipal() p: Principal) {
    return { items: await this.tokens.list(p) };
  }

  @Delete(':id')
  @HttpCode(200)
  @Requires('delete', 'AgentToken')
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.tokens.revoke(p, id);
  }
}
