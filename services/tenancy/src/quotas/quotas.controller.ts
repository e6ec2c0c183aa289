import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { Database, TaskRunEntity, TenantEntity, TenantQuotaEntity, type TenantScope, scoped } from '@baton/persistence';
import { ApiDoc, ProblemException, parseInput } from '@baton/http';
import { In } from 'typeorm';

/** Fields left out keep their current value; null means not limited (or, for the weight, the default 1). */
const SetQuota = z.strictObject({
  maxRunningTasks: z.int().min(1).max(1_000_000).nullable().optional(),
  dispatchWeight: z.int().min(1).max(1_000).nullable().optional(),
});

/** Tenant quotas: set by platform admins, read by every tenant for itself with its current usage. */
@Controller('api/v1')
export class QuotasController {
  constructor(private readonly db: Database) {}

  private async view(scope: TenantScope) {
    const q = await scoped(this.db.manager, scope).findOne(TenantQuotaEntity, { where: {} });
    const running = await scoped(this.db.manager, scope).count(TaskRunEntity, {
      where: { state: In(['assigned', 'running']) },
    });
    return {
      maxRunningTasks: q?.maxRunningTasks ?? null,
      dispatchWeight: q?.dispatchWeight ?? 1,
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
  @ApiDoc({
    summary: "Set a tenant's quota and dispatch weight (platform admins; null = not limited; omitted = unchanged)",
    body: SetQuota,
  })
  @Requires('manage', 'Tenant')
  async set(@Param('id') id: string, @Body() body: unknown) {
    const cmd = parseInput(SetQuota, body);
    const tenant = await this.db.manager.findOne(TenantEntity, { where: { id } });
    if (!tenant) throw ProblemException.notFound(`tenant ${id}`);
    await this.db.tx(async (m) => {
      const quota = scoped(m, { tenantId: id });
      const current = await quota.findOne(TenantQuotaEntity, { where: {} });
      await quota.upsert(
        TenantQuotaEntity,
        {
          tenantId: id,
          maxRunningTasks: cmd.maxRunningTasks === undefined ? (current?.maxRunningTasks ?? null) : cmd.maxRunningTasks,
          dispatchWeight: cmd.dispatchWeight === undefined ? (current?.dispatchWeight ?? null) : cmd.dispatchWeight,
          updatedAt: Date.now(),
        },
        ['tenantId'],
      );
    });
    return this.view({ tenantId: id });
  }
}
