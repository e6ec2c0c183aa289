import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  FAIR_SHARE_MEMORY_MS,
  type JobDefinition,
  type QuotaLimits,
  type TaskDefinition,
  fairShares,
  labelsMatch,
  poolHasRoom,
  quotaResources,
  taskQuotaRefusal,
} from '@baton/domain';
import {
  type Assignment,
  AttemptEntity,
  Database,
  RunEntity,
  TaskRunEntity,
  TenantQuotaEntity,
  TransitionStore,
  claimQueuedTasks,
  newId,
  poolUsage,
  scoped,
  scopedTo,
  type TenantData,
} from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import {
  LOGGER,
  type Logger,
  attemptTraceparent,
  batonMetrics,
  recordDispatchSpans,
  tracingEnabled,
} from '@baton/telemetry';
import type { Assign } from '@baton/proto';
import { AgentDirectory, type AgentLink } from './agents.js';
import { ACK_GRACE_MS, Alarm } from './alarm.js';
import { DefinitionCache, taskOf } from './definitions.js';
import { RunEngine } from './run-engine.js';
import { type Executable, TaskRenderer, outputsOf } from './task-renderer.js';

type TaskDef = TaskDefinition & {
  resources?: { cpuMillis: number; memoryMb: number };
  compensate?: Executable | null;
};
type JobDef = JobDefinition & { maxActiveTasks?: number | null };

/** A tenant's task quotas in a dispatch batch, with what its tasks hold (placements add to it). */
interface TenantTaskQuota {
  limits: Pick<QuotaLimits, 'maxRunningTasks' | 'maxCpuMillis' | 'maxMemoryMb'>;
  use: { tasks: number; cpuMillis: number; memoryMb: number };
  weight: number;
}

/** Claimed rows past a tenant's free capacity, for tasks no free agent matches. */
const LOOKAHEAD = 20;
/** Tenants claimed for in one batch; more take turns across batches. */
const MAX_TENANTS_PER_BATCH = 64;
/**
 * A batch's size while more than one tenant has queued work: smaller
 * transactions, so a tenant's few tasks wait for less of another's flood.
 */
export const CONTENDED_BATCH = 100;
/** Tasks per tenant remembered as unplaceable on this replica (past it the memory starts over). */
const MAX_UNPLACEABLE = 2_000;

/**
 * Whether connection `s` takes a task with these labels and requests, with
 * `usedCpu`/`usedMemory` already placed on it (0 and 0: whether it ever could).
 */
function fits(
  s: AgentLink,
  selector: Readonly<Record<string, string>>,
  needCpu: number,
  needMem: number,
  usedCpu: number,
  usedMemory: number,
): boolean {
  return (
    labelsMatch(selector, s.labels) &&
    !(s.cpuMillis > 0 && needCpu > 0 && usedCpu + needCpu > s.cpuMillis) &&
    !(s.memoryMb > 0 && needMem > 0 && usedMemory + needMem > s.memoryMb)
  );
}

interface Placement {
  session: AgentLink;
  msg: Assign;
  cpu: number;
  memory: number;
  /** For metrics and spans: the run, and when the task was queued. */
  run: RunEntity;
  readyAt: number | null;
}

/**
 * Places queued tasks (and queued compensations) on this replica's agent
 * sessions. Push-driven: `kick()` runs when work is queued or a slot frees,
 * and coalesces bursts into batched claims. Placement honours tenant, agent
 * labels, free slots, CPU and memory capacity, and each run's
 * `maxActiveTasks`.
 */
@Injectable()
export class Dispatcher {
  private running = false;
  private again = false;
  /** Fractions of fair shares owed to each tenant, carried from batch to batch. */
  private readonly credit = new Map<string, number>();
  private rotor = 0;
  /**
   * Per tenant: queued tasks that no connection of the tenant on this replica
   * could take (labels, capacity), whatever its load. They are passed over by
   * the claim, so a head of the queue that only another replica's agents (or
   * none yet) can run does not hold back the tasks behind it. Forgotten when
   * this replica's connections change (`AgentDirectory.generation`).
   */
  private readonly unplaceable = new Map<string, Set<string>>();
  private unplaceableGeneration = -1;
  /** When a batch last left claimable work of a tenant for later because the batch went to other shares. */
  private readonly heldBack = new Map<string, number>();
  /** The last batch claimed work of more than one tenant. */
  private contended = false;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly transitions: TransitionStore,
    private readonly sessions: AgentDirectory,
    private readonly defs: DefinitionCache,
    private readonly engine: RunEngine,
    private readonly renderer: TaskRenderer,
    private readonly alarm: Alarm,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('dispatch');
  }

  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => {
      void this.loop()
        .catch((err: unknown) => {
          this.log.error('dispatch failed', { error: err instanceof Error ? err.stack : String(err) });
          setTimeout(() => this.kick(), 200).unref();
        })
        .finally(() => {
          this.running = false;
          if (this.again) {
            this.again = false;
            this.kick();
          }
        });
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      this.again = false;
      const placed = await this.dispatchOnce();
      if (placed === 0 && !this.again) return;
    }
  }

  /**
   * One claim-and-assign transaction; returns how many attempts were assigned
   * (or failed to render), plus one when it learned of tasks it cannot place
   * (the next batch then looks past them).
   */
  async dispatchOnce(): Promise<number> {
    const free = this.sessions.withFreeSlots();
    if (free.length === 0) return 0;
    const capacityOf = new Map<string, number>();
    for (const s of free) capacityOf.set(s.tenantId, (capacityOf.get(s.tenantId) ?? 0) + s.slots - s.inFlight.size);
    const tenants = this.rotation([...capacityOf.keys()]);
    const capacity = tenants.reduce((n, t) => n + capacityOf.get(t)!, 0);
    const limit = Math.min(
      capacity,
      this.contended
        ? Math.min(CONTENDED_BATCH, this.config.scheduler.dispatchBatch)
        : this.config.scheduler.dispatchBatch,
    );
    // Built inside the transaction callback and returned: a deadlock retry starts them over.
    let learned = 0;
    const claimedAt = Date.now();
    const { placements, failedToRender } = await this.db.tx(async (m) => {
      const placements: Placement[] = [];
      let failedToRender = 0;
      learned = 0;
      /** Every connection of this replica, read once a batch when a task finds no free one. */
      let links: AgentLink[] | null = null;
      const quota = await this.tenantQuotas(m, tenants);
      // Each tenant's own queue, in its own priority order: one tenant's flood or priorities never hide another's work.
      const queues = new Map<string, TaskRunEntity[]>();
      if (this.sessions.generation() !== this.unplaceableGeneration) {
        this.unplaceable.clear();
        this.unplaceableGeneration = this.sessions.generation();
      }
      for (const tenant of tenants) {
        const known = this.unplaceable.get(tenant);
        if (!known || known.size > MAX_UNPLACEABLE) this.unplaceable.set(tenant, new Set());
        // Look a little past what the tenant's agents can take (tasks no free agent matches stay queued for
        // others), but leave the rest unlocked for the other replicas claiming beside us.
        const rows = await claimQueuedTasks(
          this.db,
          m,
          { tenantId: tenant },
          Math.min(capacityOf.get(tenant)!, limit) + LOOKAHEAD,
          [...this.unplaceable.get(tenant)!],
        );
        if (rows.length > 0) queues.set(tenant, rows);
      }
      this.contended = queues.size > 1;
      if (queues.size === 0) return { placements, failedToRender };
      const claimed = [...queues.values()].flat();
      const runIds = [...new Set(claimed.map((t) => t.runId))];
      const batch = scopedTo(m, [...queues.keys()]);
      const runs = await batch.query(RunEntity, 'r').andWhereInIds(runIds).getMany();
      const runById = new Map(runs.map((r) => [r.id, r]));
      // Active tasks are counted only for runs whose job limits them (a count reads the run's task index).
      const limited: string[] = [];
      for (const r of runs) {
        const def = (await this.defs.get(m, r.tenantId, r.jobVersionId)) as JobDef;
        if (def.maxActiveTasks !== null && def.maxActiveTasks !== undefined) limited.push(r.id);
      }
      const active = limited.length > 0 ? await this.activeTasks(batch, limited) : new Map<string, number>();
      // Pools the claimed tasks draw on, per tenant, with the slots in use (placements below add to them).
      const pools = new Map<string, { slots: number; used: number }>();
      for (const [tenant, rows] of queues) {
        const names = rows.flatMap((t) => (t.pool !== null && t.state === 'queued' ? [t.pool] : []));
        for (const [name, use] of await poolUsage(m, { tenantId: tenant }, names)) {
          pools.set(`${tenant}|${name}`, { ...use });
        }
      }
      const outputs = new Map<string, Record<string, unknown>>();
      const load = new Map(free.map((s) => [s.id, s.inFlight.size]));
      const cpu = new Map(free.map((s) => [s.id, s.usedCpu]));
      const mem = new Map(free.map((s) => [s.id, s.usedMemory]));
      const now = Date.now();
      const attemptRows: AttemptEntity[] = [];
      const moves: Assignment[] = [];
      /** Tries to place one claimed task: assigned, failed before it was sent, or left queued. */
      const place = async (t: TaskRunEntity): Promise<'placed' | 'failed' | 'left'> => {
        const run = runById.get(t.runId);
        if (!run || run.state !== 'running') return 'left';
        const def = (await this.defs.get(m, run.tenantId, run.jobVersionId)) as JobDef;
        const spec = taskOf(def, t.taskKey) as TaskDef | undefined;
        if (!spec) return 'left';
        const compensation = t.state === 'compensating';
        const exec: Executable | null | undefined = compensation ? spec.compensate : spec;
        if (!exec) return 'left';
        // The tenant's quotas of tasks, CPU and memory of tasks running at once (compensations are not held back).
        const tq = quota.get(t.tenantId);
        const counted = quotaResources(spec.resources);
        if (!compensation && tq && taskQuotaRefusal(tq.limits, tq.use, counted) !== null) return 'left';
        const maxActive = def.maxActiveTasks ?? null;
        if (!compensation && maxActive !== null && (active.get(run.id) ?? 0) >= maxActive) return 'left';
        // A pool that does not exist has no slots; compensations are not held back.
        const pool = !compensation && t.pool !== null ? pools.get(`${t.tenantId}|${t.pool}`) : null;
        if (pool !== null && !poolHasRoom(pool, t.poolSlots)) return 'left';
        const needCpu = compensation ? 0 : (spec.resources?.cpuMillis ?? 0);
        const needMem = compensation ? 0 : (spec.resources?.memoryMb ?? 0);
        // Least-loaded matching session with a free slot and room for the request.
        let best: AgentLink | null = null;
        for (const s of free) {
          const used = load.get(s.id)!;
          if (s.tenantId !== t.tenantId || used >= s.slots) continue;
          if (!fits(s, spec.agentSelector, needCpu, needMem, cpu.get(s.id)!, mem.get(s.id)!)) continue;
          if (!best || used / s.slots < load.get(best.id)! / best.slots) best = s;
        }
        if (!best) {
          // No connection of the tenant here could ever take it (not merely a full one): pass it over from now on.
          links ??= this.sessions.all();
          if (!links.some((s) => s.tenantId === t.tenantId && fits(s, spec.agentSelector, needCpu, needMem, 0, 0))) {
            this.unplaceable.get(t.tenantId)?.add(t.id);
            learned++;
          }
          return 'left';
        }
        if (!outputs.has(run.id) && this.renderer.needsOutputs(exec)) {
          outputs.set(run.id, await this.outputsOf(m, run));
        }
        const secrets = await this.renderer.openSecrets(m, run, exec);
        const rendered = secrets.ok
          ? this.renderer.render(run, def, exec, outputs.get(run.id) ?? {}, secrets.values)
          : secrets;
        const attemptId = newId(now);
        if (!rendered.ok) {
          // A template that cannot render fails the task now, with the reason, instead of on the agent.
          const failed = await this.failUnrenderable(m, t, run, rendered.error, now);
          failedToRender += failed;
          return failed > 0 ? 'failed' : 'left';
        }
        // The claim locked the row (SKIP LOCKED on MySQL; one writer on SQLite): the move is written in bulk below.
        moves.push({ tenantId: t.tenantId, taskRunId: t.id, attemptId, compensation });
        const number = compensation ? 1 : t.attemptsUsed + 1;
        const timeout = rendered.spec.timeoutMs;
        attemptRows.push({
          id: attemptId,
          tenantId: t.tenantId,
          runId: t.runId,
          taskRunId: t.id,
          taskKey: t.taskKey,
          number,
          state: 'assigned',
          agentId: best.agentId,
          sessionId: best.id,
          expiresAt: now + this.config.scheduler.ackTimeoutMs,
          // The server's own deadline: the agent's timeout plus its kill grace, counted from now.
          deadlineAt:
            timeout > 0
              ? now + this.config.scheduler.ackTimeoutMs + timeout + this.config.scheduler.killGraceMs + 1_000
              : null,
          assignedAt: now,
          startedAt: null,
          finishedAt: null,
          exitCode: null,
          error: null,
          logBytes: 0,
          logSeq: -1,
          kind: compensation ? 'compensation' : 'main',
          lateResult: null,
          quotaCpuMillis: counted.cpuMillis,
          quotaMemoryMb: counted.memoryMb,
        });
        load.set(best.id, load.get(best.id)! + 1);
        cpu.set(best.id, cpu.get(best.id)! + needCpu);
        mem.set(best.id, mem.get(best.id)! + needMem);
        if (!compensation) active.set(run.id, (active.get(run.id) ?? 0) + 1);
        if (tq) {
          tq.use.tasks += compensation ? 0 : 1;
          tq.use.cpuMillis += counted.cpuMillis;
          tq.use.memoryMb += counted.memoryMb;
        }
        if (pool) pool.used += t.poolSlots;
        placements.push({
          session: best,
          cpu: needCpu,
          memory: needMem,
          run,
          readyAt: t.readyAt,
          msg: {
            attemptId,
            runId: run.id,
            taskKey: spec.key,
            attemptNumber: number,
            spec: rendered.spec,
            deadlineMs: 0,
            // The attempt's span (a child of the run's); the agent's span is its child and the task gets that.
            traceContext: { traceparent: attemptTraceparent(run, attemptId) },
            // The same for every attempt of this task in this run.
            idempotencyKey: `${run.id}:${spec.key}`,
            // The agent does not start an offer it receives after this (it was frozen, the stream stalled).
            ackDeadlineMs: now + this.config.scheduler.ackTimeoutMs,
            secretValues: rendered.secretValues,
          },
        });
        return 'placed';
      };
      // Weighted fair shares of the batch first, each tenant in its own order; then what a share left unused.
      const shares = fairShares(
        limit,
        [...queues].map(([id, rows]) => ({
          id,
          weight: quota.get(id)?.weight ?? 1,
          demand: Math.min(rows.length, capacityOf.get(id)!),
        })),
        this.credit,
      );
      const cursor = new Map<string, number>();
      for (const [tenant, rows] of queues) {
        let i = 0;
        for (let n = 0; n < shares.get(tenant)! && i < rows.length && placements.length < limit; i++) {
          if ((await place(rows[i]!)) === 'placed') n++;
        }
        cursor.set(tenant, i);
      }
      for (let progress = true; progress && placements.length < limit;) {
        progress = false;
        for (const [tenant, rows] of queues) {
          let i = cursor.get(tenant)!;
          while (i < rows.length && placements.length < limit) {
            if ((await place(rows[i++]!)) === 'placed') {
              progress = true;
              break;
            }
          }
          cursor.set(tenant, i);
        }
      }
      // A tenant with claimed tasks not even tried when the batch filled up was held at its share (waitingReason).
      for (const [tenant, rows] of queues) {
        if (placements.length >= limit && cursor.get(tenant)! < rows.length) this.heldBack.set(tenant, now);
        else this.heldBack.delete(tenant);
      }
      await this.transitions.assign(m, moves, now);
      // One multi-row insert for the batch's attempts.
      await batch.insert(AttemptEntity, attemptRows);
      return { placements, failedToRender };
    });
    if (placements.length > 0) {
      const sent = Date.now();
      const metrics = batonMetrics();
      for (const p of placements) {
        const tenant = metrics.tenantLabel(p.run.tenantId);
        metrics.assigned.add(1, { tenant });
        const labels = metrics.jobLabels(p.run.tenantId, p.run.jobName);
        if (p.readyAt !== null) metrics.queueWait.record(Math.max(0, sent - p.readyAt) / 1000, labels);
        if (p.msg.attemptNumber > 1) metrics.retries.add(1, labels);
      }
      // Offers not acknowledged by then are expired on time, not at the next sweep.
      this.alarm.at(Date.now() + this.config.scheduler.ackTimeoutMs + ACK_GRACE_MS);
    }
    for (const p of placements) {
      this.sessions.track(p.session, p.msg.attemptId, p.cpu, p.memory);
      p.session.send({ msg: { $case: 'assign', value: p.msg } });
    }
    if (tracingEnabled()) {
      const sent = Date.now();
      for (const p of placements) {
        const a = {
          id: p.msg.attemptId,
          taskKey: p.msg.taskKey,
          number: p.msg.attemptNumber,
          agentId: p.session.agentId,
        };
        recordDispatchSpans(p.run, a, p.readyAt, claimedAt, sent);
      }
    }
    if (failedToRender > 0) this.relay.kick();
    return placements.length + failedToRender + (learned > 0 ? 1 : 0);
  }

  /** Tenants to claim for now: all of them, or a rotating window when there are many. */
  /** Whether a batch of this replica held the tenant at its fair share lately (FAIR_SHARE_MEMORY_MS). */
  heldAtShare(tenantId: string, now = Date.now()): boolean {
    const at = this.heldBack.get(tenantId);
    return at !== undefined && now - at <= FAIR_SHARE_MEMORY_MS;
  }

  private rotation(tenants: string[]): string[] {
    if (tenants.length <= MAX_TENANTS_PER_BATCH) return tenants;
    const start = this.rotor % tenants.length;
    this.rotor = (start + MAX_TENANTS_PER_BATCH) % tenants.length;
    return [...tenants, ...tenants].slice(start, start + MAX_TENANTS_PER_BATCH);
  }

  /** Tenants' dispatch weights and task quotas (tasks, CPU, memory), with what their tasks hold now. */
  private async tenantQuotas(m: EntityManager, tenantIds: string[]): Promise<Map<string, TenantTaskQuota>> {
    const out = new Map<string, TenantTaskQuota>();
    const quotas = await scopedTo(m, tenantIds).find(TenantQuotaEntity);
    for (const q of quotas) {
      out.set(q.tenantId, {
        limits: { maxRunningTasks: q.maxRunningTasks, maxCpuMillis: q.maxCpuMillis, maxMemoryMb: q.maxMemoryMb },
        use: { tasks: 0, cpuMillis: 0, memoryMb: 0 },
        weight: q.dispatchWeight ?? 1,
      });
    }
    const limited = quotas.filter((q) => q.maxRunningTasks !== null);
    if (limited.length > 0) {
      const rows = await scopedTo(
        m,
        limited.map((q) => q.tenantId),
      )
        .query(TaskRunEntity, 't', 't.state IN (:...s)', { s: ['assigned', 'running'] })
        .select('t.tenant_id', 'tenantId')
        .addSelect('COUNT(*)', 'n')
        .groupBy('t.tenant_id')
        .getRawMany<{ tenantId: string; n: string | number }>();
      for (const r of rows) out.get(r.tenantId)!.use.tasks = Number(r.n);
    }
    // CPU and memory held: what each live attempt was counted for when it was placed.
    const sized = quotas.filter((q) => q.maxCpuMillis !== null || q.maxMemoryMb !== null);
    if (sized.length > 0) {
      const rows = await scopedTo(
        m,
        sized.map((q) => q.tenantId),
      )
        .query(AttemptEntity, 'a', 'a.state IN (:...s)', { s: ['assigned', 'running'] })
        .select('a.tenant_id', 'tenantId')
        .addSelect('SUM(a.quota_cpu_millis)', 'cpu')
        .addSelect('SUM(a.quota_memory_mb)', 'mem')
        .groupBy('a.tenant_id')
        .getRawMany<{ tenantId: string; cpu: string | number | null; mem: string | number | null }>();
      for (const r of rows) {
        const u = out.get(r.tenantId)!.use;
        u.cpuMillis = Number(r.cpu ?? 0);
        u.memoryMb = Number(r.mem ?? 0);
      }
    }
    return out;
  }

  private async activeTasks(batch: TenantData, runIds: string[]): Promise<Map<string, number>> {
    const rows = await batch
      .query(TaskRunEntity, 't', 't.run_id IN (:...ids) AND t.state IN (:...s)', {
        ids: runIds,
        s: ['assigned', 'running'],
      })
      .select('t.run_id', 'runId')
      .addSelect('COUNT(*)', 'n')
      .groupBy('t.run_id')
      .getRawMany<{ runId: string; n: string | number }>();
    return new Map(rows.map((r) => [r.runId, Number(r.n)]));
  }

  private async outputsOf(m: EntityManager, run: RunEntity): Promise<Record<string, unknown>> {
    return outputsOf(await scoped(m, run).find(TaskRunEntity, { where: { runId: run.id } }));
  }

  /** A task whose templates do not render fails before it is sent, with the reason; the run moves on. */
  private async failUnrenderable(m: EntityManager, t: TaskRunEntity, run: RunEntity, error: string, now: number) {
    if (t.state !== 'queued') return 0;
    const moved = await this.transitions.tasks(m, run, { ids: [t.id] }, ['queued'], 'failed', {
      error: `template error: ${error}`,
      finishedAt: now,
      updatedAt: now,
    });
    if (moved !== 1) return 0;
    const locked = await this.engine.lockRun(m, run, run.id);
    if (locked) await this.engine.advance(m, locked, await this.engine.definition(m, locked), now);
    return 1;
  }
}
