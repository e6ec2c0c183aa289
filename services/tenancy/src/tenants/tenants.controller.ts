import { Body, Controller, Get, Post } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { TenantsService } from './tenants.service.js';

const CreateTenant = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/, 'must be lower-case letters, digits, _ or -, up to 100'),
});

@Controller('api/v1')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  /** Platform admins only: a new tenant and its first admin API key (returned once). */
  @Post('tenants')
  @ApiDoc({ summary: 'Create a tenant and its first admin key (platform admins)', body: CreateTenant, status: 201 })
  @Requires('create', 'Tenant')
  create(@Body() body: unknown) {
    return this.tenants.create(parseInput(CreateTenant, body).name);
  }

  @Get('tenants')
  @Requires('manage', 'Tenant')
  async list() {
    return { items: await this.tenants.list() };
  }

  /** The caller's own tenant and identity (`key` is the API key or, for a session, the user). */
  @Get('whoami')
  async whoami(@CurrentPrincipal() p: Principal) {
    return {
      tenant: await this.tenants.get(p.tenantId),
      key: { id: p.credentialId, name: p.name, role: p.role },
      credential: p.credential,
      userId: p.userId,
    };
  }
}
