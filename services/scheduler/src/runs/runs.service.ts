import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { type EntityManager, In, MoreThan } from 'typeorm';
import {
  type AgentView,
  type JobDefinition,
  type OverlapPolicy,
  TIME_TRIGGER_TYPES,
  type WaitContext,
  decideOverlap,
  presenceHealthy,
  topologicalOrder,
  waitingReason,
} from '@baton/domain';
import {
  AgentEntity,
  AttemptEntity,
  Database,
  JobEntity,
  TriggerSlotEntity,
  RunEntity,
  TaskLogEntity,
  TaskRunEntity,
  type PoolUse,
  TenantQuotaEntity,
  type TenantScope,
  isUniqueViolation,
  liveAttemptsByAgent,
  poolUsage,
  newId,
} from '@baton/persistence';
import {
  EVENT_BUS,
  type EventBus,
  OUTBOX_RELAY,
  type OutboxRelay,
  type RunRequested,
  consumeOnceBatch,
  enqueueEvent,
  subscribeBatch,
  topic,
} from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException, type Page, decodeNumericCursor, encodeCursor } from '@baton/http';
import { AgentCommands } from '../engine/agent-commands.js';
import { DROPPED_LOG_NOTICE } from '../logs/log-sink.js';
import { Dispatcher } from '../engine/dispatcher.js';
import { DefinitionCache, taskOf } from '../engine/definitions.js';
import { traceIdOf } from '@baton/telemetry';
import { type Effects, RunEngine, noEffects } from '../engine/run-engine.js';

export interface TriggerRunCommand {
  params: Record<string, unknown>;
  logicalDate: number | null;
  idempotencyKey: string | null;
  /** W3C traceparent of the caller, if it sent one. */
  traceparent?: string | null;
}

/** Only time triggers have slots, and so entries in the slot ledger. */
const TIME_TRIGGERS: ReadonlySet<string> = new Set(TIME_TRIGGER_TYPES);

/** Fields of a stored task definition the views read beyond the domain's type. */
interface TaskSpecView {
  resources?: { cpuMillis: number; memoryMb: number };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const parseOutput = (s: string | null): unknown => {
  if (s === null) return null;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
};

const summary = (r: RunEntity) => ({
  id: r.id,
  job: r.jobName,
  jobVersion: r.jobVersion,
  state: r.state,
  logicalDate: iso(r.logicalDate),
  params: r.params,
  trigger: { type: r.triggerType, id: r.triggerId },
  parentRunId: r.parentRunId,
  backfillId: r.backfillId,
  traceId: traceIdOf(r.traceparent),
  createdAt: iso(r.createdAt),
  startedAt: iso(r.startedAt),
  finishedAt: iso(r.finishedAt),
});

@Injectable()
export class RunsService implements OnApplicationBootstrap {
  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly defs: DefinitionCache,
    private readonly dispatcher: Dispatcher,
    private readonly commands: AgentCommands,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Run requests from triggers; the dedupe key makes a redelivered request one run.
    await subscribeBatch(this.bus, topic('run-requests'), 'scheduler', async (events) => {
      let fx: Effects = noEffects();
      await consumeOnceBatch(this.db, 'scheduler.run-requests', events, async (m, fresh) => {
        fx = await this.fromRequests(
          m,
          fresh.map((e) => e.payload as RunRequested),
        );
      });
      this.commands.apply(fx, false);
      this.dispatcher.kick();
    });
  }

  /**
   * A batch of trigger requests in one transaction. Requests without an
   * overlap policy to apply are created in bulk; the others one by one.
   */
  private async fromRequests(m: EntityManager, reqs: readonly RunRequested[]): Promise<Effects> {
    const fx = noEffects();
    const simple = reqs.filter((r) => !r.overlap || r.overlap === 'allow');
    for (const r of reqs) {
      if (r.overlap && r.overlap !== 'allow') {
        const one = await this.fromRequest(m, r);
        fx.cancel.push(...one.cancel);
      }
    }
    if (simple.length === 0) return { ...fx, queued: true };
    const runs = await this.engine.createRuns(
      m,
      simple.map((r) => ({
        tenantId: r.tenantId,
        jobId: r.jobId,
        input: {
          jobName: r.jobName,
          params: r.params,
          logicalDate: r.logicalDate,
          dedupeKey: r.dedupeKey,
          triggerType: r.triggerType,
          triggerId: r.triggerId,
        },
      })),
    );
    // The slot ledger: what became of each slot.
    const slotted = simple.filter(
      (r) => r.triggerId && TIME_TRIGGERS.has(r.triggerType) && runs.has(`${r.tenantId}|${r.dedupeKey}`),
    );
    const recorded = new Set<string>();
    const triggerIds = [...new Set(slotted.map((r) => r.triggerId!))];
    for (let i = 0; i < triggerIds.length; i += 500) {
      const rows = await m.find(TriggerSlotEntity, {
        where: {
          triggerId: In(triggerIds.slice(i, i + 500)),
          slotAt: In([...new Set(slotted.map((r) => r.logicalDate))]),
        },
        select: { triggerId: true, slotAt: true },
      });
      for (const r of rows) recorded.add(`${r.triggerId}|${r.slotAt}`);
    }
    const now = Date.now();
    const ledger = slotted
      .filter((r) => !recorded.has(`${r.triggerId}|${r.logicalDate}`))
      .map((r) => ({
        id: newId(now),
        tenantId: r.tenantId,
        triggerId: r.triggerId!,
        jobName: r.jobName,
        slotAt: r.logicalDate,
        outcome: r.slotOutcome ?? 'fired',
        runId: runs.get(`${r.tenantId}|${r.dedupeKey}`)!.id,
        recordedAt: now,
      }));
    for (let i = 0; i < ledger.length; i += 500) await m.insert(TriggerSlotEntity, ledger.slice(i, i + 500));
    return { ...fx, queued: true };
  }

  /**
   * A trigger's run request, under the trigger's overlap policy, recorded in
   * the slot ledger with what became of it.
   */
  private async fromRequest(m: EntityManager, req: RunRequested): Promise<Effects> {
    const scope = { tenantId: req.tenantId };
    const fx = noEffects();
    const job = await m.findOne(JobEntity, { where: { tenantId: req.tenantId, id: req.jobId } });
    if (!job) return fx; // deleted after the trigger fired: nothing to run
    const active = req.overlap && req.overlap !== 'allow' ? await this.engine.activeRuns(m, req.tenantId, job.id) : [];
    const decision = decideOverlap((req.overlap ?? 'allow') as OverlapPolicy, active.length);
    let outcome = req.slotOutcome ?? 'fired';
    let runId: string | null = null;
    const input = {
      jobName: job.name,
      params: req.params,
      logicalDate: req.logicalDate,
      dedupeKey: req.dedupeKey,
      triggerType: req.triggerType,
      triggerId: req.triggerId,
    };
    switch (decision) {
      case 'start':
        runId = (await this.engine.createRun(m, scope, input)).run.id;
        break;
      case 'skip':
        outcome = 'skipped_overlap';
        // A fixed-delay trigger waits for a run's end to schedule its next slot: tell it this slot ended here.
        if (req.triggerType === 'fixedDelay') {
          await enqueueEvent(m, {
            topic: topic('run-events'),
            type: 'run.skipped',
            key: req.tenantId,
            tenantId: req.tenantId,
            payload: { tenantId: req.tenantId, jobName: job.name, triggerId: req.triggerId, finishedAt: Date.now() },
          });
        }
        break;
      case 'queue':
        runId = (await this.engine.createRun(m, scope, { ...input, initialState: 'queued' })).run.id;
        outcome = 'queued_overlap';
        break;
      case 'cancel_previous': {
        for (const prev of active) {
          const locked = await this.engine.lockRun(m, scope, prev.id);
          if (!locked) continue;
          const c = await this.engine.cancelRun(m, locked, `cancelled by a newer slot (overlap policy)`, Date.now());
          fx.cancel.push(...c.cancel);
        }
        runId = (await this.engine.createRun(m, scope, input)).run.id;
        outcome = 'cancelled_previous';
        break;
      }
      default: {
        const never: never = decision;
        throw new Error(`unknown overlap decision ${String(never)}`);
      }
    }
    const ledgered = TIME_TRIGGERS.has(req.triggerType) ? req.triggerId : null;
    const recorded = ledgered
      ? await m.findOne(TriggerSlotEntity, { where: { triggerId: ledgered, slotAt: req.logicalDate } })
      : null;
    if (recorded) {
      await m.update(TriggerSlotEntity, { id: recorded.id }, { outcome, runId, recordedAt: Date.now() });
    } else if (ledgered) {
      await m.insert(TriggerSlotEntity, {
        id: newId(),
        tenantId: req.tenantId,
        triggerId: ledgered,
        jobName: job.name,
        slotAt: req.logicalDate,
        outcome,
        runId,
        recordedAt: Date.now(),
      });
    }
    fx.queued = true;
    return fx;
  }

  async trigger(scope: TenantScope, jobName: string, cmd: TriggerRunCommand) {
    const dedupeKey = cmd.idempotencyKey ? `manual:${cmd.idempotencyKey}` : `manual:${newId()}`;
    const create = () =>
      this.db.tx((m) =>
        this.engine.createRun(m, scope, {
          jobName,
          params: cmd.params,
          logicalDate: cmd.logicalDate ?? Date.now(),
          dedupeKey,
          triggerType: 'manual',
          triggerId: null,
          traceparent: cmd.traceparent ?? null,
        }),
      );
    let r;
    try {
      r = await create();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      r = await create(); // the same key raced; the second call finds the first run
    }
    if (r.run.jobName !== jobName) {
      throw ProblemException.conflict(`idempotencyKey was already used for a run of job ${r.run.jobName}`);
    }
    if (r.created) {
      this.relay.kick();
      this.dispatcher.kick();
    }
    return { run: await this.get(scope, r.run.id), created: r.created };
  }

  private async locked(m: EntityManager, scope: TenantScope, id: string): Promise<RunEntity> {
    const found = await m.findOne(RunEntity, { where: { tenantId: scope.tenantId, id } });
    if (!found) throw ProblemException.notFound(`run ${id}`);
    return (await this.engine.lockRun(m, scope, id))!;
  }

  /** Cancels a run; its running attempts get Cancel on their agents. */
  async cancel(scope: TenantScope, id: string, reason: string) {
    const fx = await this.db.tx(async (m) => {
      const run = await this.locked(m, scope, id);
      if (run.state !== 'running' && run.state !== 'queued') {
        throw ProblemException.conflict(`run ${id} is already ${run.state}`);
      }
      return this.engine.cancelRun(m, run, reason, Date.now());
    });
    this.commands.apply(fx, true);
    return this.get(scope, id);
  }

  async rerun(scope: TenantScope, id: string, mode: 'failed' | 'all') {
    const next = await this.db.tx(async (m) => this.engine.rerun(m, await this.locked(m, scope, id), mode, Date.now()));
    this.relay.kick();
    this.dispatcher.kick();
    return this.get(scope, next.id);
  }

  async mark(scope: TenantScope, id: string, key: string, state: 'succeeded' | 'skipped') {
    const fx = await this.db.tx(async (m) =>
      this.engine.markTask(m, await this.locked(m, scope, id), key, state, Date.now()),
    );
    this.commands.apply(fx, false);
    return this.get(scope, id);
  }

  async get(scope: TenantScope, id: string) {
    const run = await this.db.manager.findOne(RunEntity, { where: { tenantId: scope.tenantId, id } });
    if (!run) throw ProblemException.notFound(`run ${id}`);
    const [tasks, attempts, def] = await Promise.all([
      this.db.manager.find(TaskRunEntity, { where: { tenantId: scope.tenantId, runId: id } }),
      this.db.manager.find(AttemptEntity, {
        where: { tenantId: scope.tenantId, runId: id },
        order: { number: 'ASC', assignedAt: 'ASC' },
      }),
      this.defs.get(this.db.manager, scope.tenantId, run.jobVersionId),
    ]);
    const agentIds = [...new Set(attempts.map((a) => a.agentId))];
    const agents = agentIds.length
      ? await this.db.manager.find(AgentEntity, { where: { tenantId: scope.tenantId, id: In(agentIds) } })
      : [];
    const agentName = new Map(agents.map((a) => [a.id, a.name]));
    const order = new Map(topologicalOrder(def.tasks).map((k, i) => [k, i]));
    tasks.sort((a, b) => (order.get(a.taskKey) ?? 0) - (order.get(b.taskKey) ?? 0));
    const wait = await this.waitContext(scope, run, def, tasks);
    return {
      ...summary(run),
      tasks: tasks.map((t) => {
        const spec = taskOf(def, t.taskKey) as (TaskSpecView & JobDefinition['tasks'][number]) | undefined;
        const waiting = spec
          ? waitingReason(
              {
                state: t.state,
                readyAt: t.readyAt,
                agentSelector: spec.agentSelector,
                cpuMillis: spec.resources?.cpuMillis ?? 0,
                memoryMb: spec.resources?.memoryMb ?? 0,
                pool: t.pool,
                poolSlots: t.poolSlots,
              },
              wait,
            )
          : null;
        return {
          key: t.taskKey,
          type: spec?.type ?? null,
          dependsOn: spec?.dependsOn ?? [],
          state: t.state,
          attemptsUsed: t.attemptsUsed,
          exitCode: t.exitCode,
          output: parseOutput(t.output),
          error: t.error,
          readyAt: iso(t.readyAt),
          nextAttemptAt: t.state === 'up_for_retry' ? iso(t.readyAt) : null,
          waitingReason: waiting?.reason ?? null,
          waitingUntil: iso(waiting?.until ?? null),
          startedAt: iso(t.startedAt),
          finishedAt: iso(t.finishedAt),
          attempts: attempts
            .filter((a) => a.taskRunId === t.id)
            .map((a) => ({
              id: a.id,
              number: a.number,
              state: a.state,
              agent: agentName.get(a.agentId) ?? a.agentId,
              kind: a.kind,
              exitCode: a.exitCode,
              error: a.error,
              lateResult: a.lateResult ? (JSON.parse(a.lateResult) as unknown) : null,
              assignedAt: iso(a.assignedAt),
              startedAt: iso(a.startedAt),
              finishedAt: iso(a.finishedAt),
            })),
        };
      }),
    };
  }

  /** What decides whether the run's waiting tasks can start: limits, quota and the tenant's agents. */
  private async waitContext(
    scope: TenantScope,
    run: RunEntity,
    def: JobDefinition,
    tasks: readonly TaskRunEntity[],
  ): Promise<WaitContext> {
    const live = (s: string) => s === 'assigned' || s === 'running';
    const ctx = {
      runState: run.state,
      runActiveTasks: tasks.filter((t) => live(t.state)).length,
      maxActiveTasks: def.maxActiveTasks ?? null,
      tenantRunningTasks: 0,
      tenantMaxRunningTasks: null as number | null,
      agents: [] as AgentView[],
      pools: new Map<string, PoolUse>(),
    };
    if (run.state !== 'running' || !tasks.some((t) => t.state === 'queued')) return ctx;
    const m = this.db.manager;
    const pooled = tasks.filter((t) => t.state === 'queued' && t.pool !== null).map((t) => t.pool!);
    ctx.pools = await poolUsage(m, scope, pooled);
    const quota = await m.findOne(TenantQuotaEntity, { where: { tenantId: scope.tenantId } });
    if (quota?.maxRunningTasks != null) {
      ctx.tenantMaxRunningTasks = quota.maxRunningTasks;
      ctx.tenantRunningTasks = await m.count(TaskRunEntity, {
        where: { tenantId: scope.tenantId, state: In(['assigned', 'running']) },
      });
    }
    const agents = await m.find(AgentEntity, { where: { tenantId: scope.tenantId, status: 'connected' } });
    if (agents.length === 0) return ctx;
    const usedBy = await liveAttemptsByAgent(m, scope);
    const now = Date.now();
    ctx.agents = agents.map((a) => ({
      labels: a.labels,
      slots: a.slots,
      used: usedBy.get(a.id) ?? 0,
      healthy: presenceHealthy(a.lastSeenAt, now, this.config.scheduler.heartbeatIntervalMs),
      cpuMillis: a.cpuMillis,
      memoryMb: a.memoryMb,
    }));
    return ctx;
  }

  async list(
    scope: TenantScope,
    filter: { job?: string; state?: string },
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<ReturnType<typeof summary>>> {
    const after = decodeNumericCursor(cursor);
    const q = this.db.manager
      .createQueryBuilder(RunEntity, 'r')
      .where('r.tenant_id = :t', { t: scope.tenantId })
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(limit + 1);
    if (filter.job) q.andWhere('r.job_name = :j', { j: filter.job });
    if (filter.state) q.andWhere('r.state = :s', { s: filter.state });
    if (after)
      q.andWhere('(r.created_at < :k OR (r.created_at = :k AND r.id < :id))', { k: Number(after.k), id: after.id });
    const rows = await q.getMany();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(summary),
      nextCursor: rows.length > limit && last ? encodeCursor({ k: last.createdAt, id: last.id }) : null,
    };
  }

  /** A task's log: the given attempt's, or the latest attempt's. */
  async logs(scope: TenantScope, runId: string, key: string, attemptNumber?: number, sinceSeq = -1) {
    const task = await this.db.manager.findOne(TaskRunEntity, {
      where: { tenantId: scope.tenantId, runId, taskKey: key },
    });
    if (!task) {
      const run = await this.db.manager.findOne(RunEntity, { where: { tenantId: scope.tenantId, id: runId } });
      throw ProblemException.notFound(run ? `task ${key} in run ${runId}` : `run ${runId}`);
    }
    const attempts = await this.db.manager.find(AttemptEntity, {
      where: { tenantId: scope.tenantId, taskRunId: task.id },
      order: { assignedAt: 'DESC' },
    });
    const attempt = attemptNumber === undefined ? attempts[0] : attempts.find((a) => a.number === attemptNumber);
    if (!attempt) {
      if (attemptNumber !== undefined) throw ProblemException.notFound(`attempt ${attemptNumber} of task ${key}`);
      return { attempt: null, text: '', lastSeq: sinceSeq, taskState: task.state, attemptState: null };
    }
    const chunks = await this.db.manager.find(TaskLogEntity, {
      where: { tenantId: scope.tenantId, attemptId: attempt.id, seq: MoreThan(sinceSeq) },
      order: { seq: 'ASC' },
    });
    // The store keeps a bounded tail; say so when the head is gone.
    const cut = sinceSeq < 0 && chunks.length > 0 && chunks[0]!.seq > 0 ? DROPPED_LOG_NOTICE : '';
    return {
      attempt: attempt.number,
      text: cut + chunks.map((c) => c.data).join(''),
      lastSeq: chunks.length > 0 ? chunks[chunks.length - 1]!.seq : sinceSeq,
      taskState: task.state,
      attemptState: attempt.state,
    };
  }
}
