import { Inject, Injectable } from '@nestjs/common';
import type { TaskDefinition } from '@baton/domain';
import { AttemptEntity, Database, RunEntity, TaskRunEntity, newId } from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger } from '@baton/telemetry';
import type { Assign } from '@baton/proto';
import { type AgentSession, SessionRegistry } from '../gateway/sessions.js';
import { DefinitionCache } from './definitions.js';

const matches = (selector: Record<string, string>, labels: Readonly<Record<string, string>>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * Places queued tasks on this replica's agent sessions. Push-driven: `kick()`
 * is called when work is queued or a slot frees up, and coalesces bursts into
 * batches of claims.
 */
@Injectable()
export class Dispatcher {
  private running = false;
  private again = false;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly sessions: SessionRegistry,
    private readonly defs: DefinitionCache,
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

  /** One claim-and-assign transaction; returns how many attempts were assigned. */
  async dispatchOnce(): Promise<number> {
    const free = this.sessions.withFreeSlots();
    if (free.length === 0) return 0;
    const tenants = [...new Set(free.map((s) => s.tenantId))];
    const capacity = free.reduce((n, s) => n + (s.slots - s.inFlight.size), 0);
    const limit = Math.min(capacity, this.config.scheduler.dispatchBatch);
    const sends: Array<{ session: AgentSession; msg: Assign }> = [];
    await this.db.tx(async (m) => {
      const q = m
        .createQueryBuilder(TaskRunEntity, 't')
        .where('t.state = :s', { s: 'queued' })
        .andWhere('t.tenant_id IN (:...tenants)', { tenants })
        .orderBy('t.priority', 'DESC')
        .addOrderBy('t.ready_at', 'ASC')
        // Look past the head: tasks no free agent matches stay queued for others.
        .limit(limit * 4);
      if (this.db.dialect === 'mysql') q.setLock('pessimistic_write').setOnLocked('skip_locked');
      const claimed = await q.getMany();
      if (claimed.length === 0) return;
      const runs = await m
        .createQueryBuilder(RunEntity, 'r')
        .whereInIds([...new Set(claimed.map((t) => t.runId))])
        .getMany();
      const runById = new Map(runs.map((r) => [r.id, r]));
      const load = new Map(free.map((s) => [s.id, s.inFlight.size]));
      const now = Date.now();
      for (const t of claimed) {
        if (sends.length >= limit) break;
        const run = runById.get(t.runId);
        if (!run) continue;
        const def = await this.defs.get(m, run.tenantId, run.jobVersionId);
        const spec = def.tasks.find((x) => x.key === t.taskKey);
        if (!spec) continue;
        // Least-loaded matching session with a free slot.
        let best: AgentSession | null = null;
        for (const s of free) {
          const used = load.get(s.id)!;
          if (s.tenantId !== t.tenantId || used >= s.slots || !matches(spec.agentSelector, s.labels)) continue;
          if (!best || used / s.slots < load.get(best.id)! / best.slots) best = s;
        }
        if (!best) continue;
        const attemptId = newId(now);
        const moved = await m
          .createQueryBuilder()
          .update(TaskRunEntity)
          .set({ state: 'assigned', currentAttemptId: attemptId, updatedAt: now })
          .where('id = :id AND state = :s', { id: t.id, s: 'queued' })
          .execute();
        if ((moved.affected ?? 0) !== 1) continue;
        const number = t.attemptsUsed + 1;
        await m.insert(AttemptEntity, {
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
          assignedAt: now,
          startedAt: null,
          finishedAt: null,
          exitCode: null,
          error: null,
          logBytes: 0,
          logSeq: -1,
        });
        load.set(best.id, load.get(best.id)! + 1);
        sends.push({ session: best, msg: this.assignment(attemptId, run, spec, number, t.id) });
      }
    });
    for (const { session, msg } of sends) {
      this.sessions.track(session, msg.attemptId);
      session.send({ msg: { $case: 'assign', value: msg } });
    }
    if (sends.length > 0) this.log.debug('assigned', { count: sends.length });
    return sends.length;
  }

  private assignment(
    attemptId: string,
    run: RunEntity,
    spec: TaskDefinition,
    number: number,
    taskRunId: string,
  ): Assign {
    return {
      attemptId,
      runId: run.id,
      taskKey: spec.key,
      attemptNumber: number,
      spec: {
        type: spec.type,
        command: spec.command ?? '',
        env: {
          ...spec.env,
          BATON_JOB: run.jobName,
          BATON_LOGICAL_DATE: new Date(run.logicalDate).toISOString(),
        },
        timeoutMs: spec.timeoutMs,
        killGraceMs: this.config.scheduler.killGraceMs,
        workingDir: '',
        http: spec.http
          ? {
              method: spec.http.method,
              url: spec.http.url,
              headers: spec.http.headers,
              body: spec.http.body ?? '',
              expectStatus: spec.http.expectStatus,
            }
          : undefined,
        script: undefined,
        sql: undefined,
      },
      deadlineMs: 0,
      traceContext: {},
      // The same for every attempt of this task in this run.
      idempotencyKey: `${run.id}:${spec.key}:${taskRunId.slice(-12)}`,
    };
  }
}
