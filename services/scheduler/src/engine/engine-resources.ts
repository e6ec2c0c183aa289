import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, In, IsNull, Not } from 'typeorm';
import type { AttemptState, JobDefinition, TaskDefinition, TaskState } from '@baton/domain';
import {
  Database,
  JobEntity,
  RunEntity,
  TenantQuotaEntity,
  type TenantScope,
  TransitionStore,
  forUpdate,
  lockQuota,
  scoped,
  scopedTo,
} from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger } from '@baton/telemetry';
import { DefinitionCache } from './definitions.js';
import { ReadinessGate } from './readiness-gate.js';

/** Task definitions may carry fields newer than the stored version knew. */
export type TaskSpec = TaskDefinition & {
  retryOnLost?: boolean;
  compensate?: unknown;
};

export const LIVE: TaskState[] = ['assigned', 'running'];
export const LIVE_ATTEMPT: AttemptState[] = ['assigned', 'running'];

/**
 * What the engine's systems share: the database, the transition store (the
 * only writer of states), definitions, the condition gate, configuration and
 * the log, plus the reads every system needs (the run lock, a run's
 * definition, a job's room under maxActiveRuns).
 */
@Injectable()
export class EngineResources {
  readonly log: Logger;

  constructor(
    readonly db: Database,
    readonly moves: TransitionStore,
    readonly defs: DefinitionCache,
    readonly gate: ReadinessGate,
    @Inject(BATON_CONFIG) readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('scheduler');
  }

  async lockRun(m: EntityManager, scope: TenantScope, runId: string): Promise<RunEntity | null> {
    const q = scoped(m, scope).query(RunEntity, 'r', 'r.id = :id', { id: runId });
    return forUpdate(this.db, q).getOne();
  }

  /** Locks many runs of the tenants in one statement (in id order, so concurrent batches cannot deadlock). */
  async lockRuns(m: EntityManager, tenantIds: readonly string[], runIds: readonly string[]): Promise<RunEntity[]> {
    const out: RunEntity[] = [];
    const sorted = [...runIds].sort();
    for (let i = 0; i < sorted.length; i += 500) {
      const q = scopedTo(m, tenantIds)
        .query(RunEntity, 'r', 'r.id IN (:...ids)', { ids: sorted.slice(i, i + 500) })
        .orderBy('r.id', 'ASC');
      out.push(...(await forUpdate(this.db, q).getMany()));
    }
    return out;
  }

  definition(m: EntityManager, run: RunEntity): Promise<JobDefinition> {
    return this.defs.get(m, run.tenantId, run.jobVersionId);
  }

  /**
   * How many more runs of the job may start now under its `maxActiveRuns`
   * (Infinity when not limited). The job row is locked so that concurrent
   * creators count one after another.
   */
  async runRoom(
    m: EntityManager,
    tenantId: string,
    jobId: string,
    def: Pick<JobDefinition, 'maxActiveRuns'>,
  ): Promise<number> {
    if (def.maxActiveRuns === null || def.maxActiveRuns === undefined) return Infinity;
    const job = scoped(m, { tenantId }).query(JobEntity, 'j', 'j.id = :id', { id: jobId }).select('j.id');
    await forUpdate(this.db, job).getOne();
    const running = await scoped(m, { tenantId }).count(RunEntity, { where: { jobId, state: 'running' } });
    return def.maxActiveRuns - running;
  }

  /**
   * How many more of the tenant's runs may start now under its
   * `maxConcurrentRuns` quota (Infinity when not limited); the quota row is
   * locked so that concurrent creators count one after another.
   */
  async tenantRunRoom(m: EntityManager, tenantId: string): Promise<number> {
    // A plain read first: only tenants with the quota take the row lock (others' run creations never serialise).
    const q = await scoped(m, { tenantId }).findOne(TenantQuotaEntity, {
      where: {},
      select: { tenantId: true, maxConcurrentRuns: true },
    });
    if (!q || q.maxConcurrentRuns === null) return Infinity;
    const { maxConcurrentRuns } = await lockQuota(this.db, m, { tenantId });
    if (maxConcurrentRuns === null) return Infinity;
    return maxConcurrentRuns - (await scoped(m, { tenantId }).count(RunEntity, { where: { state: 'running' } }));
  }

  /**
   * The room of each tenant under its maxConcurrentRuns quota: one read of the
   * quotas for all of them; only tenants with the quota count their runs.
   */
  async tenantRunRooms(m: EntityManager, tenantIds: readonly string[]): Promise<Map<string, number>> {
    const unique = [...new Set(tenantIds)].sort();
    const out = new Map<string, number>(unique.map((t) => [t, Infinity]));
    const limited: string[] = [];
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await scopedTo(m, unique.slice(i, i + 500)).find(TenantQuotaEntity, {
        where: { maxConcurrentRuns: Not(IsNull()) },
        select: { tenantId: true },
      });
      limited.push(...rows.map((r) => r.tenantId));
    }
    for (const tenantId of limited.sort()) out.set(tenantId, await this.tenantRunRoom(m, tenantId));
    return out;
  }

  /** Runs of a job that are active (running or waiting in the overlap queue). */
  activeRuns(m: EntityManager, tenantId: string, jobId: string): Promise<RunEntity[]> {
    return scoped(m, { tenantId }).find(RunEntity, { where: { jobId, state: In(['running', 'queued']) } });
  }
}
