import { type EntityManager, In } from 'typeorm';
import { AttemptEntity, PoolEntity, TaskRunEntity } from './entities/index.js';
import type { TenantScope } from './scope.js';

export interface PoolUse {
  readonly slots: number;
  /** Slots taken by the tenant's tasks assigned or running in the pool. */
  readonly used: number;
}

/** The named pools of a tenant that exist, with the slots their tasks hold now (one indexed query each way). */
export async function poolUsage(
  m: EntityManager,
  scope: TenantScope,
  names: readonly string[],
): Promise<Map<string, PoolUse>> {
  const out = new Map<string, PoolUse>();
  const wanted = [...new Set(names)];
  if (wanted.length === 0) return out;
  const pools = await m.find(PoolEntity, { where: { tenantId: scope.tenantId, name: In(wanted) } });
  const used = await poolSlotsInUse(m, scope, pools);
  for (const p of pools) out.set(p.name, { slots: p.slots, used: used.get(p.name) ?? 0 });
  return out;
}

/** Slots held in each of the given pools by the tenant's tasks assigned or running. */
export async function poolSlotsInUse(
  m: EntityManager,
  scope: TenantScope,
  pools: ReadonlyArray<Pick<PoolEntity, 'name'>>,
): Promise<Map<string, number>> {
  if (pools.length === 0) return new Map();
  const rows = await m
    .createQueryBuilder(TaskRunEntity, 't')
    .select('t.pool', 'pool')
    .addSelect('SUM(t.pool_slots)', 'used')
    .where('t.tenant_id = :tenant', { tenant: scope.tenantId })
    .andWhere('t.pool IN (:...names)', { names: pools.map((p) => p.name) })
    .andWhere('t.state IN (:...live)', { live: ['assigned', 'running'] })
    .groupBy('t.pool')
    .getRawMany<{ pool: string; used: string | number | null }>();
  return new Map(rows.map((r) => [r.pool, Number(r.used ?? 0)]));
}

/** Attempts assigned to or running on each agent of a tenant, by agent id. */
export async function liveAttemptsByAgent(m: EntityManager, scope: TenantScope): Promise<Map<string, number>> {
  const rows = await m
    .createQueryBuilder(AttemptEntity, 'a')
    .select('a.agent_id', 'agentId')
    .addSelect('COUNT(*)', 'n')
    .where('a.tenant_id = :t', { t: scope.tenantId })
    .andWhere('a.state IN (:...s)', { s: ['assigned', 'running'] })
    .groupBy('a.agent_id')
    .getRawMany<{ agentId: string; n: string | number }>();
  return new Map(rows.map((r) => [r.agentId, Number(r.n)]));
}
