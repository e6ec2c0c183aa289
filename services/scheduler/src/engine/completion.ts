import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  BoundedCache,
  type JobDefinition,
  type TaskState,
  canTransition,
  resolveReadiness,
  retryDelayMs,
  runOutcome,
  shouldRetry,
} from '@baton/domain';
import { AttemptEntity, RunEntity, TaskRunEntity, scoped, scopedTo } from '@baton/persistence';
import { type RunFinished, enqueueEvent, topic } from '@baton/bus';
import { batonMetrics, recordAttemptSpan, recordRunSpan, runEventHeaders, tracingEnabled } from '@baton/telemetry';
import { Compensation } from './compensation.js';
import { taskOf } from './definitions.js';
import { type Effects, type FinishInput, noEffects, stale } from './effects.js';
import { EngineResources, LIVE, LIVE_ATTEMPT, type TaskSpec } from './engine-resources.js';
import { RunFinishHooks } from './run-finish-hooks.js';
import { outputsOf } from './task-renderer.js';
import { PeerWakeups } from './peer-wakeups.js';

/**
 * Runs of at least this many tasks are remembered between result batches: their
 * readiness states stay in memory, checked against the run's `taskEpoch` under
 * its lock, so a batch reads only its own tasks instead of all of a run's
 * (a fan-out of 10,000 read 10,000 rows for every batch of results).
 */
export const LARGE_RUN = 100;

/** A large run's readiness states (`lost` counted as running) as of its task epoch. */
interface Remembered {
  epoch: number;
  states: Record<string, TaskState>;
}

/**
 * Completion and readiness: attempts' ends (agents' results and the timers'
 * verdicts) move their tasks, readiness decides what runs next, and a run
 * ends by the leaf rule, starting the next run its job has waiting. Work on
 * one run is serialised by locking its run row.
 */
@Injectable()
export class Completion {
  /** Taken out while a transaction works on the run, put back after its commit: a rollback forgets it. */
  private readonly remembered = new BoundedCache<string, Remembered>(64);

  constructor(
    private readonly r: EngineResources,
    private readonly compensation: Compensation,
    private readonly hooks: RunFinishHooks,
    private readonly peers: PeerWakeups,
  ) {}

  /**
   * Records many attempts' ends in one transaction: each run is locked once
   * (in id order, so concurrent batches cannot deadlock) and advanced once,
   * however many of its tasks finished in the batch.
   */
  async finishAttempts(
    m: EntityManager,
    items: ReadonlyArray<{ attemptId: string; tenantId: string; result: FinishInput; agentId?: string }>,
  ): Promise<Effects> {
    const fx = noEffects();
    if (items.length === 0) return fx;
    const attempts = new Map<string, AttemptEntity>();
    const ids = [...new Set(items.map((i) => i.attemptId))];
    const tenants = [...new Set(items.map((i) => i.tenantId))];
    for (const a of await scopedTo(m, tenants).byIds(AttemptEntity, ids)) attempts.set(a.id, a);
    const byRun = new Map<string, Array<{ attempt: AttemptEntity; result: FinishInput }>>();
    for (const i of items) {
      const a = attempts.get(i.attemptId);
      // Another tenant's attempt does not exist for the sender.
      if (!a || a.tenantId !== i.tenantId) {
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
    if (byRun.size === 0) return fx;
    // The batch's runs are locked in one statement and their tasks read in one more (each read serves the
    // results and then readiness, kept current as tasks move), whatever the number of runs.
    const runs = new Map((await this.r.lockRuns(m, tenants, [...byRun.keys()])).map((r) => [r.id, r]));
    const defs = new Map<string, JobDefinition>();
    for (const run of runs.values()) defs.set(run.id, await this.r.definition(m, run));
    // A large run remembered as of its current epoch reads only the tasks of this batch's attempts.
    const remembered = new Map<string, Remembered>();
    for (const run of runs.values()) {
      const known = defs.get(run.id)!.tasks.length >= LARGE_RUN ? this.remembered.get(run.id) : undefined;
      this.remembered.delete(run.id);
      if (known && known.epoch === run.taskEpoch) remembered.set(run.id, known);
    }
    const tasksOf = await runTasks(
      m,
      tenants,
      [...runs.keys()].filter((id) => !remembered.has(id)),
    );
    if (remembered.size > 0) {
      const taskIds = [...byRun.entries()]
        .filter(([runId]) => remembered.has(runId))
        .flatMap(([, list]) => list.map((x) => x.attempt.taskRunId));
      for (const [runId, part] of await tasksById(m, tenants, [...new Set(taskIds)])) {
        tasksOf.set(runId, { ...part, states: remembered.get(runId)!.states });
      }
      for (const runId of remembered.keys()) {
        if (!tasksOf.has(runId))
          tasksOf.set(runId, { byId: new Map(), stale: false, states: remembered.get(runId)!.states });
      }
    }
    for (const run of runs.values()) tasksOf.get(run.id)!.epoch = run.taskEpoch;
    const handled = new Set<string>();
    const succeeded = await this.applySuccesses(m, runs, byRun, tasksOf, handled, fx);
    for (const runId of [...byRun.keys()].sort()) {
      const run = runs.get(runId);
      if (!run) {
        for (const { attempt } of byRun.get(runId)!) fx.dispositions.set(attempt.id, stale('the run is gone'));
        continue;
      }
      const def = defs.get(runId)!;
      const list = byRun.get(runId)!;
      const tasks = tasksOf.get(runId)!;
      let at = 0;
      for (const { result } of list) at = Math.max(at, result.at);
      let advance = succeeded.has(runId);
      for (const { attempt, result } of list) {
        if (handled.has(attempt.id)) continue;
        if (await this.applyResult(m, run, def, attempt, result, tasks, fx)) advance = true;
      }
      if (advance) await this.advance(m, run, def, at, fx, tasks);
      else if (tasks.states && !tasks.stale) {
        // Nothing settled (retries, stale results): what is remembered still holds, at the same epoch.
        const same = { epoch: run.taskEpoch, states: tasks.states };
        this.r.db.afterCommit(m, () => this.remembered.set(runId, same));
      }
    }
    this.observeEnded(m, runs, byRun, fx);
    return fx;
  }

  /** After commit: metrics of the attempts whose results were applied, and their spans (tracing on). */
  private observeEnded(
    m: EntityManager,
    runs: ReadonlyMap<string, RunEntity>,
    byRun: ReadonlyMap<string, ReadonlyArray<{ attempt: AttemptEntity; result: FinishInput }>>,
    fx: Effects,
  ): void {
    const ended: Array<{ run: RunEntity; attempt: AttemptEntity; result: FinishInput }> = [];
    for (const [runId, list] of byRun) {
      const run = runs.get(runId);
      if (!run) continue;
      for (const x of list) if (fx.dispositions.get(x.attempt.id)?.accepted) ended.push({ run, ...x });
    }
    if (ended.length === 0) return;
    this.r.db.afterCommit(m, () => {
      const metrics = batonMetrics();
      const traced = tracingEnabled();
      for (const { run, attempt, result } of ended) {
        metrics.attemptEnded(
          run.tenantId,
          run.jobName,
          result.state,
          attempt.startedAt ?? attempt.assignedAt,
          result.at,
        );
        if (traced) recordAttemptSpan(run, attempt, result.state, result.at, result.error);
      }
    });
  }

  /**
   * The hot path, in bulk over the batch's runs: successes of live main
   * attempts whose task still points at them. Called under the runs' locks, so
   * the states read here hold until commit (an ack may still move an attempt
   * assigned -> running, which both updates accept). Everything else takes the
   * per-attempt path. Returns the runs that had a success.
   */
  private async applySuccesses(
    m: EntityManager,
    runs: ReadonlyMap<string, RunEntity>,
    byRun: ReadonlyMap<string, ReadonlyArray<{ attempt: AttemptEntity; result: FinishInput }>>,
    tasksOf: ReadonlyMap<string, RunTasks>,
    handled: Set<string>,
    fx: Effects,
  ): Promise<Set<string>> {
    const advanced = new Set<string>();
    const candidates = [...byRun.values()]
      .flat()
      .filter((x) => x.result.state === 'succeeded' && x.attempt.kind !== 'compensation' && runs.has(x.attempt.runId));
    // One success alone is cheaper on the per-attempt path (its compare-and-set counts it; no second read).
    if (candidates.length < 2) return advanced;
    const tenants = [...new Set(candidates.map((x) => x.attempt.tenantId))];
    const fresh = new Map<string, Pick<AttemptEntity, 'id' | 'tenantId' | 'state'>>();
    const rows = await scopedTo(m, tenants).byIds(
      AttemptEntity,
      candidates.map((x) => x.attempt.id),
      ['tenantId', 'state'],
    );
    for (const a of rows) fresh.set(a.id, a);
    // Group by what gets written, so a batch of noop successes is two statements (three when some were
    // never acknowledged: a result applied with its ACK starts the task too).
    const groups = new Map<
      string,
      {
        tenantId: string;
        r: FinishInput;
        from: TaskState;
        attemptIds: string[];
        taskIds: string[];
        tasks: RunTasks[];
      }
    >();
    for (const { attempt, result } of candidates) {
      const a = fresh.get(attempt.id);
      const tasks = tasksOf.get(attempt.runId)!;
      const t = tasks.byId.get(attempt.taskRunId);
      if (!a || !LIVE.includes(a.state as TaskState) || !t || t.currentAttemptId !== a.id || !LIVE.includes(t.state))
        continue;
      const key = JSON.stringify([attempt.tenantId, t.state, result.exitCode, result.error, result.output, result.at]);
      const g = groups.get(key) ?? {
        tenantId: attempt.tenantId,
        r: result,
        from: t.state,
        attemptIds: [],
        taskIds: [],
        tasks: [],
      };
      g.attemptIds.push(a.id);
      g.taskIds.push(t.id);
      g.tasks.push(tasks);
      groups.set(key, g);
      handled.add(a.id);
      advanced.add(attempt.runId);
      fx.dispositions.set(a.id, { accepted: true });
    }
    for (const { tenantId, r, from, attemptIds, taskIds, tasks } of groups.values()) {
      const scope = { tenantId };
      // A success whose ACK was lost (or waits in this batch) still proves the agent ran it:
      // assigned -> running -> succeeded, the task started and its try counted as the ACK would have.
      await this.r.moves.attempts(
        m,
        scope,
        { ids: attemptIds },
        LIVE_ATTEMPT,
        'succeeded',
        {
          finishedAt: r.at,
          exitCode: r.exitCode,
          error: r.error,
          expiresAt: null,
          startedAt: () => `COALESCE(started_at, ${Math.trunc(r.at)})`,
        },
        'running',
      );
      await this.r.moves.tasks(
        m,
        scope,
        { ids: taskIds, currentAttemptId: attemptIds },
        [from],
        'succeeded',
        {
          readyAt: null,
          exitCode: r.exitCode,
          error: r.error,
          output: r.output,
          finishedAt: r.at,
          updatedAt: r.at,
          ...startedBy(from, r.at),
        },
        'running',
      );
      // Under the runs' locks every row checked above moved.
      taskIds.forEach((id, i) => (tasks[i]!.byId.get(id)!.state = 'succeeded'));
    }
    return advanced;
  }

  /** One attempt's result; returns whether the run should be advanced. */
  private async applyResult(
    m: EntityManager,
    run: RunEntity,
    def: JobDefinition,
    attempt: AttemptEntity,
    r: FinishInput,
    tasks: RunTasks,
    fx: Effects,
  ): Promise<boolean> {
    const attemptId = attempt.id;
    const moved = await this.r.moves.attempts(
      m,
      run,
      { ids: [attemptId] },
      LIVE_ATTEMPT,
      r.state,
      {
        finishedAt: r.at,
        exitCode: r.exitCode,
        error: r.error,
        expiresAt: null,
        startedAt: () => `COALESCE(started_at, ${Math.trunc(r.at)})`,
      },
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
        await this.r.moves.touchAttempts(m, run, { ids: [attemptId] }, [attempt.state], {
          lateResult: JSON.stringify({ state: r.state, exitCode: r.exitCode, error: r.error, at: r.at }),
        });
      }
      fx.dispositions.set(attemptId, stale(`the attempt is already ${attempt.state}`));
      return false;
    }
    const task = tasks.byId.get(attempt.taskRunId);
    if (!task || task.currentAttemptId !== attemptId) {
      this.r.log.warn('result of a superseded attempt ignored', { attemptId, task: attempt.taskKey });
      fx.dispositions.set(attemptId, stale('the attempt was superseded by a newer one'));
      return false;
    }
    const spec = taskOf(def, task.taskKey) as TaskSpec | undefined;
    if (attempt.kind === 'compensation') {
      if (task.state !== 'compensating') {
        fx.dispositions.set(attemptId, stale(`the task is ${task.state}`));
        return false;
      }
      fx.dispositions.set(attemptId, { accepted: true });
      // Compensation moves other tasks too: readiness reads them again.
      tasks.stale = true;
      await this.r.moves.tasks(
        m,
        run,
        { ids: [task.id] },
        ['compensating'],
        r.state === 'succeeded' ? 'compensated' : 'failed',
        {
          ...(r.state === 'succeeded' ? {} : { error: `compensation ${r.state}: ${r.error ?? ''}`.trim() }),
          currentAttemptId: null,
          updatedAt: r.at,
        },
      );
      if (!(await this.compensation.continue(m, run, def, r.at, fx)) && run.state === 'running') {
        await this.finishRun(m, run, 'failed', r.at, fx);
      }
      return false;
    }
    if (task.state !== 'running' && task.state !== 'assigned') {
      fx.dispositions.set(attemptId, stale(`the task is ${task.state}`));
      return false;
    }
    let next: TaskState = r.state;
    let readyAt: number | null = null;
    if (r.state !== 'succeeded' && r.state !== 'cancelled' && spec && run.state === 'running') {
      // A result applied with its ACK (the task still `assigned`) counts the try the ACK would have.
      const used = Math.max(task.attemptsUsed + (task.state === 'assigned' ? 1 : 0), 1);
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
    const taskMoved = await this.r.moves.tasks(
      m,
      run,
      { ids: [task.id] },
      [task.state],
      next,
      {
        readyAt,
        exitCode: r.exitCode,
        error: r.error,
        // A failure keeps what an earlier attempt output.
        ...(r.state === 'succeeded' ? { output: r.output } : {}),
        finishedAt: next === 'up_for_retry' ? null : r.at,
        updatedAt: r.at,
        currentAttemptId: next === 'up_for_retry' ? null : attemptId,
        ...startedBy(task.state, r.at),
      },
      next === 'up_for_retry' ? r.state : 'running',
    );
    if (taskMoved !== 1) {
      tasks.stale = true;
      fx.dispositions.set(attemptId, stale('the task changed meanwhile'));
      return false;
    }
    task.state = next;
    task.currentAttemptId = next === 'up_for_retry' ? null : attemptId;
    fx.dispositions.set(attemptId, { accepted: true });
    if (next === 'up_for_retry') {
      fx.retryAt = fx.retryAt === null ? readyAt : Math.min(fx.retryAt, readyAt!);
      return false;
    }
    if (next === 'failed' || next === 'timed_out' || next === 'lost') {
      // The task's final failure (no retry left) or loss, once, with it: what alerts learn of it.
      await enqueueEvent(m, {
        topic: topic('task-events'),
        type: next === 'lost' ? 'task.lost' : 'task.failed',
        key: run.tenantId,
        tenantId: run.tenantId,
        payload: {
          tenantId: run.tenantId,
          runId: run.id,
          jobName: run.jobName,
          logicalDate: run.logicalDate,
          taskKey: task.taskKey,
          state: next,
          error: r.error,
          exitCode: r.exitCode,
          attempts: task.attemptsUsed,
          at: r.at,
        },
      });
    }
    if (next === 'lost') {
      this.r.log.warn('attempt lost; task held for an operator (not idempotent)', {
        runId: run.id,
        task: task.taskKey,
      });
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
    known?: RunTasks,
  ): Promise<Effects> {
    const large = def.tasks.length >= LARGE_RUN;
    const tasks = known && !known.stale ? known : (await runTasks(m, [run.tenantId], [run.id])).get(run.id)!;
    // Remembered states hold every task; this batch's own tasks are read afresh and moved since.
    const states: Record<string, TaskState> = tasks.states ?? {};
    for (const t of tasks.byId.values()) states[t.taskKey] = t.state === 'lost' ? 'running' : t.state;
    let outputs: Promise<Record<string, unknown>> | null = null;
    const loadOutputs = () =>
      (outputs ??= scoped(m, run)
        .find(TaskRunEntity, { where: { runId: run.id } })
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
            const verdict = await this.r.gate.check(run, def, key, loadOutputs);
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
            await this.r.moves.tasks(m, run, { runId: run.id, keys: slice }, ['pending'], state, {
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
    // Other replicas' agents may be the ones free to take the new work.
    if (fx.queued) this.r.db.afterCommit(m, this.peers.wake);
    const outcome = runOutcome(def.tasks, states);
    if (large) {
      // Whoever settles or decides a large run's tasks moves its epoch, so what anyone remembers of it is
      // known to be old. Remembered again only when the run was locked here at a known epoch and stays running.
      await this.r.moves.touchTaskEpoch(m, run, run.id);
      this.remembered.delete(run.id);
      if (known?.epoch !== undefined && outcome === 'running' && run.state === 'running') {
        const next = { epoch: known.epoch + 1, states };
        this.r.db.afterCommit(m, () => this.remembered.set(run.id, next));
      }
    }
    if (outcome === 'running' || run.state !== 'running') return fx;
    if (outcome === 'failed' && (await this.compensation.start(m, run, def, states, now, fx))) return fx;
    await this.finishRun(m, run, outcome, now, fx);
    return fx;
  }

  async finishRun(
    m: EntityManager,
    run: RunEntity,
    state: 'succeeded' | 'failed' | 'cancelled',
    now: number,
    fx: Effects,
  ) {
    const done = await this.r.moves.runs(
      m,
      run,
      [run.id],
      state === 'cancelled' ? ['running', 'queued', 'scheduled'] : ['running'],
      state,
      {
        finishedAt: now,
      },
    );
    if (done !== 1) return;
    run.state = state;
    const payload: RunFinished = {
      tenantId: run.tenantId,
      runId: run.id,
      jobName: run.jobName,
      state,
      triggerType: run.triggerType,
    };
    await enqueueEvent(m, {
      topic: topic('run-events'),
      type: 'run.finished',
      key: run.tenantId,
      tenantId: run.tenantId,
      headers: runEventHeaders(run),
      payload: {
        ...payload,
        jobVersionId: run.jobVersionId,
        backfillId: run.backfillId,
        triggerId: run.triggerId,
        finishedAt: now,
      },
    });
    fx.finishedRun = payload;
    if (tracingEnabled()) this.r.db.afterCommit(m, () => recordRunSpan(run, state, now));
    this.r.log.info('run finished', { runId: run.id, job: run.jobName, state });
    await this.hooks.run(m, run);
    await this.startNextQueued(m, run.tenantId, run.jobId, now, fx);
  }

  /**
   * The job's queue of waiting runs (overlap policy `queue`, or `maxActiveRuns`):
   * the oldest start while the job has room (its `maxActiveRuns`, else one at a
   * time); and the tenant's (runs waiting for its maxConcurrentRuns, of any
   * job), read in the same statement, start while the tenant has room.
   */
  private async startNextQueued(m: EntityManager, tenantId: string, jobId: string, now: number, fx: Effects) {
    for (;;) {
      const queued = await scoped(m, { tenantId }).find(RunEntity, {
        where: [
          { jobId, state: 'queued' },
          { queuedBy: 'tenant_quota', state: 'queued' },
        ],
        order: { createdAt: 'ASC' },
        take: 20,
      });
      let next: RunEntity | null = null;
      let def: JobDefinition | null = null;
      for (const q of queued) {
        const d = await this.r.definition(m, q);
        const byTenant = q.queuedBy === 'tenant_quota';
        // A run waiting for the tenant is held by its job only under the job's own maxActiveRuns.
        const jobLimit = byTenant ? (d.maxActiveRuns ?? null) : (d.maxActiveRuns ?? 1);
        if ((await this.r.runRoom(m, tenantId, q.jobId, { maxActiveRuns: jobLimit })) <= 0) continue;
        next = q;
        def = d;
        break;
      }
      if (!next || !def) return;
      if ((await this.r.tenantRunRoom(m, tenantId)) <= 0) return;
      const started = await this.r.moves.runs(m, next, [next.id], ['queued'], 'running', {
        startedAt: now,
        queuedBy: null,
      });
      if (started !== 1) return;
      next.state = 'running';
      next.startedAt = now;
      next.queuedBy = null;
      await this.advance(m, next, def, now, fx);
      // A run that ended at once (every task skipped) started the next one itself.
      if (next.state !== 'running') return;
    }
  }
}

/** What results and readiness need of a run's tasks, read in one statement (a run may hold 10,000 tasks). */
export interface RunTasks {
  byId: Map<
    string,
    { id: string; taskKey: string; state: TaskState; currentAttemptId: string | null; attemptsUsed: number }
  >;
  /** Something moved tasks this read does not know of: read them again before deciding readiness. */
  stale: boolean;
  /**
   * A large run's remembered readiness states of all its tasks (then `byId` holds only the batch's own
   * tasks, read afresh); absent when `byId` holds every task.
   */
  states?: Record<string, TaskState>;
  /** The run's task epoch, when the run was locked in this transaction. */
  epoch?: number;
}

/** The tasks of the runs, by run, read in one statement per 500 runs. */
async function runTasks(
  m: EntityManager,
  tenantIds: readonly string[],
  runIds: readonly string[],
): Promise<Map<string, RunTasks>> {
  const out = new Map<string, RunTasks>(runIds.map((id) => [id, { byId: new Map(), stale: false }]));
  for (let i = 0; i < runIds.length; i += 500) {
    const part = runIds.slice(i, i + 500);
    // A plain query, not entities: this is the hot read of every result batch.
    const rows = (await m.query(
      `SELECT run_id, id, task_key, state, current_attempt_id, attempts_used FROM task_runs
       WHERE tenant_id IN (${tenantIds.map(() => '?').join(', ')}) AND run_id IN (${part.map(() => '?').join(', ')})`,
      [...tenantIds, ...part],
    )) as Array<{
      run_id: string;
      id: string;
      task_key: string;
      state: TaskState;
      current_attempt_id: string | null;
      attempts_used: number | string;
    }>;
    for (const t of rows) {
      out.get(t.run_id)?.byId.set(t.id, {
        id: t.id,
        taskKey: t.task_key,
        state: t.state,
        currentAttemptId: t.current_attempt_id,
        attemptsUsed: Number(t.attempts_used),
      });
    }
  }
  return out;
}

/** Tasks by id (a batch's own tasks of remembered large runs), by run. */
async function tasksById(
  m: EntityManager,
  tenantIds: readonly string[],
  ids: readonly string[],
): Promise<Map<string, RunTasks>> {
  const out = new Map<string, RunTasks>();
  const rows = await scopedTo(m, tenantIds).byIds(TaskRunEntity, ids, [
    'runId',
    'taskKey',
    'state',
    'currentAttemptId',
    'attemptsUsed',
  ]);
  for (const t of rows) {
    const tasks = out.get(t.runId) ?? { byId: new Map(), stale: false };
    tasks.byId.set(t.id, {
      id: t.id,
      taskKey: t.taskKey,
      state: t.state,
      currentAttemptId: t.currentAttemptId,
      attemptsUsed: t.attemptsUsed,
    });
    out.set(t.runId, tasks);
  }
  return out;
}

/** What the ACK of a task's attempt writes, for a result applied while the task is still `assigned`. */
function startedBy(from: TaskState, at: number): { attemptsUsed?: () => string; startedAt?: () => string } {
  if (from !== 'assigned') return {};
  return {
    attemptsUsed: () => 'attempts_used + 1',
    startedAt: () => `COALESCE(started_at, ${Math.trunc(at)})`,
  };
}
