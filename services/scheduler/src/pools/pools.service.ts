import { Injectable } from '@nestjs/common';
import {
  Database,
  PoolEntity,
  TaskRunEntity,
  type TenantScope,
  newId,
  poolSlotsInUse,
  scoped,
} from '@baton/persistence';
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
      const existing = await scoped(m, scope).findOne(PoolEntity, { where: { name } });
      if (existing) {
        await scoped(m, scope).update(
          PoolEntity,
          { id: existing.id },
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
      await scoped(m, scope).insert(PoolEntity, pool);
      return true;
    });
    // More slots may let waiting tasks go.
    this.dispatcher.kick();
    return { created, pool: await this.get(scope, name) };
  }

  async list(scope: TenantScope) {
    const pools = await scoped(this.db.manager, scope).find(PoolEntity, { where: {}, order: { name: 'ASC' } });
    return { items: await this.views(scope, pools) };
  }

  async get(scope: TenantScope, name: string) {
    const pool = await scoped(this.db.manager, scope).findOne(PoolEntity, { where: { name } });
    if (!pool) throw ProblemException.notFound(`pool ${name}`);
    return (await this.views(scope, [pool]))[0]!;
  }

  async delete(scope: TenantScope, name: string) {
    const view = await this.get(scope, name);
    await this.db.tx((m) => scoped(m, scope).delete(PoolEntity, { name }));
    return view;
  }

  /** Pools with the slots their tasks hold and the tasks queued for them (two grouped queries for all of them). */
  private async views(scope: TenantScope, pools: readonly PoolEntity[]) {
    if (pools.length === 0) return [];
    const m = this.db.manager;
    const used = await poolSlotsInUse(m, scope, pools);
    const queued = await scoped(m, scope)
      .query(TaskRunEntity, 't', 't.pool IN (:...names) AND t.state = :s', {
        names: pools.map((p) => p.name),
        s: 'queued',
      })
      .select('t.pool', 'pool')
      .addSelect('COUNT(*)', 'n')
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
