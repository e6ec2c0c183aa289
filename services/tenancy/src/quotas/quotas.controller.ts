import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { Database, TaskRunEntity, TenantEntity, TenantQuotaEntity, type TenantScope } from '@baton/persistence';
import { ApiDoc, ProblemException, parseInput } from '@baton/http';
import { In } from 'typeorm';

const SetQuota = z.strictObject({
  maxRunningTasks: z.int().min(1).max(1_000_000).nullable(),
});

/** Tenant quotas: set by platform admins, read by every tenant for itself with its current usage. */
@Controller('api/v1')
export class QuotasController {
  constructor(private readonly db: Database) {}

  private async view(scope: TenantScope) {
    const q = await this.db.manager.findOne(TenantQuotaEntity, { where: { tenantId: scope.tenantId } });
    const running = await this.db.manager.count(TaskRunEntity, {
      where: { tenantId: scope.tenantId, state: In(['assigned', 'running']) },
    });
    return {
      maxRunningTasks: q?.maxRunningTasks ?? null,
      usage: { runningTasks: running },
      updatedAt: q ? new Date(q.updatedAt).toISOString() : null,
    };
  }

  @Get('quota')
  @ApiDoc({ summary: "The caller's tenant quota and current usage" })
  @Requires('read', 'Job')
  own(@CurrentPrincipal() p: Principal) {
    return this.view(p);
  }

  @Put('tenants/:id/quota')
  @ApiDoc({ summary: "Set a tenant's quota (platform admins; null = not limited)", body: SetQuota })
  @Requires('manage', 'Tenant')
  async set(@Param('id') id: string, @Body() body: unknown) {
    const cmd = parseInput(SetQuota, body);
    const tenant = await this.db.manager.findOne(TenantEntity, { where: { id } });
    if (!tenant) throw ProblemException.notFound(`tenant ${id}`);
    await this.db.tx((m) =>
      m.upsert(TenantQuotaEntity, { tenantId: id, maxRunningTasks: cmd.maxRunningTasks, updatedAt: Date.now() }, [
        'tenantId',
      ]),
    );
    return this.view({ tenantId: id });
  }
}
