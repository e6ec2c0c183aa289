import { Injectable } from '@nestjs/common';
import { type EntityManager, In } from 'typeorm';
import { type JobDefinition, type TaskState, downstreamOf, isRunFinished, resolveReadiness } from '@baton/domain';
import {
  JobEntity,
  JobVersionEntity,
  RunEntity,
  TaskRunEntity,
  type TenantScope,
  newId,
  scoped,
  scopedTo,
} from '@baton/persistence';
import { enqueueEvent, enqueueEvents, topic } from '@baton/bus';
import { ProblemException } from '@baton/http';
import {
  batonMetrics,
  creationTraceparent,
  currentTraceparent,
  runEventHeaders,
  runTraceparent,
} from '@baton/telemetry';
import { Completion } from './completion.js';
import type { CreateRunInput } from './effects.js';
import { EngineResources } from './engine-resources.js';

/** What the tasks of a new run start as, all pending (roots queued; without conditions), worked out once a definition. */
const starting = new WeakMap<JobDefinition, Record<string, TaskState>>();
function startingStates(def: JobDefinition): Record<string, TaskState> {
  let decided = starting.get(def);
  if (!decided) {
    decided = resolveReadiness(def.tasks, Object.fromEntries(def.tasks.map((t) => [t.key, 'pending' as TaskState])));
    starting.set(def, decided);
  }
  return decided;
}

/**
 * Creation: a run of a job's current version (one, or a second's worth of
 * trigger requests in bulk) and reruns of a finished run; each pins its
 * version, honours the job's maxActiveRuns and queues its roots.
 */
@Injectable()
export class RunCreation {
  constructor(
    private readonly r: EngineResources,
    private readonly completion: Completion,
  ) {}

  async createRun(
    m: EntityManager,
    scope: TenantScope,
    input: CreateRunInput,
  ): Promise<{ run: RunEntity; created: boolean }> {
    const existing = await scoped(m, scope).findOne(RunEntity, { where: { dedupeKey: input.dedupeKey } });
    if (existing) return { run: existing, created: false };
    const job = await scoped(m, scope).findOne(JobEntity, { where: { name: input.jobName } });
    if (!job) throw ProblemException.notFound(`job ${input.jobName}`);
    const version = await scoped(m, scope).findOneOrFail(JobVersionEntity, {
      where: { jobId: job.id, version: job.currentVersion },
    });
    const def = version.definition;
    const now = Date.now();
    let state = input.initialState ?? 'running';
    // A job's maxActiveRuns: the run waits in the job's queue until one of its running runs ends.
    if (state === 'running' && (await this.r.runRoom(m, scope.tenantId, job.id, def)) <= 0) state = 'queued';
    // The tenant's maxConcurrentRuns quota: the run waits (reason tenant_quota) until one of its runs ends.
    let queuedBy: 'tenant_quota' | null = null;
    if (state === 'running' && (await this.r.tenantRunRoom(m, scope.tenantId)) <= 0) {
      state = 'queued';
      queuedBy = 'tenant_quota';
    }
    const run: RunEntity = { ...this.newRun(scope.tenantId, job, version, def, input, state, now), queuedBy };
    await scoped(m, scope).insert(RunEntity, run as never);
    this.r.db.afterCommit(m, () => batonMetrics().runCreated(run));
    await this.insertTasks(m, run, def, new Map(), now);
    if (run.state === 'running') await this.completion.advance(m, run, def, now);
    await enqueueEvent(m, {
      topic: topic('run-events'),
      type: 'run.created',
      key: scope.tenantId,
      tenantId: scope.tenantId,
      headers: runEventHeaders(run),
      payload: {
        tenantId: scope.tenantId,
        runId: run.id,
        jobName: run.jobName,
        jobVersionId: run.jobVersionId,
        dedupeKey: run.dedupeKey,
      },
    });
    return { run, created: true };
  }

  /**
   * Many runs in one go (a second's worth of cron slots): one read of the
   * existing dedupe keys, jobs and versions, multi-row inserts of runs, tasks
   * and events. Returns each request's run, new or existing, by
   * `tenant|dedupeKey`; requests whose job is gone are left out.
   */
  async createRuns(
    m: EntityManager,
    requests: ReadonlyArray<{ tenantId: string; jobId: string; input: CreateRunInput }>,
  ): Promise<Map<string, RunEntity>> {
    const out = new Map<string, RunEntity>();
    const k = (tenantId: string, dedupeKey: string) => `${tenantId}|${dedupeKey}`;
    if (requests.length === 0) return out;
    const batch = scopedTo(
      m,
      requests.map((r) => r.tenantId),
    );
    const keys = [...new Set(requests.map((r) => r.input.dedupeKey))];
    for (let i = 0; i < keys.length; i += 500) {
      for (const r of await batch.find(RunEntity, { where: { dedupeKey: In(keys.slice(i, i + 500)) } }))
        out.set(k(r.tenantId, r.dedupeKey), r);
    }
    const jobIds = [...new Set(requests.map((r) => r.jobId))];
    const jobs = new Map<string, JobEntity>();
    for (let i = 0; i < jobIds.length; i += 500) {
      for (const j of await batch.find(JobEntity, { where: { id: In(jobIds.slice(i, i + 500)) } })) jobs.set(j.id, j);
    }
    const versions = new Map<string, JobVersionEntity>();
    const wanted = [...jobs.values()];
    for (let i = 0; i < wanted.length; i += 200) {
      const part = wanted.slice(i, i + 200);
      const params: Record<string, unknown> = {};
      const which = part.map((j, n) => {
        params[`j${n}`] = j.id;
        params[`v${n}`] = j.currentVersion;
        return `(v.job_id = :j${n} AND v.version = :v${n})`;
      });
      for (const v of await batch.query(JobVersionEntity, 'v', which.join(' OR '), params).getMany()) {
        versions.set(v.jobId, v);
      }
    }
    const now = Date.now();
    const runs: RunEntity[] = [];
    const tasks: TaskRunEntity[] = [];
    const needAdvance: Array<{ run: RunEntity; def: JobDefinition }> = [];
    const room = new Map<string, number>();
    for (const jobId of [...jobs.keys()].sort()) {
      const job = jobs.get(jobId)!;
      const version = versions.get(jobId);
      if (version) room.set(jobId, await this.r.runRoom(m, job.tenantId, jobId, version.definition));
    }
    // The tenants' maxConcurrentRuns quotas, read once a batch (runs created scheduled take no room yet).
    const tenantRoom = await this.r.tenantRunRooms(
      m,
      requests.filter((r) => r.input.initialState !== 'scheduled').map((r) => r.tenantId),
    );
    for (const { tenantId, jobId, input } of requests) {
      if (out.has(k(tenantId, input.dedupeKey))) continue;
      const job = jobs.get(jobId);
      const version = versions.get(jobId);
      if (!job || !version || job.tenantId !== tenantId) continue;
      const def = this.r.defs.prime(version.id, version.definition);
      if (input.initialState === 'scheduled') {
        const run = this.newRun(tenantId, job, version, def, input, 'scheduled', now);
        out.set(k(tenantId, input.dedupeKey), run);
        runs.push(run);
        for (const t of def.tasks) tasks.push(this.newTask(run, t, 'pending', now));
        continue;
      }
      const left = room.get(jobId) ?? Infinity;
      const tenantLeft = tenantRoom.get(tenantId) ?? Infinity;
      const waits = left <= 0 || tenantLeft <= 0;
      if (!waits) {
        room.set(jobId, left - 1);
        tenantRoom.set(tenantId, tenantLeft - 1);
      }
      const run: RunEntity = {
        ...this.newRun(tenantId, job, version, def, input, waits ? 'queued' : 'running', now),
        queuedBy: left > 0 && tenantLeft <= 0 ? 'tenant_quota' : null,
      };
      out.set(k(tenantId, input.dedupeKey), run);
      runs.push(run);
      // Roots are queued right away unless a condition has to be evaluated first (or the run waits its turn).
      const conditional = def.tasks.some((t) => t.when && t.dependsOn.length === 0);
      const decided = conditional || waits ? {} : startingStates(def);
      if (conditional && !waits) needAdvance.push({ run, def });
      for (const t of def.tasks) tasks.push(this.newTask(run, t, decided[t.key] ?? 'pending', now));
    }
    for (let i = 0; i < runs.length; i += 200) await batch.insert(RunEntity, runs.slice(i, i + 200) as never);
    if (runs.length > 0) this.r.db.afterCommit(m, () => runs.forEach((run) => batonMetrics().runCreated(run)));
    await batch.insert(TaskRunEntity, tasks);
    await enqueueEvents(
      m,
      runs.map((run) => ({
        topic: topic('run-events'),
        type: 'run.created',
        key: run.tenantId,
        tenantId: run.tenantId,
        headers: runEventHeaders(run),
        payload: {
          tenantId: run.tenantId,
          runId: run.id,
          jobName: run.jobName,
          jobVersionId: run.jobVersionId,
          dedupeKey: run.dedupeKey,
        },
      })),
    );
    for (const { run, def } of needAdvance) await this.completion.advance(m, run, def, now);
    return out;
  }

  /**
   * Runs created ahead of their slot (`scheduled`) whose slot has come, of
   * many tenants, locked by the caller: each takes its job's room
   * (maxActiveRuns) and its tenant's (maxConcurrentRuns) now, as a run created
   * at this instant would, or waits in that queue; the started ones queue
   * their roots in one statement per distinct set of starting tasks.
   */
  async startScheduled(
    m: EntityManager,
    runs: readonly RunEntity[],
    now: number,
  ): Promise<{ started: RunEntity[]; queued: RunEntity[] }> {
    const due = runs.filter((r) => r.state === 'scheduled');
    const defs = await this.r.defs.getMany(m, due);
    const room = new Map<string, number>();
    for (const run of [...due].sort((a, b) => (a.jobId < b.jobId ? -1 : 1))) {
      const def = defs.get(run.jobVersionId);
      if (def && !room.has(run.jobId)) room.set(run.jobId, await this.r.runRoom(m, run.tenantId, run.jobId, def));
    }
    const tenantRoom = await this.r.tenantRunRooms(
      m,
      due.map((r) => r.tenantId),
    );
    const started: RunEntity[] = [];
    const byJob: RunEntity[] = [];
    const byTenant: RunEntity[] = [];
    for (const run of due) {
      const left = room.get(run.jobId) ?? Infinity;
      const tenantLeft = tenantRoom.get(run.tenantId) ?? Infinity;
      if (left <= 0) byJob.push(run);
      else if (tenantLeft <= 0) byTenant.push(run);
      else {
        room.set(run.jobId, left - 1);
        tenantRoom.set(run.tenantId, tenantLeft - 1);
        started.push(run);
      }
    }
    await this.r.moves.runsAcross(m, started, ['scheduled'], 'running', { startedAt: now });
    await this.r.moves.runsAcross(m, byJob, ['scheduled'], 'queued');
    await this.r.moves.runsAcross(m, byTenant, ['scheduled'], 'queued', { queuedBy: 'tenant_quota' });
    for (const run of started) Object.assign(run, { state: 'running', startedAt: now });
    for (const run of byJob) run.state = 'queued';
    for (const run of byTenant) Object.assign(run, { state: 'queued', queuedBy: 'tenant_quota' });
    // Runs whose starting tasks are the same (runs of one job, or of jobs shaped alike) move them together.
    const groups = new Map<string, { decided: Record<string, TaskState>; runs: RunEntity[] }>();
    const conditional: Array<{ run: RunEntity; def: JobDefinition }> = [];
    for (const run of started) {
      const def = defs.get(run.jobVersionId)!;
      if (def.tasks.some((t) => t.when && t.dependsOn.length === 0)) {
        conditional.push({ run, def });
        continue;
      }
      const decided = startingStates(def);
      const key = JSON.stringify(decided);
      const g = groups.get(key) ?? { decided, runs: [] };
      g.runs.push(run);
      groups.set(key, g);
    }
    for (const { decided, runs: group } of groups.values()) {
      const byState = new Map<TaskState, string[]>();
      for (const [key, state] of Object.entries(decided)) byState.set(state, [...(byState.get(state) ?? []), key]);
      for (const [state, keys] of byState) {
        await this.r.moves.tasksAcross(
          m,
          group,
          keys,
          ['pending'],
          state,
          state === 'queued' ? { readyAt: now, updatedAt: now } : { finishedAt: now, updatedAt: now },
        );
      }
    }
    for (const { run, def } of conditional) await this.completion.advance(m, run, def, now);
    if (started.length > 0) this.r.db.afterCommit(m, () => started.forEach((run) => batonMetrics().runStarted(run)));
    return { started, queued: [...byJob, ...byTenant] };
  }

  private newRun(
    tenantId: string,
    job: JobEntity,
    version: JobVersionEntity,
    def: JobDefinition,
    input: CreateRunInput,
    state: RunEntity['state'],
    now: number,
  ): RunEntity {
    return {
      id: newId(now),
      tenantId,
      jobId: job.id,
      jobName: job.name,
      jobVersion: version.version,
      jobVersionId: version.id,
      state,
      logicalDate: input.logicalDate,
      params: { ...def.params, ...input.params },
      dedupeKey: input.dedupeKey,
      triggerType: input.triggerType,
      triggerId: input.triggerId,
      createdAt: now,
      startedAt: state === 'running' ? now : null,
      finishedAt: null,
      backfillId: input.backfillId ?? null,
      parentRunId: null,
      traceparent: creationTraceparent(input.traceparent, {
        'cicd.pipeline.name': job.name,
        'baton.tenant': tenantId,
      }),
      taskEpoch: 0,
      queuedBy: null,
    };
  }

  private newTask(run: RunEntity, t: JobDefinition['tasks'][number], state: TaskState, now: number): TaskRunEntity {
    return {
      id: newId(now),
      tenantId: run.tenantId,
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
      finishedAt: state === 'queued' || state === 'pending' ? null : now,
      updatedAt: now,
      pool: t.pool ?? null,
      poolSlots: t.poolSlots ?? 1,
    };
  }

  /**
   * A rerun is a new run of the same pinned version and logical date. `failed`
   * re-executes the tasks that did not succeed and everything downstream of
   * them, carrying the others' results over; `all` re-executes every task.
   */
  async rerun(m: EntityManager, run: RunEntity, mode: 'failed' | 'all', now: number): Promise<RunEntity> {
    if (!isRunFinished(run.state)) {
      throw ProblemException.conflict(`run ${run.id} is still ${run.state}; cancel it first or wait for it to finish`);
    }
    const def = await this.r.definition(m, run);
    const rows = await scoped(m, run).find(TaskRunEntity, { where: { runId: run.id } });
    const carried = new Map<string, TaskRunEntity>();
    if (mode === 'failed') {
      const redo = new Set<string>();
      for (const t of rows) {
        if (t.state !== 'succeeded' && t.state !== 'skipped') {
          redo.add(t.taskKey);
          for (const d of downstreamOf(def.tasks, t.taskKey)) redo.add(d);
        }
      }
      if (redo.size === 0) throw ProblemException.conflict(`run ${run.id} has no failed tasks to rerun`);
      for (const t of rows) if (!redo.has(t.taskKey)) carried.set(t.taskKey, t);
    }
    const n = await scoped(m, run).count(RunEntity, { where: { parentRunId: run.id } });
    const jobWaits = (await this.r.runRoom(m, run.tenantId, run.jobId, def)) <= 0;
    const tenantWaits = !jobWaits && (await this.r.tenantRunRoom(m, run.tenantId)) <= 0;
    const waits = jobWaits || tenantWaits;
    const next: RunEntity = {
      ...run,
      id: newId(now),
      state: waits ? 'queued' : 'running',
      dedupeKey: `rerun:${run.id}:${n + 1}`,
      triggerType: 'rerun',
      createdAt: now,
      startedAt: waits ? null : now,
      finishedAt: null,
      parentRunId: run.id,
      // A child of the call that asked for it, else of the run it reruns.
      traceparent: creationTraceparent(currentTraceparent() ?? runTraceparent(run)),
      taskEpoch: 0,
      queuedBy: tenantWaits ? 'tenant_quota' : null,
    };
    await scoped(m, run).insert(RunEntity, next as never);
    await this.insertTasks(m, next, def, carried, now);
    await this.completion.advance(m, next, def, now);
    await enqueueEvent(m, {
      topic: topic('run-events'),
      type: 'run.created',
      key: run.tenantId,
      tenantId: run.tenantId,
      headers: runEventHeaders(next),
      payload: {
        tenantId: run.tenantId,
        runId: next.id,
        jobName: run.jobName,
        jobVersionId: next.jobVersionId,
        dedupeKey: next.dedupeKey,
        parentRunId: run.id,
      },
    });
    return next;
  }

  /** Task rows of a new run: pending, or copied from a previous run (reruns keep what succeeded). */
  private async insertTasks(
    m: EntityManager,
    run: RunEntity,
    def: JobDefinition,
    carried: Map<string, TaskRunEntity>,
    now: number,
  ): Promise<void> {
    const rows: TaskRunEntity[] = def.tasks.map((t) => {
      const prev = carried.get(t.key);
      return {
        id: newId(now),
        tenantId: run.tenantId,
        runId: run.id,
        taskKey: t.key,
        state: prev ? prev.state : 'pending',
        priority: t.priority,
        readyAt: null,
        attemptsUsed: 0,
        currentAttemptId: null,
        exitCode: prev?.exitCode ?? null,
        output: prev?.output ?? null,
        error: prev ? `carried over from run ${prev.runId}` : null,
        startedAt: prev?.startedAt ?? null,
        finishedAt: prev?.finishedAt ?? null,
        updatedAt: now,
        pool: t.pool ?? null,
        poolSlots: t.poolSlots ?? 1,
      };
    });
    await scoped(m, run).insert(TaskRunEntity, rows);
  }
}
