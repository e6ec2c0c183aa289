import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { z } from 'zod';
import { AuditsItself, CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { QuotasService } from './quotas.service.js';

const limit = (max: number) => z.int().min(1).max(max).nullable().optional();

/** Fields left out keep their current value; null means not limited (or, for the weight, the default 1). */
const SetQuota = z.strictObject({
  maxJobs: limit(1_000_000),
  runsPerMinute: limit(1_000_000),
  maxConcurrentRuns: limit(1_000_000),
  maxRunningTasks: limit(1_000_000),
  maxCpuMillis: limit(1_000_000_000),
  maxMemoryMb: limit(1_000_000_000),
  maxAgents: limit(100_000),
  maxBackfillSize: limit(100_000),
  dispatchWeight: z.int().min(1).max(1_000).nullable().optional(),
});

/** Tenant quotas: set by platform admins, read by every tenant for itself with its current usage. */
@Controller('api/v1')
export class QuotasController {
  constructor(private readonly quotas: QuotasService) {}

  @Get('quota')
  @ApiDoc({ summary: "The caller's tenant quotas, each against what the tenant uses now" })
  @Requires('read', 'Job')
  own(@CurrentPrincipal() p: Principal) {
    return this.quotas.view(p);
  }

  @Put('tenants/:id/quota')
  @ApiDoc({
    summary: "Set a tenant's quotas and dispatch weight (platform admins; null = not limited; omitted = unchanged)",
    body: SetQuota,
  })
  @Requires('manage', 'Tenant')
  @AuditsItself()
  set(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.quotas.set(p, id, parseInput(SetQuota, body));
  }
}
