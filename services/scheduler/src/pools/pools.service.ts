import { Injectable } from '@nestjs/common';
import { Database, PoolEntity, TaskRunEntity, type TenantScope, newId, poolSlotsInUse } from '@baton/persistence';
import { ProblemException } from '@baton/http';
import { Dispatcher } from '../engine/dispatcher.js';

const iso = (ms: number) => new Date(ms).toISOString();

@Injectable()
export class PoolsService {
  constructor(
    private readonly db: Database,
    private readonly dispatcher: Dispatcher,
  ) {}

  async put(scope: TenantScope, name: string, slots: number, description: string | null | undefined) {
    const now = Date.now();
    const created = await this.db.tx(async (m) => {
      const existing = await m.findOne(PoolEntity, { where: { tenantId: scope.tenantId, name } });
      if (existing) {
        await m.update(
          PoolEntity,
          { id: existing.id, tenantId: scope.tenantId },
          { slots, description: description === undefined ? existing.description : description, updatedAt: now },
        );
        return false;
      }
      const pool: PoolEntity = {
        id: newId(now),
        tenantId: scope.tenantId,
        name,
        slots,
        description: description ?? null,
        createdAt: now,
        updatedAt: now,
      };
      await m.insert(PoolEntity, pool);
      return true;
    });
    // More slots may let waiting tasks go.
    this.dispatcher.kick();
    return { created, pool: await this.get(scope, name) };
  }

  async list(scope: TenantScope) {
    const pools = await this.db.manager.find(PoolEntity, {
      where: { tenantId: scope.tenantId },
      order: { name: 'ASC' },
    });
    return { items: await this.views(scope, pools) };
  }

  async get(scope: TenantScope, name: string) {
    const pool = await this.db.manager.findOne(PoolEntity, { where: { tenantId: scope.tenantId, name } });
    if (!pool) throw ProblemException.notFound(`pool ${name}`);
    return (await this.views(scope, [pool]))[0]!;
  }

  async delete(scope: TenantScope, name: string) {
    const view = await this.get(scope, name);
    await this.db.tx((m) => m.delete(PoolEntity, { tenantId: scope.tenantId, name }));
    return view;
  }

  /** Pools with the slots their tasks hold and the tasks queued for them (two grouped queries for all of them). */
  private async views(scope: TenantScope, pools: readonly PoolEntity[]) {
    if (pools.length === 0) return [];
    const m = this.db.manager;
    const used = await poolSlotsInUse(m, scope, pools);
    const queued = await m
      .createQueryBuilder(TaskRunEntity, 't')
      .select('t.pool', 'pool')
      .addSelect('COUNT(*)', 'n')
      .where('t.tenant_id = :tenant', { tenant: scope.tenantId })
      .andWhere('t.pool IN (:...names)', { names: pools.map((p) => p.name) })
      .andWhere('t.state = :s', { s: 'queued' })
      .groupBy('t.pool')
      .getRawMany<{ pool: string; n: string | number }>();
    const waiting = new Map(queued.map((q) => [q.pool, Number(q.n)]));
    return pools.map((p) => ({
      name: p.name,
      slots: p.slots,
      usedSlots: used.get(p.name) ?? 0,
      queuedTasks: waiting.get(p.name) ?? 0,
      description: p.description,
      createdAt: iso(p.createdAt),
      updatedAt: iso(p.updatedAt),
    }));
  }
}
