import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { JobDefinition } from '@baton/domain';
import type { RunEntity, TenantScope } from '@baton/persistence';
import { Completion } from './completion.js';
import type { CreateRunInput, Effects, FinishInput } from './effects.js';
import { EngineResources } from './engine-resources.js';
import { OperatorActions } from './operator-actions.js';
import { RunCreation } from './run-creation.js';

export * from './effects.js';

/**
 * The run state machine on the database, one system per lifecycle concern
 * (after trigger.dev's run engine): RunCreation, Completion (with readiness),
 * Compensation and OperatorActions share one EngineResources. Every method
 * runs inside the caller's transaction; every state write goes through the
 * TransitionStore, so a late or duplicated message cannot move a task
 * backwards. This facade is what the dispatcher, the command queue and the
 * REST services call.
 */
@Injectable()
export class RunEngine {
  constructor(
    private readonly r: EngineResources,
    private readonly creation: RunCreation,
    private readonly completion: Completion,
    private readonly operator: OperatorActions,
  ) {}

  createRun(m: EntityManager, scope: TenantScope, input: CreateRunInput) {
    return this.creation.createRun(m, scope, input);
  }

  createRuns(m: EntityManager, requests: ReadonlyArray<{ tenantId: string; jobId: string; input: CreateRunInput }>) {
    return this.creation.createRuns(m, requests);
  }

  startScheduled(m: EntityManager, runs: readonly RunEntity[], now: number) {
    return this.creation.startScheduled(m, runs, now);
  }

  rerun(m: EntityManager, run: RunEntity, mode: 'failed' | 'all', now: number): Promise<RunEntity> {
    return this.creation.rerun(m, run, mode, now);
  }

  finishAttempts(
    m: EntityManager,
    items: ReadonlyArray<{ attemptId: string; tenantId: string; result: FinishInput; agentId?: string }>,
  ): Promise<Effects> {
    return this.completion.finishAttempts(m, items);
  }

  advance(m: EntityManager, run: RunEntity, def: JobDefinition, now: number, fx?: Effects): Promise<Effects> {
    return this.completion.advance(m, run, def, now, fx);
  }

  cancelRun(m: EntityManager, run: RunEntity, reason: string, now: number): Promise<Effects> {
    return this.operator.cancelRun(m, run, reason, now);
  }

  markTask(m: EntityManager, run: RunEntity, key: string, state: 'succeeded' | 'skipped', now: number) {
    return this.operator.markTask(m, run, key, state, now);
  }

  lockRun(m: EntityManager, scope: TenantScope, runId: string): Promise<RunEntity | null> {
    return this.r.lockRun(m, scope, runId);
  }

  definition(m: EntityManager, run: RunEntity): Promise<JobDefinition> {
    return this.r.definition(m, run);
  }

  activeRuns(m: EntityManager, tenantId: string, jobId: string): Promise<RunEntity[]> {
    return this.r.activeRuns(m, tenantId, jobId);
  }
}
