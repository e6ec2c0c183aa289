import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, In } from 'typeorm';
import {
  type AttemptState,
  type JobDefinition,
  type TaskDefinition,
  type TaskState,
  canTransition,
  downstreamOf,
  isTerminalTaskState,
  resolveReadiness,
  retryDelayMs,
  runOutcome,
  shouldRetry,
  topologicalOrder,
} from '@baton/domain';
import {
  AttemptEntity,
  Database,
  JobEntity,
  JobVersionEntity,
  RunEntity,
  TaskRunEntity,
  type TenantScope,
  TransitionStore,
  newId,
} from '@baton/persistence';
import { type RunFinished, enqueueEvent, enqueueEvents, topic } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException } from '@baton/http';
import { LOGGER, type Logger, childTraceparent } from '@baton/telemetry';
import { DefinitionCache, taskOf } from './definitions.js';
import { ReadinessGate } from './readiness-gate.js';
import { outputsOf } from './task-renderer.js';

export interface CreateRunInput {
  jobName: string;
  params: Record<string, unknown>;
  logicalDate: number;
  dedupeKey: string;
  triggerType: string;
  triggerId: string | null;
  backfillId?: string | null;
  /** `queued` waits for the job's active run to end (overlap policy `queue`). */
  initialState?: 'running' | 'queued';
  /** The caller's W3C trace context; the run becomes a span of that trace (else a new trace). */
  traceparent?: string | null;
}

export type AttemptOutcome = 'succeeded' | 'failed' | 'timed_out' | 'lost' | 'cancelled';

export interface FinishInput {
  state: AttemptOutcome;
  exitCode: number | null;
  error: string | null;
  output: string | null;
  at: number;
}

/** What became of a reported result: applied, or recorded and rejected with the reason. */
export type ResultDisposition =
  { accepted: true } | { accepted: false; rejection: 'stale' | 'foreign' | 'unknown'; detail: string };

/** What a committed state change asks the dispatcher, timers and agents to do next. */
export interface Effects {
  queued: boolean;
  retryAt: number | null;
  ignored: boolean;
  /** Attempts to stop on their agents (cancelled runs). */
  cancel: string[];
  finishedRun: RunFinished | null;
  /** A `tasks.queued` wake-up is already in this transaction's outbox. */
  wakeSent?: boolean;
  /** Per attempt id, what `finishAttempts` did with its result. */
  dispositions: Map<string, ResultDisposition>;
}

export const noEffects = (): Effects => ({
  queued: false,
  retryAt: null,
  ignored: true,
  cancel: [],
  finishedRun: null,
  dispositions: new Map(),
});

const stale = (detail: string): ResultDisposition => ({ accepted: false, rejection: 'stale', detail });

/** Task definitions may carry fields newer than the stored version knew. */
type TaskSpec = TaskDefinition & {
  retryOnLost?: boolean;
  compensate?: unknown;
};

const LIVE: TaskState[] = ['assigned', 'running'];
const LIVE_ATTEMPT: AttemptState[] = ['assigned', 'running'];

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
    private readonly moves: TransitionStore,
    private readonly defs: DefinitionCache,
    private readonly gate: ReadinessGate,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
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
    let state = input.initialState ?? 'running';
    // A job's maxActiveRuns: the run waits in the job's queue until one of its running runs ends.
    if (state === 'running' && (await this.runRoom(m, scope.tenantId, job.id, def)) <= 0) state = 'queued';
    const run: RunEntity = {
      id: newId(now),
      tenantId: scope.tenantId,
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
      startedAt: state === 'queued' ? null : now,
      finishedAt: null,
      backfillId: input.backfillId ?? null,
      parentRunId: null,
      traceparent: childTraceparent(input.traceparent),
    };
    await m.insert(RunEntity, run as never);
    await this.insertTasks(m, run, def, new Map(), now);
    if (run.state === 'running') await this.advance(m, run, def, now);
    await enqueueEvent(m, {
      topic: topic('run-events'),
      type: 'run.created',
      key: scope.tenantId,
      tenantId: scope.tenantId,
      headers: run.traceparent ? { traceparent: run.traceparent } : undefined,
      payload: { tenantId: scope.tenantId, runId: run.id, jobName: run.jobName, dedupeKey: run.dedupeKey },
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
    const keys = [...new Set(requests.map((r) => r.input.dedupeKey))];
    for (let i = 0; i < keys.length; i += 500) {
      for (const r of await m.findBy(RunEntity, { dedupeKey: In(keys.slice(i, i + 500)) }))
        out.set(k(r.tenantId, r.dedupeKey), r);
    }
    const jobIds = [...new Set(requests.map((r) => r.jobId))];
    const jobs = new Map<string, JobEntity>();
    for (let i = 0; i < jobIds.length; i += 500) {
      for (const j of await m.findBy(JobEntity, { id: In(jobIds.slice(i, i + 500)) })) jobs.set(j.id, j);
    }
    const versions = new Map<string, JobVersionEntity>();
    const wanted = [...jobs.values()];
    for (let i = 0; i < wanted.length; i += 200) {
      const part = wanted.slice(i, i + 200);
      const q = m.createQueryBuilder(JobVersionEntity, 'v');
      part.forEach((j, n) =>
        q.orWhere(`(v.job_id = :j${n} AND v.version = :v${n})`, { [`j${n}`]: j.id, [`v${n}`]: j.currentVersion }),
      );
      for (const v of await q.getMany()) versions.set(v.jobId, v);
    }
    const now = Date.now();
    const runs: RunEntity[] = [];
    const tasks: TaskRunEntity[] = [];
    const needAdvance: Array<{ run: RunEntity; def: JobDefinition }> = [];
    const room = new Map<string, number>();
    for (const jobId of [...jobs.keys()].sort()) {
      const job = jobs.get(jobId)!;
      const version = versions.get(jobId);
      if (version) room.set(jobId, await this.runRoom(m, job.tenantId, jobId, version.definition));
    }
    for (const { tenantId, jobId, input } of requests) {
      if (out.has(k(tenantId, input.dedupeKey))) continue;
      const job = jobs.get(jobId);
      const version = versions.get(jobId);
      if (!job || !version || job.tenantId !== tenantId) continue;
      const def = this.defs.prime(version.id, version.definition);
      const left = room.get(jobId) ?? Infinity;
      const waits = left <= 0;
      if (!waits) room.set(jobId, left - 1);
      const run: RunEntity = {
        id: newId(now),
        tenantId,
        jobId,
        jobName: job.name,
        jobVersion: version.version,
        jobVersionId: version.id,
        state: waits ? 'queued' : 'running',
        logicalDate: input.logicalDate,
        params: { ...def.params, ...input.params },
        dedupeKey: input.dedupeKey,
        triggerType: input.triggerType,
        triggerId: input.triggerId,
        createdAt: now,
        startedAt: waits ? null : now,
        finishedAt: null,
        backfillId: input.backfillId ?? null,
        parentRunId: null,
        traceparent: childTraceparent(input.traceparent),
      };
      out.set(k(tenantId, input.dedupeKey), run);
      runs.push(run);
      // Roots are queued right away unless a condition has to be evaluated first (or the run waits its turn).
      const conditional = def.tasks.some((t) => t.when && t.dependsOn.length === 0);
      const decided =
        conditional || waits
          ? {}
          : resolveReadiness(def.tasks, Object.fromEntries(def.tasks.map((t) => [t.key, 'pending' as TaskState])));
      if (conditional && !waits) needAdvance.push({ run, def });
      for (const t of def.tasks) {
        const state: TaskState = decided[t.key] ?? 'pending';
        tasks.push({
          id: newId(now),
          tenantId,
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
          finishedAt: state === 'queued' || !(t.key in decided) ? null : now,
          updatedAt: now,
          pool: t.pool ?? null,
          poolSlots: t.poolSlots ?? 1,
        });
      }
    }
    for (let i = 0; i < runs.length; i += 200) await m.insert(RunEntity, runs.slice(i, i + 200) as never);
    for (let i = 0; i < tasks.length; i += 500) await m.insert(TaskRunEntity, tasks.slice(i, i + 500));
    await enqueueEvents(
      m,
      runs.map((run) => ({
        topic: topic('run-events'),
        type: 'run.created',
        key: run.tenantId,
        tenantId: run.tenantId,
        headers: run.traceparent ? { traceparent: run.traceparent } : undefined,
        payload: { tenantId: run.tenantId, runId: run.id, jobName: run.jobName, dedupeKey: run.dedupeKey },
      })),
    );
    for (const { run, def } of needAdvance) await this.advance(m, run, def, now);
    return out;
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
    for (let i = 0; i < rows.length; i += 500) await m.insert(TaskRunEntity, rows.slice(i, i + 500));
  }

  async lockRun(m: EntityManager, runId: string): Promise<RunEntity | null> {
    const q = m.createQueryBuilder(RunEntity, 'r').where('r.id = :id', { id: runId });
    if (this.db.dialect === 'mysql') q.setLock('pessimistic_write');
    return q.getOne();
  }

  definition(m: EntityManager, run: RunEntity): Promise<JobDefinition> {
    return this.defs.get(m, run.tenantId, run.jobVersionId);
  }

  /** Records an attempt's end and moves its task and run on. */
  async finishAttempt(m: EntityManager, attemptId: string, r: FinishInput): Promise<Effects> {
    return this.finishAttempts(m, [{ attemptId, result: r }]);
  }

  /**
   * Records many attempts' ends in one transaction: each run is locked once
   * (in id order, so concurrent batches cannot deadlock) and advanced once,
   * however many of its tasks finished in the batch.
   */
  async finishAttempts(
    m: EntityManager,
    items: ReadonlyArray<{ attemptId: string; result: FinishInput; agentId?: string; tenantId?: string }>,
  ): Promise<Effects> {
    const fx = noEffects();
    if (items.length === 0) return fx;
    const attempts = new Map<string, AttemptEntity>();
    const ids = [...new Set(items.map((i) => i.attemptId))];
    for (let i = 0; i < ids.length; i += 500) {
      for (const a of await m.findBy(AttemptEntity, { id: In(ids.slice(i, i + 500)) })) attempts.set(a.id, a);
    }
    const byRun = new Map<string, Array<{ attempt: AttemptEntity; result: FinishInput }>>();
    for (const i of items) {
      const a = attempts.get(i.attemptId);
      // Another tenant's attempt does not exist for the sender.
      if (!a || (i.tenantId !== undefined && a.tenantId !== i.tenantId)) {
        fx.dispositions.set(i.attemptId, { accepted: false, rejection: 'unknown', detail: 'no such attempt' });
        continue;
      }
      // An agent reports only its own attempts (the attempt id is not a credential).
      if (i.agentId !== undefined && a.agentId !== i.agentId) {
        fx.dispositions.set(i.attemptId, {
          accepted: false,
          rejection: 'foreign',
          detail: 'the attempt was assigned to another agent',
        });
        continue;
      }
      const list = byRun.get(a.runId) ?? [];
      list.push({ attempt: a, result: i.result });
      byRun.set(a.runId, list);
    }
    for (const runId of [...byRun.keys()].sort()) {
      const run = await this.lockRun(m, runId);
      if (!run) {
        for (const { attempt } of byRun.get(runId)!) fx.dispositions.set(attempt.id, stale('the run is gone'));
        continue;
      }
      const def = await this.definition(m, run);
      const list = byRun.get(runId)!;
      let at = 0;
      for (const { result } of list) at = Math.max(at, result.at);
      const handled = new Set<string>();
      let advance = await this.applySuccesses(m, run, list, handled, fx);
      for (const { attempt, result } of list) {
        if (handled.has(attempt.id)) continue;
        if (await this.applyResult(m, run, def, attempt, result, fx)) advance = true;
      }
      if (advance) await this.advance(m, run, def, at, fx);
    }
    return fx;
  }

  /**
   * The hot path, in bulk: successes of live main attempts whose task still
   * points at them. Called under the run lock, so the states read here hold
   * until commit (an ack may still move an attempt assigned -> running, which
   * both updates accept). Everything else takes the per-attempt path.
   */
  private async applySuccesses(
    m: EntityManager,
    run: RunEntity,
    list: ReadonlyArray<{ attempt: AttemptEntity; result: FinishInput }>,
    handled: Set<string>,
    fx: Effects,
  ): Promise<boolean> {
    const candidates = list.filter((x) => x.result.state === 'succeeded' && x.attempt.kind !== 'compensation');
    if (candidates.length < 2) return false;
    const fresh = new Map<string, AttemptEntity>();
    const tasks = new Map<string, TaskRunEntity>();
    for (let i = 0; i < candidates.length; i += 500) {
      const part = candidates.slice(i, i + 500);
      const attemptRows = await m.findBy(AttemptEntity, {
        tenantId: run.tenantId,
        id: In(part.map((x) => x.attempt.id)),
      });
      for (const a of attemptRows) fresh.set(a.id, a);
      const taskRows = await m
        .createQueryBuilder(TaskRunEntity, 't')
        .select(['t.id', 't.state', 't.currentAttemptId'])
        .where('t.tenant_id = :tenant', { tenant: run.tenantId })
        .andWhereInIds(part.map((x) => x.attempt.taskRunId))
        .getMany();
      for (const t of taskRows) tasks.set(t.id, t);
    }
    // Group by what gets written, so a batch of noop successes is two statements.
    const groups = new Map<string, { r: FinishInput; attemptIds: string[]; taskIds: string[] }>();
    for (const { attempt, result } of candidates) {
      const a = fresh.get(attempt.id);
      const t = tasks.get(attempt.taskRunId);
      if (!a || !LIVE.includes(a.state as TaskState) || !t || t.currentAttemptId !== a.id || !LIVE.includes(t.state))
        continue;
      const key = JSON.stringify([result.exitCode, result.error, result.output, result.at]);
      const g = groups.get(key) ?? { r: result, attemptIds: [], taskIds: [] };
      g.attemptIds.push(a.id);
      g.taskIds.push(t.id);
      groups.set(key, g);
      handled.add(a.id);
      fx.dispositions.set(a.id, { accepted: true });
    }
    for (const { r, attemptIds, taskIds } of groups.values()) {
      // A success whose ACK was lost still proves the agent ran it: assigned -> running -> succeeded.
      await this.moves.attempts(
        m,
        run,
        { ids: attemptIds },
        LIVE_ATTEMPT,
        'succeeded',
        { finishedAt: r.at, exitCode: r.exitCode, error: r.error, expiresAt: null },
        'running',
      );
      await this.moves.tasks(
        m,
        run,
        { ids: taskIds, currentAttemptId: attemptIds },
        LIVE,
        'succeeded',
        { readyAt: null, exitCode: r.exitCode, error: r.error, output: r.output, finishedAt: r.at, updatedAt: r.at },
        'running',
      );
      fx.ignored = false;
    }
    return groups.size > 0;
  }

  /** One attempt's result; returns whether the run should be advanced. */
  private async applyResult(
    m: EntityManager,
    run: RunEntity,
    def: JobDefinition,
    attempt: AttemptEntity,
    r: FinishInput,
    fx: Effects,
  ): Promise<boolean> {
    const attemptId = attempt.id;
    const moved = await this.moves.attempts(
      m,
      run,
      { ids: [attemptId] },
      LIVE_ATTEMPT,
      r.state,
      { finishedAt: r.at, exitCode: r.exitCode, error: r.error, expiresAt: null },
      'running',
    );
    if (moved !== 1) {
      // A late or duplicate result: keep what the agent said, change nothing else.
      if (
        attempt.state !== r.state &&
        attempt.lateResult === null &&
        attempt.state !== 'assigned' &&
        attempt.state !== 'running'
      ) {
        await this.moves.touchAttempts(m, run, { ids: [attemptId] }, [attempt.state], {
          lateResult: JSON.stringify({ state: r.state, exitCode: r.exitCode, error: r.error, at: r.at }),
        });
      }
      fx.dispositions.set(attemptId, stale(`the attempt is already ${attempt.state}`));
      return false;
    }
    const task = await m.findOne(TaskRunEntity, { where: { tenantId: run.tenantId, id: attempt.taskRunId } });
    if (!task || task.currentAttemptId !== attemptId) {
      this.log.warn('result of a superseded attempt ignored', { attemptId, task: attempt.taskKey });
      fx.dispositions.set(attemptId, stale('the attempt was superseded by a newer one'));
      return false;
    }
    const spec = taskOf(def, task.taskKey) as TaskSpec | undefined;
    fx.ignored = false;
    if (attempt.kind === 'compensation') {
      if (task.state !== 'compensating') {
        fx.dispositions.set(attemptId, stale(`the task is ${task.state}`));
        return false;
      }
      fx.dispositions.set(attemptId, { accepted: true });
      await this.moves.tasks(
        m,
        run,
        { ids: [task.id] },
        ['compensating'],
        r.state === 'succeeded' ? 'compensated' : 'failed',
        {
          error: r.state === 'succeeded' ? task.error : `compensation ${r.state}: ${r.error ?? ''}`.trim(),
          currentAttemptId: null,
          updatedAt: r.at,
        },
      );
      await this.continueCompensation(m, run, def, r.at, fx);
      return false;
    }
    if (task.state !== 'running' && task.state !== 'assigned') {
      fx.dispositions.set(attemptId, stale(`the task is ${task.state}`));
      return false;
    }
    let next: TaskState = r.state;
    let readyAt: number | null = null;
    if (r.state !== 'succeeded' && r.state !== 'cancelled' && spec && run.state === 'running') {
      const used = Math.max(task.attemptsUsed, 1);
      // A lost attempt may still be running somewhere: only idempotent tasks are re-run blindly.
      const mayRetry = r.state !== 'lost' || spec.idempotent || spec.retryOnLost === true;
      if (
        mayRetry &&
        canTransition(r.state, 'up_for_retry') &&
        shouldRetry(spec.retry, used, r.state === 'failed' ? r.exitCode : null)
      ) {
        next = 'up_for_retry';
        readyAt = r.at + retryDelayMs(spec.retry, used, Math.random);
      }
    }
    // A retry is the failure and up_for_retry in one write; a result whose ACK was lost went through running.
    const taskMoved = await this.moves.tasks(
      m,
      run,
      { ids: [task.id] },
      [task.state],
      next,
      {
        readyAt,
        exitCode: r.exitCode,
        error: r.error,
        output: r.state === 'succeeded' ? r.output : task.output,
        finishedAt: next === 'up_for_retry' ? null : r.at,
        updatedAt: r.at,
        currentAttemptId: next === 'up_for_retry' ? null : attemptId,
      },
      next === 'up_for_retry' ? r.state : 'running',
    );
    if (taskMoved !== 1) {
      fx.dispositions.set(attemptId, stale('the task changed meanwhile'));
      return false;
    }
    fx.dispositions.set(attemptId, { accepted: true });
    if (next === 'up_for_retry') {
      fx.retryAt = fx.retryAt === null ? readyAt : Math.min(fx.retryAt, readyAt!);
      return false;
    }
    if (next === 'lost') {
      this.log.warn('attempt lost; task held for an operator (not idempotent)', { runId: run.id, task: task.taskKey });
    }
    return true;
  }

  /**
   * Decides pending tasks whose upstream settled, and the run's end. A task
   * held `lost` (not idempotent) counts as still running: its downstream and
   * the run wait for an operator to mark it.
   */
  async advance(
    m: EntityManager,
    run: RunEntity,
    def: JobDefinition,
    now: number,
    fx: Effects = noEffects(),
  ): Promise<Effects> {
    // Only what readiness needs: a run may hold 10,000 tasks.
    // A plain query, not entities: this is the hot read of every result batch.
    const rows = (await m.query('SELECT task_key, state FROM task_runs WHERE run_id = ?', [run.id])) as Array<{
      task_key: string;
      state: TaskState;
    }>;
    const states: Record<string, TaskState> = {};
    for (const t of rows) states[t.task_key] = t.state === 'lost' ? 'running' : t.state;
    let outputs: Promise<Record<string, unknown>> | null = null;
    const loadOutputs = () =>
      (outputs ??= m
        .find(TaskRunEntity, { where: { tenantId: run.tenantId, runId: run.id } })
        .then((all) => outputsOf(all)));
    if (run.state === 'running') {
      for (;;) {
        const decided = resolveReadiness(def.tasks, states);
        const keys = Object.keys(decided);
        if (keys.length === 0) break;
        // Decide each task (conditions only for tasks that have one), then write in bulk per outcome.
        const groups = new Map<string, { state: TaskState; error: string | null; keys: string[] }>();
        for (const key of keys) {
          let state: TaskState = decided[key]!;
          let error: string | null = null;
          if (state === 'queued' && taskOf(def, key)?.when) {
            // Conditions (`when:`) are decided when the task becomes ready.
            const verdict = await this.gate.check(run, def, key, loadOutputs);
            state = verdict.state;
            error = verdict.reason;
          }
          const g = `${state}\u0000${error ?? ''}`;
          const group = groups.get(g) ?? { state, error, keys: [] };
          group.keys.push(key);
          groups.set(g, group);
        }
        let changed = false;
        for (const { state, error, keys: part } of groups.values()) {
          for (let i = 0; i < part.length; i += 500) {
            const slice = part.slice(i, i + 500);
            // Under the run lock nothing else moves pending tasks, so every row matches.
            await this.moves.tasks(m, run, { runId: run.id, keys: slice }, ['pending'], state, {
              readyAt: state === 'queued' ? now : null,
              finishedAt: state === 'queued' ? null : now,
              error,
              updatedAt: now,
            });
          }
          for (const k of part) states[k] = state;
          changed = true;
          if (state === 'queued') fx.queued = true;
        }
        // A condition turned a ready task into a skip or a failure: its downstream may now be decided too.
        if (!changed || !keys.some((k) => states[k] === 'skipped' || states[k] === 'failed')) break;
      }
    }
    if (fx.queued && !fx.wakeSent && this.config.kafka.brokers !== null) {
      // Other replicas' agents may be the ones free to take the new work (one process needs no wake-up: it kicks itself).
      fx.wakeSent = true;
      await enqueueEvent(m, {
        topic: topic('task-events'),
        type: 'tasks.queued',
        key: run.tenantId,
        tenantId: run.tenantId,
        payload: { tenantId: run.tenantId, runId: run.id },
      });
    }
    const outcome = runOutcome(def.tasks, states);
    if (outcome === 'running' || run.state !== 'running') return fx;
    if (outcome === 'failed' && (await this.startCompensation(m, run, def, states, now, fx))) return fx;
    await this.finishRun(m, run, outcome, now, fx);
    return fx;
  }

  private async finishRun(
    m: EntityManager,
    run: RunEntity,
    state: 'succeeded' | 'failed' | 'cancelled',
    now: number,
    fx: Effects,
  ) {
    const done = await this.moves.runs(
      m,
      run,
      [run.id],
      state === 'cancelled' ? ['running', 'queued'] : ['running'],
      state,
      {
        finishedAt: now,
      },
    );
    if (done !== 1) return;
    run.state = state;
    const payload: RunFinished = { tenantId: run.tenantId, runId: run.id, jobName: run.jobName, state };
    await enqueueEvent(m, {
      topic: topic('run-events'),
      type: 'run.finished',
      key: run.tenantId,
      tenantId: run.tenantId,
      headers: run.traceparent ? { traceparent: run.traceparent } : undefined,
      payload: { ...payload, backfillId: run.backfillId, triggerId: run.triggerId, finishedAt: now },
    });
    fx.finishedRun = payload;
    this.log.info('run finished', { runId: run.id, job: run.jobName, state });
    await this.startNextQueued(m, run.tenantId, run.jobId, now, fx);
  }

  /** Overlap policy `queue`: the oldest queued run of the job starts when none is running. */
  /**
   * The job's queue of waiting runs (overlap policy `queue`, or `maxActiveRuns`):
   * the oldest start while the job has room (its `maxActiveRuns`, else one at a time).
   */
  private async startNextQueued(m: EntityManager, tenantId: string, jobId: string, now: number, fx: Effects) {
    for (;;) {
      const next = await m.findOne(RunEntity, {
        where: { tenantId, jobId, state: 'queued' },
        order: { createdAt: 'ASC' },
      });
      if (!next) return;
      const def = await this.definition(m, next);
      if ((await this.runRoom(m, tenantId, jobId, { maxActiveRuns: def.maxActiveRuns ?? 1 })) <= 0) return;
      if ((await this.moves.runs(m, next, [next.id], ['queued'], 'running', { startedAt: now })) !== 1) return;
      next.state = 'running';
      next.startedAt = now;
      await this.advance(m, next, def, now, fx);
      // A run that ended at once (every task skipped) started the next one itself.
      if (next.state !== 'running') return;
    }
  }

  /**
   * How many more runs of the job may start now under its `maxActiveRuns`
   * (Infinity when not limited). The job row is locked so that concurrent
   * creators count one after another.
   */
  private async runRoom(
    m: EntityManager,
    tenantId: string,
    jobId: string,
    def: Pick<JobDefinition, 'maxActiveRuns'>,
  ): Promise<number> {
    if (def.maxActiveRuns === null || def.maxActiveRuns === undefined) return Infinity;
    if (this.db.dialect === 'mysql') {
      await m
        .createQueryBuilder(JobEntity, 'j')
        .select('j.id')
        .where('j.tenant_id = :t AND j.id = :id', { t: tenantId, id: jobId })
        .setLock('pessimistic_write')
        .getOne();
    }
    const running = await m.count(RunEntity, { where: { tenantId, jobId, state: 'running' } });
    return def.maxActiveRuns - running;
  }

  /** Runs of a job that are active (running or waiting in the overlap queue). */
  activeRuns(m: EntityManager, tenantId: string, jobId: string): Promise<RunEntity[]> {
    return m.find(RunEntity, { where: { tenantId, jobId, state: In(['running', 'queued']) } });
  }

  /**
   * SAGA: when a run fails, the tasks that succeeded and name a `compensate`
   * task are compensated one at a time, in reverse topological order.
   */
  private async startCompensation(
    m: EntityManager,
    run: RunEntity,
    def: JobDefinition,
    states: Readonly<Record<string, TaskState>>,
    now: number,
    fx: Effects,
  ): Promise<boolean> {
    if (!def.tasks.some((t) => t.compensate && states[t.key] === 'succeeded')) return false;
    return this.continueCompensation(m, run, def, now, fx);
  }

  private async continueCompensation(m: EntityManager, run: RunEntity, def: JobDefinition, now: number, fx: Effects) {
    const rows = await m.find(TaskRunEntity, { where: { tenantId: run.tenantId, runId: run.id } });
    if (rows.some((t) => t.state === 'compensating')) return true;
    const order = topologicalOrder(def.tasks).reverse();
    const byKey = new Map(rows.map((t) => [t.taskKey, t]));
    for (const key of order) {
      const spec = taskOf(def, key) as TaskSpec | undefined;
      const row = byKey.get(key);
      if (!spec?.compensate || !row || row.state !== 'succeeded') continue;
      // Queued for the dispatcher as a compensation: state compensating, no attempt yet.
      await this.moves.tasks(m, run, { ids: [row.id] }, ['succeeded'], 'compensating', {
        readyAt: now,
        currentAttemptId: null,
        updatedAt: now,
      });
      fx.queued = true;
      return true;
    }
    if (run.state === 'running') await this.finishRun(m, run, 'failed', now, fx);
    return false;
  }

  /** Cancels a run: unstarted tasks at once, running attempts get Cancel on their agents. */
  async cancelRun(m: EntityManager, run: RunEntity, reason: string, now: number): Promise<Effects> {
    const fx = noEffects();
    fx.ignored = false;
    if (run.state !== 'running' && run.state !== 'queued') return fx;
    const rows = await m.find(TaskRunEntity, { where: { tenantId: run.tenantId, runId: run.id } });
    for (const t of rows) {
      if (isTerminalTaskState(t.state) || !canTransition(t.state, 'cancelled')) continue;
      const ok = await this.moves.tasks(m, run, { ids: [t.id] }, [t.state], 'cancelled', {
        error: reason,
        finishedAt: now,
        updatedAt: now,
      });
      if (ok === 1 && t.currentAttemptId && LIVE.includes(t.state)) {
        await this.moves.attempts(m, run, { ids: [t.currentAttemptId] }, LIVE_ATTEMPT, 'cancelled', {
          finishedAt: now,
          expiresAt: null,
          error: reason,
        });
        fx.cancel.push(t.currentAttemptId);
      }
    }
    await this.finishRun(m, run, 'cancelled', now, fx);
    return fx;
  }

  /** Operator override of a task's state, then the run moves on. */
  async markTask(m: EntityManager, run: RunEntity, key: string, state: 'succeeded' | 'skipped', now: number) {
    const task = await m.findOne(TaskRunEntity, { where: { tenantId: run.tenantId, runId: run.id, taskKey: key } });
    if (!task) throw ProblemException.notFound(`task ${key} in run ${run.id}`);
    if (run.state !== 'running') {
      throw ProblemException.conflict(`run ${run.id} is ${run.state}; rerun it instead of marking its tasks`);
    }
    if (!canTransition(task.state, state)) {
      throw ProblemException.conflict(`task ${key} is ${task.state} and cannot be marked ${state}`);
    }
    const ok = await this.moves.tasks(m, run, { ids: [task.id] }, [task.state], state, {
      error: `marked ${state} by an operator`,
      finishedAt: now,
      updatedAt: now,
    });
    if (ok !== 1) throw ProblemException.conflict(`task ${key} changed meanwhile; try again`);
    const def = await this.definition(m, run);
    return this.advance(m, run, def, now);
  }

  /**
   * A rerun is a new run of the same pinned version and logical date. `failed`
   * re-executes the tasks that did not succeed and everything downstream of
   * them, carrying the others' results over; `all` re-executes every task.
   */
  async rerun(m: EntityManager, run: RunEntity, mode: 'failed' | 'all', now: number): Promise<RunEntity> {
    if (run.state === 'running' || run.state === 'queued') {
      throw ProblemException.conflict(`run ${run.id} is still ${run.state}; cancel it first or wait for it to finish`);
    }
    const def = await this.definition(m, run);
    const rows = await m.find(TaskRunEntity, { where: { tenantId: run.tenantId, runId: run.id } });
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
    const n = await m.count(RunEntity, { where: { tenantId: run.tenantId, parentRunId: run.id } });
    const waits = (await this.runRoom(m, run.tenantId, run.jobId, def)) <= 0;
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
      traceparent: childTraceparent(run.traceparent),
    };
    await m.insert(RunEntity, next as never);
    await this.insertTasks(m, next, def, carried, now);
    await this.advance(m, next, def, now);
    await enqueueEvent(m, {
      topic: topic('run-events'),
      type: 'run.created',
      key: run.tenantId,
      tenantId: run.tenantId,
      headers: next.traceparent ? { traceparent: next.traceparent } : undefined,
      payload: {
        tenantId: run.tenantId,
        runId: next.id,
        jobName: run.jobName,
        dedupeKey: next.dedupeKey,
        parentRunId: run.id,
      },
    });
    return next;
  }
}
