import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import { AuditsItself, CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { TENANT_STATES } from '@baton/persistence';
import { TenantsService } from './tenants.service.js';

const CreateTenant = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/, 'must be lower-case letters, digits, _ or -, up to 100'),
});
const Suspend = z.strictObject({ reason: z.string().trim().min(1).max(300) });
const Delete_ = z.strictObject({ reason: z.string().trim().min(1).max(300).optional() });
const ListQuery = z.strictObject({ state: z.enum(TENANT_STATES).optional() });

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
  @ApiDoc({ summary: 'Every tenant with its state (platform admins); ?state=active|suspended|deleted' })
  @Requires('manage', 'Tenant')
  async list(@Query() query: unknown) {
    return { items: await this.tenants.list(parseInput(ListQuery, query).state) };
  }

  @Get('tenants/:tenant')
  @ApiDoc({ summary: 'One tenant by id or name (platform admins)' })
  @Requires('manage', 'Tenant')
  get(@Param('tenant') tenant: string) {
    return this.tenants.get(tenant);
  }

  @Post('tenants/:tenant/suspend')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Suspend a tenant: its calls get 403 with the reason, its triggers do not fire, its agents are refused',
    body: Suspend,
  })
  @Requires('manage', 'Tenant')
  @AuditsItself()
  suspend(@CurrentPrincipal() p: Principal, @Param('tenant') tenant: string, @Body() body: unknown) {
    return this.tenants.move(p, tenant, 'suspend', parseInput(Suspend, body).reason);
  }

  @Post('tenants/:tenant/resume')
  @HttpCode(200)
  @ApiDoc({ summary: 'Resume a suspended tenant' })
  @Requires('manage', 'Tenant')
  @AuditsItself()
  resume(@CurrentPrincipal() p: Principal, @Param('tenant') tenant: string) {
    return this.tenants.move(p, tenant, 'resume', null);
  }

  @Delete('tenants/:tenant')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Delete a tenant (soft: refused like a suspended one; its rows stay until purged)',
    body: Delete_,
  })
  @Requires('manage', 'Tenant')
  @AuditsItself()
  remove(@CurrentPrincipal() p: Principal, @Param('tenant') tenant: string, @Body() body: unknown) {
    return this.tenants.move(p, tenant, 'delete', parseInput(Delete_, body ?? {}).reason ?? 'deleted');
  }

  @Post('tenants/:tenant/purge')
  @HttpCode(200)
  @ApiDoc({ summary: 'Delete every row of a deleted tenant, for good (platform admins)' })
  @Requires('manage', 'Tenant')
  @AuditsItself()
  purge(@CurrentPrincipal() p: Principal, @Param('tenant') tenant: string) {
    return this.tenants.purge(p, tenant);
  }

  /** The caller's own tenant and identity (`key` is the API key or, for a session, the user). */
  @Get('whoami')
  async whoami(@CurrentPrincipal() p: Principal) {
    return {
      tenant: await this.tenants.get(p.tenantId),
      key: { id: p.credentialId, name: p.name, role: p.role },
      credential: p.credential,
      userId: p.userId,
      ...(p.actingFrom ? { actingFrom: p.actingFrom } : {}),
    };
  }
}
