import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, In, MoreThan } from 'typeorm';
import {
  type AgentView,
  type JobDefinition,
  type WaitContext,
  isRunFinished,
  presenceHealthy,
  topologicalOrder,
  waitingReason,
  slaView,
} from '@baton/domain';
import {
  AgentEntity,
  AttemptEntity,
  Database,
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
  quotaUse,
  scoped,
  RunSlaEntity,
  takeRunTokens,
} from '@baton/persistence';
import { EVENT_BUS, type EventBus, OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException, type Page, decodeNumericCursor, encodeCursor } from '@baton/http';
import { AgentCommands } from '../engine/agent-commands.js';
import { DROPPED_LOG_NOTICE } from '../logs/log-sink.js';
import { Dispatcher } from '../engine/dispatcher.js';
import { DefinitionCache, taskOf } from '../engine/definitions.js';
import { traceIdOf } from '@baton/telemetry';
import { RunEngine } from '../engine/run-engine.js';

export interface TriggerRunCommand {
  params: Record<string, unknown>;
  logicalDate: number | null;
  idempotencyKey: string | null;
  /** W3C traceparent of the caller, if it sent one. */
  traceparent?: string | null;
}

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
export class RunsService {
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

  async trigger(scope: TenantScope, jobName: string, cmd: TriggerRunCommand) {
    const dedupeKey = cmd.idempotencyKey ? `manual:${cmd.idempotencyKey}` : `manual:${newId()}`;
    const create = () =>
      this.db.tx(async (m) => {
        const r = await this.engine.createRun(m, scope, {
          jobName,
          params: cmd.params,
          logicalDate: cmd.logicalDate ?? Date.now(),
          dedupeKey,
          triggerType: 'manual',
          triggerId: null,
          traceparent: cmd.traceparent ?? null,
        });
        // The tenant's runsPerMinute quota: a new manual run takes a token or is refused (rolled back) with
        // Retry-After; the same idempotencyKey again finds its run and costs none.
        if (r.created) {
          const t = await takeRunTokens(this.db, m, scope, 1, Date.now());
          if (t.granted < 1) {
            throw ProblemException.quotaExceeded(
              429,
              {
                quota: 'runsPerMinute',
                limit: t.perMinute!,
                message: `quota runsPerMinute is ${t.perMinute}: no run may start now; try again in ${Math.ceil(t.retryAfterMs / 1000)} s`,
              },
              t.retryAfterMs,
            );
          }
        }
        return r;
      });
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
    const found = await scoped(m, scope).findOne(RunEntity, { where: { id } });
    if (!found) throw ProblemException.notFound(`run ${id}`);
    return (await this.engine.lockRun(m, scope, id))!;
  }

  /** Cancels a run; its running attempts get Cancel on their agents. */
  async cancel(scope: TenantScope, id: string, reason: string) {
    const fx = await this.db.tx(async (m) => {
      const run = await this.locked(m, scope, id);
      if (isRunFinished(run.state)) {
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
    const run = await scoped(this.db.manager, scope).findOne(RunEntity, { where: { id } });
    if (!run) throw ProblemException.notFound(`run ${id}`);
    const [tasks, attempts, def, sla] = await Promise.all([
      scoped(this.db.manager, scope).find(TaskRunEntity, { where: { runId: id } }),
      scoped(this.db.manager, scope).find(AttemptEntity, {
        where: { runId: id },
        order: { number: 'ASC', assignedAt: 'ASC' },
      }),
      this.defs.get(this.db.manager, scope.tenantId, run.jobVersionId),
      // Kept by the insight service (shared schema, read here): the run's deadlines, state and predicted finish.
      scoped(this.db.manager, scope).findOne(RunSlaEntity, { where: { runId: id } }),
    ]);
    const agentIds = [...new Set(attempts.map((a) => a.agentId))];
    const agents = agentIds.length
      ? await scoped(this.db.manager, scope).find(AgentEntity, { where: { id: In(agentIds) } })
      : [];
    const agentName = new Map(agents.map((a) => [a.id, a.name]));
    const order = new Map(topologicalOrder(def.tasks).map((k, i) => [k, i]));
    tasks.sort((a, b) => (order.get(a.taskKey) ?? 0) - (order.get(b.taskKey) ?? 0));
    const wait = await this.waitContext(scope, run, def, tasks);
    return {
      ...summary(run),
      sla: sla ? slaView(sla) : null,
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
    const ctx: { -readonly [K in keyof WaitContext]: WaitContext[K] } = {
      runState: run.state,
      runActiveTasks: tasks.filter((t) => live(t.state)).length,
      maxActiveTasks: def.maxActiveTasks ?? null,
      tenantRunningTasks: 0,
      tenantMaxRunningTasks: null as number | null,
      agents: [] as AgentView[],
      pools: new Map<string, PoolUse>(),
      heldAtShare: this.dispatcher.heldAtShare(scope.tenantId),
    };
    const m = this.db.manager;
    // Queued by the tenant's maxConcurrentRuns rather than by the job's own limit.
    if (run.state === 'queued') ctx.runQueuedByTenant = run.queuedBy === 'tenant_quota';
    if (run.state === 'scheduled') ctx.runScheduledFor = run.logicalDate;
    if (run.state !== 'running' || !tasks.some((t) => t.state === 'queued')) return ctx;
    const pooled = tasks.filter((t) => t.state === 'queued' && t.pool !== null).map((t) => t.pool!);
    ctx.pools = await poolUsage(m, scope, pooled);
    const quota = await scoped(m, scope).findOne(TenantQuotaEntity, { where: {} });
    if (quota?.maxRunningTasks != null) {
      ctx.tenantMaxRunningTasks = quota.maxRunningTasks;
      ctx.tenantRunningTasks = await scoped(m, scope).count(TaskRunEntity, {
        where: { state: In(['assigned', 'running']) },
      });
    }
    if (quota && (quota.maxCpuMillis !== null || quota.maxMemoryMb !== null)) {
      const use = await quotaUse(m, scope, 0);
      ctx.tenantResources = {
        limits: { maxCpuMillis: quota.maxCpuMillis, maxMemoryMb: quota.maxMemoryMb },
        use: { cpuMillis: use.maxCpuMillis, memoryMb: use.maxMemoryMb },
      };
    }
    const agents = await scoped(m, scope).find(AgentEntity, { where: { status: 'connected' } });
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
    const q = scoped(this.db.manager, scope)
      .query(RunEntity, 'r')
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
    const task = await scoped(this.db.manager, scope).findOne(TaskRunEntity, { where: { runId, taskKey: key } });
    if (!task) {
      const run = await scoped(this.db.manager, scope).findOne(RunEntity, { where: { id: runId } });
      throw ProblemException.notFound(run ? `task ${key} in run ${runId}` : `run ${runId}`);
    }
    const attempts = await scoped(this.db.manager, scope).find(AttemptEntity, {
      where: { taskRunId: task.id },
      order: { assignedAt: 'DESC' },
    });
    const attempt = attemptNumber === undefined ? attempts[0] : attempts.find((a) => a.number === attemptNumber);
    if (!attempt) {
      if (attemptNumber !== undefined) throw ProblemException.notFound(`attempt ${attemptNumber} of task ${key}`);
      return { attempt: null, text: '', lastSeq: sinceSeq, taskState: task.state, attemptState: null };
    }
    const chunks = await scoped(this.db.manager, scope).find(TaskLogEntity, {
      where: { attemptId: attempt.id, seq: MoreThan(sinceSeq) },
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
