import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  type JobDefinition,
  type TaskState,
  canTransition,
  resolveReadiness,
  retryDelayMs,
  runOutcome,
  shouldRetry,
} from '@baton/domain';
import {
  AttemptEntity,
  Database,
  JobEntity,
  JobVersionEntity,
  RunEntity,
  TaskRunEntity,
  type TenantScope,
  newId,
} from '@baton/persistence';
import { type RunFinished, enqueueEvent, topic } from '@baton/bus';
import { ProblemException } from '@baton/http';
import { LOGGER, type Logger } from '@baton/telemetry';
import { DefinitionCache } from './definitions.js';

export interface CreateRunInput {
  jobName: string;
  params: Record<string, unknown>;
  logicalDate: number;
  dedupeKey: string;
  triggerType: string;
  triggerId: string | null;
}

export type AttemptOutcome = 'succeeded' | 'failed' | 'timed_out' | 'lost' | 'cancelled';

export interface FinishInput {
  state: AttemptOutcome;
  exitCode: number | null;
  error: string | null;
  output: string | null;
  at: number;
}

/** What a committed state change asks the dispatcher and timers to do next. */
export interface Effects {
  queued: boolean;
  retryAt: number | null;
  ignored: boolean;
}

const NONE: Effects = { queued: false, retryAt: null, ignored: true };

/**
 * The run state machine on the database. Every method runs inside the
 * caller's transaction; every write is a compare-and-set on the current state
 * checked by its row count, so a late or duplicated message cannot move a
 * task backwards. Work on one run is serialised by locking its run row.
 */
@Injectable()
export class RunEngine {
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly defs: DefinitionCache,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('scheduler');
  }

  async createRun(
    m: EntityManager,
    scope: TenantScope,
    input: CreateRunInput,
  ): Promise<{ run: RunEntity; created: boolean }> {
    const existing = await m.findOne(RunEntity, { where: { tenantId: scope.tenantId, dedupeKey: input.dedupeKey } });
    if (existing) return { run: existing, created: false };
    const job = await m.findOne(JobEntity, { where: { tenantId: scope.tenantId, name: input.jobName } });
    if (!job) throw ProblemException.notFound(`job ${input.jobName}`);
    const version = await m.findOneOrFail(JobVersionEntity, {
      where: { tenantId: scope.tenantId, jobId: job.id, version: job.currentVersion },
    });
    const def = version.definition;
    const now = Date.now();
    const run: RunEntity = {
      id: newId(now),
      tenantId: scope.tenantId,
      jobId: job.id,
      jobName: job.name,
      jobVersion: version.version,
      jobVersionId: version.id,
      state: 'running',
      logicalDate: input.logicalDate,
      params: { ...def.params, ...input.params },
      dedupeKey: input.dedupeKey,
      triggerType: input.triggerType,
      triggerId: input.triggerId,
      createdAt: now,
      startedAt: now,
      finishedAt: null,
    };
    await m.insert(RunEntity, run as never);
    const initial: Record<string, TaskState> = Object.fromEntries(
      def.tasks.map((t) => [t.key, 'pending' as TaskState]),
    );
    const decided = resolveReadiness(def.tasks, initial);
    const rows: TaskRunEntity[] = def.tasks.map((t) => {
      const state = decided[t.key] ?? 'pending';
      return {
        id: newId(now),
        tenantId: scope.tenantId,
        runId: run.id,
        taskKey: t.key,
        state,
        priority: t.priority,
        readyAt: state === 'queued' ? now : null,
        attemptsUsed: 0,
        currentAttemptId: null,
        exitCode: null,
        output: null,
        error: null,
        startedAt: null,
        finishedAt: state === 'queued' || !decided[t.key] ? null : now,
        updatedAt: now,
      };
    });
    for (let i = 0; i < rows.length; i += 500) await m.insert(TaskRunEntity, rows.slice(i, i + 500));
    await enqueueEvent(m, {
      topic: topic('run-events'),
      type: 'run.created',
      key: scope.tenantId,
      tenantId: scope.tenantId,
      payload: { tenantId: scope.tenantId, runId: run.id, jobName: run.jobName, dedupeKey: run.dedupeKey },
    });
    return { run, created: true };
  }

  private async lockRun(m: EntityManager, runId: string): Promise<RunEntity | null> {
    const q = m.createQueryBuilder(RunEntity, 'r').where('r.id = :id', { id: runId });
    if (this.db.dialect === 'mysql') q.setLock('pessimistic_write');
    return q.getOne();
  }

  /** Records an attempt's end and moves its task and run on. */
  async finishAttempt(m: EntityManager, attemptId: string, r: FinishInput): Promise<Effects> {
    const attempt = await m.findOne(AttemptEntity, { where: { id: attemptId } });
    if (!attempt) return NONE;
    const run = await this.lockRun(m, attempt.runId);
    if (!run) return NONE;
    const upd = await m
      .createQueryBuilder()
      .update(AttemptEntity)
      .set({ state: r.state, finishedAt: r.at, exitCode: r.exitCode, error: r.error, expiresAt: null })
      .where('id = :id AND state IN (:...live)', { id: attemptId, live: ['assigned', 'running'] })
      .execute();
    if ((upd.affected ?? 0) !== 1) return NONE; // duplicate or late result
    const task = await m.findOne(TaskRunEntity, { where: { id: attempt.taskRunId } });
    if (!task || task.currentAttemptId !== attemptId || (task.state !== 'running' && task.state !== 'assigned')) {
      this.log.warn('result of a superseded attempt ignored', { attemptId, task: attempt.taskKey });
      return NONE;
    }
    const def = await this.defs.get(m, run.tenantId, run.jobVersionId);
    const spec = def.tasks.find((t) => t.key === task.taskKey);
    let next: TaskState = r.state;
    let readyAt: number | null = null;
    if (r.state !== 'succeeded' && r.state !== 'cancelled' && spec) {
      const used = Math.max(task.attemptsUsed, 1);
      if (
        canTransition(r.state, 'up_for_retry') &&
        shouldRetry(spec.retry, used, r.state === 'failed' ? r.exitCode : null)
      ) {
        next = 'up_for_retry';
        readyAt = r.at + retryDelayMs(spec.retry, used, Math.random);
      }
    }
    const moved = await m
      .createQueryBuilder()
      .update(TaskRunEntity)
      .set({
        state: next,
        readyAt,
        exitCode: r.exitCode,
        error: r.error,
        output: r.state === 'succeeded' ? r.output : task.output,
        finishedAt: next === 'up_for_retry' ? null : r.at,
        updatedAt: r.at,
        currentAttemptId: next === 'up_for_retry' ? null : attemptId,
      })
      .where('id = :id AND state = :s AND current_attempt_id = :a', { id: task.id, s: task.state, a: attemptId })
      .execute();
    if ((moved.affected ?? 0) !== 1) return NONE;
    if (next === 'up_for_retry') return { queued: false, retryAt: readyAt, ignored: false };
    const queued = await this.advance(m, run, def, r.at);
    return { queued, retryAt: null, ignored: false };
  }

  /** Decides pending tasks whose upstream settled, and the run's end. */
  async advance(m: EntityManager, run: RunEntity, def: JobDefinition, now: number): Promise<boolean> {
    const rows = await m.find(TaskRunEntity, { where: { tenantId: run.tenantId, runId: run.id } });
    const states: Record<string, TaskState> = Object.fromEntries(rows.map((t) => [t.taskKey, t.state]));
    const decided = resolveReadiness(def.tasks, states);
    let queued = false;
    const byKey = new Map(rows.map((t) => [t.taskKey, t]));
    for (const [key, state] of Object.entries(decided)) {
      const row = byKey.get(key);
      if (!row) continue;
      const upd = await m
        .createQueryBuilder()
        .update(TaskRunEntity)
        .set({
          state,
          readyAt: state === 'queued' ? now : null,
          finishedAt: state === 'queued' ? null : now,
          updatedAt: now,
        })
        .where('id = :id AND state = :p', { id: row.id, p: 'pending' })
        .execute();
      if ((upd.affected ?? 0) === 1) {
        states[key] = state;
        if (state === 'queued') queued = true;
      }
    }
    const outcome = runOutcome(def.tasks, states);
    if (outcome !== 'running' && run.state === 'running') {
      const done = await m
        .createQueryBuilder()
        .update(RunEntity)
        .set({ state: outcome, finishedAt: now })
        .where('id = :id AND state = :s', { id: run.id, s: 'running' })
        .execute();
      if ((done.affected ?? 0) === 1) {
        const payload: RunFinished = { tenantId: run.tenantId, runId: run.id, jobName: run.jobName, state: outcome };
        await enqueueEvent(m, {
          topic: topic('run-events'),
          type: 'run.finished',
          key: run.tenantId,
          tenantId: run.tenantId,
          payload,
        });
        this.log.info('run finished', { runId: run.id, job: run.jobName, state: outcome });
      }
    }
    return queued;
  }
}
