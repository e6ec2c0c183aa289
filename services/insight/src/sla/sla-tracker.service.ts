import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { In, IsNull, Not } from 'typeorm';
import {
  type JobDefinition,
  type PredictedTask,
  type SlaSpec,
  type SlaState,
  type TaskEstimate,
  type TaskState,
  type TimedTask,
  BoundedCache,
  decideSla,
  estimateTask,
  isRunFinished,
  isTerminalTaskState,
  predictRun,
  slaDeadlines,
  taskBreaches,
  withAssumedDurations,
} from '@baton/domain';
import {
  Database,
  JobVersionEntity,
  RunEntity,
  RunSlaEntity,
  TaskRunEntity,
  isUniqueViolation,
  scoped,
  skipLocked,
} from '@baton/persistence';
import { EVENT_BUS, type EventBus, OUTBOX_RELAY, type OutboxRelay, enqueueEvent, topic } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';
import { AlarmedDrainer } from '../alarmed-drainer.js';

/** Past successful runs of a job whose tasks make the estimates. */
export const SLA_HISTORY_RUNS = 20;
/** A run not yet decided is predicted again at least this often. */
export const SLA_RECHECK_MS = 5_000;
/** Rows decided per claim transaction. */
const CLAIM_BATCH = 100;
/** The safety net when no due time is known (a lost wake-up, a clock jump). */
const POLL_MS = 5_000;
/** How long a job's task estimates are reused before its history is read again. */
const HISTORY_TTL_MS = 60_000;

const CONSUMER = 'insight.sla';

/** A job with tasks' maxDurations but no SLA of its own: no run deadlines. */
const NO_DEADLINES: SlaSpec = { timezone: 'UTC', finishBy: null, startBy: null, maxDurationMs: null, warnBeforeMs: 0 };

interface TaskBreach {
  key: string;
  maxDurationMs: number;
  at: number;
}

/** Whether runs of this version have deadlines to track: the job's `sla`, or a task's `maxDuration`. */
function hasDeadlines(def: JobDefinition): boolean {
  return def.sla !== undefined || def.tasks.some((t) => t.maxDurationMs !== undefined);
}

/** How the prediction and the task deadlines see a task: finished, on an agent, or before that. */
function phaseOf(t: TaskRunEntity | undefined): PredictedTask['phase'] {
  const state = (t?.state ?? 'pending') as TaskState;
  if (isTerminalTaskState(state)) return 'done';
  return state === 'assigned' || state === 'running' ? 'running' : 'waiting';
}

/**
 * Evaluates runs' SLAs continuously: a run of a job that declares `sla` gets
 * a row when it is created; the row is looked at when the run ends, when its
 * warning or deadline comes (an alarm at the earliest due row) and every
 * SLA_RECHECK_MS meanwhile, so a run that hangs still misses on time. Every
 * replica claims due rows with SKIP LOCKED and moves a state by
 * compare-and-set, so a change happens once.
 */
@Injectable()
export class SlaTracker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  /** Evaluates due rows, one drain at a time, with an alarm at the next due row; its interval is only the safety net. */
  private readonly loop: AlarmedDrainer;
  /** Task estimates per job: history changes slowly, and a run is looked at every few seconds. */
  private readonly history = new BoundedCache<string, { at: number; estimates: Map<string, TaskEstimate> }>(1_000);

  constructor(
    private readonly db: Database,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('sla');
    this.loop = new AlarmedDrainer(() => this.drain(), {
      intervalMs: POLL_MS,
      log: this.log,
      failure: 'SLA evaluation failed',
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe(topic('run-events'), CONSUMER, async (e) => {
      const p = e.payload as { tenantId?: string; runId?: string; jobVersionId?: string };
      if (!p.tenantId || !p.runId) return;
      // Most jobs declare no deadline: their runs cost no statement here once their version is known.
      if (p.jobVersionId && !(await this.declaresDeadlines(p.tenantId, p.jobVersionId))) return;
      let changed: boolean;
      if (e.type === 'run.created') changed = await this.track(p.tenantId, p.runId);
      else if (e.type === 'run.finished') changed = await this.due(p.tenantId, p.runId);
      else return;
      if (changed) this.wake();
    });
    this.loop.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }

  /** Job versions (immutable) by whether they declare deadlines. */
  private readonly deadlines = new BoundedCache<string, boolean>(10_000);

  /** Whether the job version declares an SLA or a task's maxDuration (read once per version). */
  private async declaresDeadlines(tenantId: string, versionId: string): Promise<boolean> {
    const known = this.deadlines.get(versionId);
    if (known !== undefined) return known;
    const v = await scoped(this.db.manager, { tenantId }).findOne(JobVersionEntity, { where: { id: versionId } });
    const has = !!v && hasDeadlines(v.definition as JobDefinition);
    if (v) this.deadlines.set(versionId, has);
    return has;
  }

  /** Starts tracking a new run when its job version declares an SLA (idempotent); whether it did. */
  async track(tenantId: string, runId: string): Promise<boolean> {
    const data = scoped(this.db.manager, { tenantId });
    const run = await data.findOne(RunEntity, { where: { id: runId } });
    if (!run) return false;
    const def = (await data.findOne(JobVersionEntity, { where: { id: run.jobVersionId } }))?.definition as
      JobDefinition | undefined;
    if (!def || !hasDeadlines(def)) return false;
    const d = slaDeadlines(def.sla ?? NO_DEADLINES, run.logicalDate, run.startedAt);
    const now = Date.now();
    try {
      await data.insert(RunSlaEntity, {
        runId: run.id,
        tenantId,
        jobName: run.jobName,
        logicalDate: run.logicalDate,
        state: 'pending',
        startBy: d.startBy,
        finishBy: d.finishBy,
        warnAt: d.warnAt,
        predictedP50: null,
        predictedP90: null,
        keyTask: null,
        criticalPath: null,
        reason: null,
        atRiskAt: null,
        decidedAt: null,
        nextCheckAt: now,
        createdAt: now,
        updatedAt: now,
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err; // redelivered: tracked already
      return false;
    }
    return true;
  }

  /** Asks for a look at the run's SLA now (its run ended); whether it is tracked and undecided. */
  async due(tenantId: string, runId: string): Promise<boolean> {
    const affected = await scoped(this.db.manager, { tenantId }).update(
      RunSlaEntity,
      { runId, decidedAt: IsNull() },
      { nextCheckAt: Date.now() },
    );
    return affected > 0;
  }

  /** Evaluates due rows now (then the alarm is armed at the next due one). */
  wake(): void {
    this.loop.kick();
  }

  /** Decides every due row; answers when the next one is due. */
  private async drain(): Promise<number | null> {
    while (!this.loop.isStopped && (await this.evaluateDue()) > 0);
    // across tenants: one alarm for the next due SLA row of any tenant
    const next = await this.db.manager.findOne(RunSlaEntity, {
      where: { nextCheckAt: Not(IsNull()) },
      order: { nextCheckAt: 'ASC' },
      select: { runId: true, nextCheckAt: true },
    });
    return next?.nextCheckAt ?? null;
  }

  /** One transaction: claims up to CLAIM_BATCH due rows and decides each; returns how many. */
  async evaluateDue(now = Date.now()): Promise<number> {
    let changes = 0;
    const n = await this.db.tx(async (m) => {
      changes = 0;
      // across tenants: every replica claims the due SLA rows of all tenants
      const q = m
        .createQueryBuilder(RunSlaEntity, 's')
        .where('s.next_check_at <= :now', { now })
        .orderBy('s.next_check_at', 'ASC')
        .limit(CLAIM_BATCH);
      const rows = await skipLocked(this.db, q).getMany();
      for (const row of rows) if (await this.evaluate(m, row, now)) changes++;
      return rows.length;
    });
    // The changes' events are in the outbox: publish them now, not at the relay's next poll.
    if (changes > 0) this.relay.kick();
    return n;
  }

  /** Decides one row; returns whether its state changed. */
  private async evaluate(m: EntityManager, row: RunSlaEntity, now: number): Promise<boolean> {
    const data = scoped(m, row);
    const run = await data.findOne(RunEntity, { where: { id: row.runId } });
    const version = run ? await data.findOne(JobVersionEntity, { where: { id: run.jobVersionId } }) : null;
    const def = version?.definition as JobDefinition | undefined;
    if (!run || !def || !hasDeadlines(def)) {
      await data.update(RunSlaEntity, { runId: row.runId }, { nextCheckAt: null, updatedAt: now });
      return false;
    }
    const deadlines = slaDeadlines(def.sla ?? NO_DEADLINES, run.logicalDate, run.startedAt);
    const finished = run.finishedAt !== null && isRunFinished(run.state);
    const tasks = await data.find(TaskRunEntity, { where: { runId: run.id } });
    const settled = row.state === 'met' || row.state === 'missed';
    const prediction = finished || settled ? null : await this.predict(m, run, def, tasks, now);
    // Tasks past their own maxDuration, each reported once.
    const reported = row.taskBreaches ? (JSON.parse(row.taskBreaches) as TaskBreach[]) : [];
    const byKey = new Map(tasks.map((t) => [t.taskKey, t]));
    const timed: TimedTask[] = def.tasks.flatMap((spec) => {
      if (spec.maxDurationMs === undefined) return [];
      const t = byKey.get(spec.key);
      return [
        {
          key: spec.key,
          maxDurationMs: spec.maxDurationMs,
          phase: phaseOf(t),
          startedAt: t?.startedAt ?? null,
          finishedAt: t?.finishedAt ?? null,
        },
      ];
    });
    const { breached, nextAt } = taskBreaches(timed, new Set(reported.map((b) => b.key)), now);
    const breaches = [...reported, ...breached];
    let decision = decideSla(row.state as SlaState, {
      deadlines,
      startedAt: run.startedAt,
      finishedAt: finished ? run.finishedAt : null,
      failed: finished && run.state !== 'succeeded',
      predictedP90: prediction?.finishP90 ?? null,
      now,
    });
    // Without a job-level SLA, the tasks' own maxDurations are the run's SLA.
    if (!def.sla && breaches.length > 0 && decision.state !== 'missed') {
      decision = { state: 'missed', reason: `task ${breaches[0]!.key} ran past its maxDuration` };
    }
    const decided = decision.state === 'met' || decision.state === 'missed';
    // A run decided while it still runs is looked at again for its tasks' own maxDurations (each reported
    // once): a task that starts late in a run already missed still has its breach recorded.
    const next = decided
      ? finished || nextAt === null
        ? null
        : nextAt + 1
      : Math.min(
          now + SLA_RECHECK_MS,
          ...[deadlines.warnAt, deadlines.finishBy, run.startedAt === null ? deadlines.startBy : null, nextAt]
            .filter((t): t is number => t !== null && t > now)
            .map((t) => t + 1),
        );
    const changed = decision.state !== row.state;
    // Compare-and-set on the state: a replica that decided the row meanwhile wins, this write then does nothing.
    const moved = await data.update(
      RunSlaEntity,
      { runId: row.runId, state: row.state },
      {
        state: decision.state,
        startBy: deadlines.startBy,
        finishBy: deadlines.finishBy,
        warnAt: deadlines.warnAt,
        ...(prediction
          ? {
              predictedP50: prediction.finishP50,
              predictedP90: prediction.finishP90,
              keyTask: prediction.keyTask,
              criticalPath: JSON.stringify(prediction.criticalPath),
              assumedTasks: prediction.assumed.length > 0 ? JSON.stringify(prediction.assumed) : null,
            }
          : {}),
        ...(changed ? { reason: decision.reason } : {}),
        ...(breached.length > 0 ? { taskBreaches: JSON.stringify(breaches) } : {}),
        ...(changed && decision.state === 'at_risk' ? { atRiskAt: now } : {}),
        ...(decided && changed ? { decidedAt: now } : {}),
        nextCheckAt: next,
        updatedAt: now,
      },
    );
    if (moved === 1) {
      for (const b of breached) {
        await enqueueEvent(m, {
          topic: topic('sla-events'),
          type: 'sla.task_overdue',
          key: row.tenantId,
          tenantId: row.tenantId,
          payload: {
            tenantId: row.tenantId,
            runId: run.id,
            jobName: run.jobName,
            taskKey: b.key,
            maxDurationMs: b.maxDurationMs,
            at: b.at,
          },
        });
      }
    }
    if (moved === 1 && changed) {
      // In the transaction of the change: what alerts and other services learn of it, once.
      await enqueueEvent(m, {
        topic: topic('sla-events'),
        type: `sla.${decision.state}`,
        key: row.tenantId,
        tenantId: row.tenantId,
        payload: {
          tenantId: row.tenantId,
          runId: run.id,
          jobName: run.jobName,
          logicalDate: run.logicalDate,
          from: row.state,
          state: decision.state,
          reason: decision.reason,
          finishBy: deadlines.finishBy,
          predictedP90: prediction?.finishP90 ?? null,
          keyTask: prediction?.keyTask ?? null,
          at: now,
        },
      });
      this.log.info('SLA state changed', {
        runId: run.id,
        job: run.jobName,
        from: row.state,
        to: decision.state,
        reason: decision.reason,
      });
    }
    return moved === 1 && (changed || breached.length > 0);
  }

  /** The run's predicted finish from its tasks' recent history. */
  private async predict(m: EntityManager, run: RunEntity, def: JobDefinition, tasks: TaskRunEntity[], now: number) {
    const estimates = await this.estimates(m, run, def);
    const byKey = new Map(tasks.map((t) => [t.taskKey, t]));
    const predicted: PredictedTask[] = def.tasks.map((spec) => {
      const t = byKey.get(spec.key);
      return {
        key: spec.key,
        dependsOn: spec.dependsOn,
        phase: phaseOf(t),
        startedAt: t?.startedAt ?? null,
        finishedAt: t?.finishedAt ?? null,
      };
    });
    // A task without history counts at its maxDuration, timeout or the default, named in `assumed`.
    const { estimates: all, assumed } = withAssumedDurations(def.tasks, estimates);
    return { ...predictRun(predicted, all, now, run.startedAt ?? now), assumed };
  }

  /**
   * Each task's run time and queue wait over the job's last successful runs:
   * run time = its start to its end; queue wait = the end of its last upstream
   * task (or the run's start, for a root) to its start.
   */
  private async estimates(m: EntityManager, run: RunEntity, def: JobDefinition): Promise<Map<string, TaskEstimate>> {
    const key = `${run.tenantId}|${run.jobId}|${run.jobVersionId}`;
    const cached = this.history.get(key);
    if (cached && Date.now() - cached.at < HISTORY_TTL_MS) return cached.estimates;
    const estimates = await this.readEstimates(m, run, def);
    this.history.set(key, { at: Date.now(), estimates });
    return estimates;
  }

  private async readEstimates(
    m: EntityManager,
    run: RunEntity,
    def: JobDefinition,
  ): Promise<Map<string, TaskEstimate>> {
    const data = scoped(m, run);
    const past = await data.find(RunEntity, {
      where: { jobId: run.jobId, state: 'succeeded', id: Not(run.id), finishedAt: Not(IsNull()) },
      order: { createdAt: 'DESC' },
      take: SLA_HISTORY_RUNS,
      select: { id: true, startedAt: true },
    });
    const samples = new Map<string, { runs: number[]; waits: number[] }>();
    if (past.length > 0) {
      const rows = await data.find(TaskRunEntity, {
        where: { runId: In(past.map((r) => r.id)), state: 'succeeded' },
        select: { runId: true, taskKey: true, startedAt: true, finishedAt: true },
      });
      const byRun = new Map<string, Map<string, TaskRunEntity>>();
      for (const r of rows) {
        const m = byRun.get(r.runId) ?? new Map<string, TaskRunEntity>();
        byRun.set(r.runId, m.set(r.taskKey, r));
      }
      const deps = new Map(def.tasks.map((t) => [t.key, t.dependsOn]));
      for (const p of past) {
        const tasks = byRun.get(p.id);
        if (!tasks) continue;
        for (const [key, t] of tasks) {
          if (t.startedAt === null || t.finishedAt === null) continue;
          const upstream = (deps.get(key) ?? []).map((d) => tasks.get(d)?.finishedAt ?? null);
          const ready =
            upstream.length === 0
              ? p.startedAt
              : upstream.some((x) => x === null)
                ? null
                : Math.max(...(upstream as number[]));
          const s = samples.get(key) ?? { runs: [], waits: [] };
          s.runs.push(t.finishedAt - t.startedAt);
          if (ready !== null) s.waits.push(Math.max(0, t.startedAt - ready));
          samples.set(key, s);
        }
      }
    }
    return new Map([...samples].map(([key, s]) => [key, estimateTask(s.runs, s.waits)]));
  }
}
