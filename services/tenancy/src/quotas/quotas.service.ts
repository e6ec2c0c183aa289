import { Inject, Injectable } from '@nestjs/common';
import { MISSED_HEARTBEATS_UNHEALTHY, QUOTA_NAMES, QUOTA_UNITS, type QuotaLimits, type QuotaName } from '@baton/domain';
import {
  Database,
  TenantQuotaEntity,
  type TenantScope,
  findTenant,
  quotaLimits,
  quotaUse,
  scoped,
} from '@baton/persistence';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { type Principal, auditRecord } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException } from '@baton/http';

/** A change of quotas: a field left out keeps its value; null lifts the limit (the weight: back to 1). */
export type QuotaChange = Partial<Record<QuotaName | 'dispatchWeight', number | null>>;

export interface QuotaLine {
  name: QuotaName;
  /** null: not limited. */
  limit: number | null;
  /** In use now (runsPerMinute: tokens spent and not yet refilled). */
  used: number;
  unit: string;
}

/**
 * Quotas are set by platform admins (audited in the change's transaction, in
 * the tenant's log and the admin's own) and read by each tenant for itself,
 * each against what it uses now.
 */
@Injectable()
export class QuotasService {
  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  async view(scope: TenantScope) {
    const q = await scoped(this.db.manager, scope).findOne(TenantQuotaEntity, { where: {} });
    const limits = quotaLimits(q);
    const since = Date.now() - this.config.scheduler.heartbeatIntervalMs * MISSED_HEARTBEATS_UNHEALTHY - 5_000;
    const use = await quotaUse(this.db.manager, scope, since);
    const used = (name: QuotaName): number => {
      if (name === 'runsPerMinute') {
        return limits.runsPerMinute === null || use.runTokens === null
          ? 0
          : Math.max(0, Math.ceil(limits.runsPerMinute - use.runTokens));
      }
      // A backfill's size is checked when it is asked for; nothing holds it meanwhile.
      if (name === 'maxBackfillSize') return 0;
      return use[name];
    };
    const quotas: QuotaLine[] = QUOTA_NAMES.map((name) => ({
      name,
      limit: limits[name],
      used: used(name),
      unit: QUOTA_UNITS[name],
    }));
    return {
      tenantId: scope.tenantId,
      ...limits,
      dispatchWeight: q?.dispatchWeight ?? 1,
      usage: {
        jobs: use.maxJobs,
        concurrentRuns: use.maxConcurrentRuns,
        runningTasks: use.maxRunningTasks,
        cpuMillis: use.maxCpuMillis,
        memoryMb: use.maxMemoryMb,
        agents: use.maxAgents,
        runTokens: use.runTokens,
      },
      quotas,
      updatedAt: q ? new Date(q.updatedAt).toISOString() : null,
    };
  }

  async set(p: Principal, idOrName: string, change: QuotaChange) {
    const tenantId = await this.db.tx(async (m) => {
      // across tenants: platform admins address any tenant
      const tenant = await findTenant(m, idOrName);
      if (!tenant) throw ProblemException.notFound(`tenant ${idOrName}`);
      const quota = scoped(m, { tenantId: tenant.id });
      const current = await quota.findOne(TenantQuotaEntity, { where: {} });
      const before: QuotaLimits & { dispatchWeight: number | null } = {
        ...quotaLimits(current),
        dispatchWeight: current?.dispatchWeight ?? null,
      };
      const after = { ...before };
      for (const [k, v] of Object.entries(change) as Array<[keyof typeof before, number | null | undefined]>) {
        if (v !== undefined) after[k] = v;
      }
      await quota.upsert(TenantQuotaEntity, { tenantId: tenant.id, ...after, updatedAt: Date.now() }, ['tenantId']);
      const changed = Object.fromEntries(
        (Object.keys(after) as Array<keyof typeof after>)
          .filter((k) => after[k] !== before[k])
          .map((k) => [k, { from: before[k], to: after[k] }]),
      );
      const detail = { tenant: tenant.name, changed };
      await enqueueAudit(m, auditRecord(p, 'quota.changed', `tenant ${tenant.name} quota`, detail, tenant.id));
      if (tenant.id !== p.tenantId) {
        await enqueueAudit(m, auditRecord(p, 'quota.changed', `tenant ${tenant.name} quota`, detail));
      }
      return tenant.id;
    });
    this.relay.kick();
    return this.view({ tenantId });
  }
}
