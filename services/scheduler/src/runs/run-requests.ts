import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type EntityManager, In, IsNull, Not } from 'typeorm';
import { type OverlapPolicy, TIME_TRIGGER_TYPES, decideOverlap, truncateUtf8 } from '@baton/domain';
import {
  Database,
  JobEntity,
  RUN_REQUEST_MAX_FAILURES,
  RunRequestEntity,
  TenantEntity,
  TenantQuotaEntity,
  TriggerSlotEntity,
  claimRunRequests,
  isUniqueViolation,
  newId,
  scoped,
  scopedTo,
  takeRunTokens,
} from '@baton/persistence';
import {
  EVENT_BUS,
  type EventBus,
  OUTBOX_RELAY,
  type OutboxRelay,
  Drainer,
  RUN_REQUESTS_SIGNAL,
  type RunRequested,
  enqueueEvent,
  topic,
} from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger } from '@baton/telemetry';
import { AgentCommands } from '../engine/agent-commands.js';
import { Dispatcher } from '../engine/dispatcher.js';
import { type Effects, RunEngine, noEffects } from '../engine/run-engine.js';
import { ScheduledStarts } from './scheduled-starts.js';

/** Only time triggers have slots, and so entries in the slot ledger. */
const TIME_TRIGGERS: ReadonlySet<string> = new Set(TIME_TRIGGER_TYPES);

/**
 * Requests claimed per transaction. On SQLite (one writer) a smaller batch
 * keeps each transaction short (~20 ms for 100 runs), so work due at an
 * instant (scheduled runs starting at their slot) never waits behind a long one.
 */
export const INTAKE_BATCH = { mysql: 500, sqlite: 100 } as const;

/**
 * Turns run requests (rows of `run_requests`, written by triggers beside
 * their `run.requested` events) into runs. Every scheduler replica claims
 * them with SKIP LOCKED, so no request waits on one replica: one that dies
 * mid-batch releases its rows with its connection and the next wake-up or
 * sweep of another replica takes them. Woken right after the commit of a
 * trigger in the same process (RUN_REQUESTS_SIGNAL), by the run-requests
 * topic (each replica in a group of its own) and after its own commits;
 * the sweep interval is only the safety net. The dedupe key makes a request
 * that is taken twice one run. A request that fails on its own is retried with a
 * count and set aside after RUN_REQUEST_MAX_FAILURES, so it never blocks
 * the ones behind it.
 */
@Injectable()
export class RunRequestIntake implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopped = false;
  private wake: { at: number; timer: NodeJS.Timeout } | null = null;
  private unlisten: () => void = () => undefined;
  private readonly drainer: Drainer;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly commands: AgentCommands,
    private readonly dispatcher: Dispatcher,
    private readonly starts: ScheduledStarts,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('intake');
    this.drainer = new Drainer(() => this.drain(), {
      intervalMs: config.scheduler.sweepIntervalMs,
      onError: (err, failures) =>
        this.log.warn('taking run requests failed; will retry', { error: String(err), failures }),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    // A trigger in this process wakes us right after its commit; replicas elsewhere through the topic.
    this.unlisten = this.db.listen(RUN_REQUESTS_SIGNAL, () => this.kick());
    await this.bus.subscribe(topic('run-requests'), `scheduler.intake.${newId()}`, async () => this.kick(), {
      latest: true,
    });
    this.drainer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake.timer);
    this.unlisten();
    await this.drainer.stop();
  }

  /** Takes the waiting requests now (one drain at a time; one more if kicked meanwhile). */
  kick(): void {
    this.drainer.kick();
  }

  /**
   * Drains the queue a batch at a time, until a batch comes back short.
   * False when a request failed (it is counted; the queue is tried again
   * after a pause).
   */
  async drain(): Promise<boolean> {
    while (!this.stopped) {
      let seqs: string[] = [];
      let taken: number;
      try {
        taken = await this.take(INTAKE_BATCH[this.db.dialect], (s) => (seqs = s));
      } catch (err) {
        if (seqs.length === 0) throw err;
        // Something in the batch fails: take its requests one at a time, so only the bad one waits.
        let failed = 0;
        for (const seq of seqs) if (!(await this.takeOne(seq))) failed++;
        if (failed > 0) return false;
        continue;
      }
      if (taken < INTAKE_BATCH[this.db.dialect]) return true;
    }
    return true;
  }

  /** One transaction: claim up to `limit` requests, create their runs, delete them. */
  private async take(limit: number, claimed: (seqs: string[]) => void, seq?: string): Promise<number> {
    let fx: Effects = noEffects();
    const n = await this.db.tx(async (m) => {
      const rows = await claimRunRequests(this.db, m, limit, seq);
      claimed(rows.map((r) => r.seq));
      if (rows.length === 0) return 0;
      // Requests over their tenant's runsPerMinute quota stay queued until their tokens are there (a request
      // held for its slot first: it takes its token when it is taken again then).
      const admitted = await this.admit(m, await this.holdEarly(m, rows));
      if (admitted.length === 0) return rows.length;
      fx = await this.fromRequests(
        m,
        admitted.map((r) => JSON.parse(r.payload) as RunRequested),
      );
      // across tenants: the claimed requests, whoever's they are, are done
      await m.delete(RunRequestEntity, { seq: In(admitted.map((r) => r.seq)) });
      return rows.length;
    });
    if (n > 0) {
      this.commands.apply(fx, false);
      if (fx.startsAt) this.starts.wakeAt(fx.startsAt);
      this.relay.kick();
      this.dispatcher.kick();
    }
    return n;
  }

  /**
   * A slot fired ahead whose trigger has an overlap policy other than `allow`
   * is decided at its slot, against the runs active then: its request waits
   * in run_requests until then (the others become `scheduled` runs at once).
   */
  private async holdEarly(m: EntityManager, rows: RunRequestEntity[]): Promise<RunRequestEntity[]> {
    const now = Date.now();
    const early = rows.flatMap((r) => {
      const req = JSON.parse(r.payload) as RunRequested;
      const waits = req.overlap && req.overlap !== 'allow' && TIME_TRIGGERS.has(req.triggerType);
      return waits && req.logicalDate > now ? [{ row: r, at: req.logicalDate }] : [];
    });
    if (early.length === 0) return rows;
    for (const { row, at } of early) {
      await scoped(m, row).update(RunRequestEntity, { seq: row.seq }, { notBefore: at });
      this.db.afterCommit(m, () => this.wakeAt(at));
    }
    const held = new Set(early.map((e) => e.row.seq));
    return rows.filter((r) => !held.has(r.seq));
  }

  /**
   * The claimed requests that their tenants' runsPerMinute quotas let through
   * now (each takes a token, in seq order); the others stay in run_requests,
   * not before their next token, and a wake-up is set for then. Never dropped.
   */
  private async admit(m: EntityManager, rows: RunRequestEntity[]): Promise<RunRequestEntity[]> {
    // Every claimed request may be held for its slot: nothing to admit (and no tenant to scope a read to).
    if (rows.length === 0) return rows;
    const tenants = [...new Set(rows.map((r) => r.tenantId))];
    const limited = await scopedTo(m, tenants).find(TenantQuotaEntity, {
      where: { runsPerMinute: Not(IsNull()) },
      select: { tenantId: true },
    });
    if (limited.length === 0) return rows;
    const now = Date.now();
    const held = new Set<string>();
    for (const tenantId of limited.map((q) => q.tenantId).sort()) {
      const mine = rows.filter((r) => r.tenantId === tenantId);
      const took = await takeRunTokens(this.db, m, { tenantId }, mine.length, now);
      const wait = mine.slice(took.granted);
      if (wait.length === 0) continue;
      const at = now + took.retryAfterMs;
      for (let i = 0; i < wait.length; i += 500) {
        const seqs = wait.slice(i, i + 500).map((r) => r.seq);
        await scoped(m, { tenantId }).update(RunRequestEntity, { seq: In(seqs) }, { notBefore: at });
      }
      for (const r of wait) held.add(r.seq);
      this.db.afterCommit(m, () => this.wakeAt(at));
    }
    return held.size === 0 ? rows : rows.filter((r) => !held.has(r.seq));
  }

  /** Drains again when the earliest held request is due (the sweep is the safety net). */
  private wakeAt(at: number): void {
    if (this.stopped || (this.wake && this.wake.at <= at)) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(
      () => {
        this.wake = null;
        this.kick();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    timer.unref();
    this.wake = { at, timer };
  }

  /** One request in a transaction of its own; false when it failed (its failure is counted). */
  private async takeOne(seq: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.take(1, () => undefined, seq);
        return true;
      } catch (err) {
        // The same dedupe key taken by two replicas at once: the second try finds the first one's run.
        if (attempt === 1 && isUniqueViolation(err)) continue;
        const error = truncateUtf8(err instanceof Error ? err.message : String(err), 1000);
        await this.db.manager
          .createQueryBuilder()
          // across tenants: a request is known by its sequence number in the queue
          .update(RunRequestEntity)
          .set({ failures: () => 'failures + 1', lastError: error })
          .where('seq = :seq', { seq })
          .execute();
        // across tenants: as above
        const row = await this.db.manager.findOne(RunRequestEntity, { where: { seq } });
        const fields = { seq, tenant: row?.tenantId, failures: row?.failures, error };
        if (row && row.failures >= RUN_REQUEST_MAX_FAILURES) {
          this.log.error('run request set aside after repeated failures; it stays in run_requests', fields);
        } else {
          this.log.warn('run request failed; it will be retried', fields);
        }
        return false;
      }
    }
  }

  /**
   * A batch of trigger requests in one transaction. Requests without an
   * overlap policy to apply are created in bulk; the others one by one.
   */
  async fromRequests(m: EntityManager, all: readonly RunRequested[]): Promise<Effects> {
    const fx = noEffects();
    // A suspended or deleted tenant's triggers do not start runs: their slots are recorded as skipped.
    const inactive = await inactiveTenants(m, all);
    const reqs = inactive.size === 0 ? all : all.filter((r) => !inactive.has(r.tenantId));
    for (const r of all) if (inactive.has(r.tenantId)) await this.fromRequest(m, r, 'skipped_suspended');
    const simple = reqs.filter((r) => !r.overlap || r.overlap === 'allow');
    for (const r of reqs) {
      if (r.overlap && r.overlap !== 'allow') {
        const one = await this.fromRequest(m, r);
        fx.cancel.push(...one.cancel);
      }
    }
    if (simple.length === 0) return { ...fx, queued: true };
    // A time trigger's slot fired ahead (BATON_TRIGGER_LEAD_MS): its run is created scheduled and starts at the slot.
    const now0 = Date.now();
    const ahead = (r: RunRequested) => TIME_TRIGGERS.has(r.triggerType) && r.logicalDate > now0;
    for (const r of simple) if (ahead(r)) fx.startsAt = Math.min(fx.startsAt ?? Infinity, r.logicalDate);
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
          traceparent: r.traceparent ?? null,
          ...(ahead(r) ? { initialState: 'scheduled' as const } : {}),
        },
      })),
    );
    // The slot ledger: what became of each slot.
    const slotted = simple.filter(
      (r) => r.triggerId && TIME_TRIGGERS.has(r.triggerType) && runs.has(`${r.tenantId}|${r.dedupeKey}`),
    );
    const recorded = new Set<string>();
    const triggerIds = [...new Set(slotted.map((r) => r.triggerId!))];
    const slots =
      slotted.length > 0
        ? scopedTo(
            m,
            slotted.map((r) => r.tenantId),
          )
        : null;
    for (let i = 0; slots && i < triggerIds.length; i += 500) {
      const rows = await slots.find(TriggerSlotEntity, {
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
    if (slots) await slots.insert(TriggerSlotEntity, ledger);
    return { ...fx, queued: true };
  }

  /**
   * A trigger's run request, under the trigger's overlap policy, recorded in
   * the slot ledger with what became of it.
   */
  private async fromRequest(m: EntityManager, req: RunRequested, refused?: 'skipped_suspended'): Promise<Effects> {
    const scope = { tenantId: req.tenantId };
    const fx = noEffects();
    const job = await scoped(m, req).findOne(JobEntity, { where: { id: req.jobId } });
    if (!job) return fx; // deleted after the trigger fired: nothing to run
    const active =
      !refused && req.overlap && req.overlap !== 'allow' ? await this.engine.activeRuns(m, req.tenantId, job.id) : [];
    const decision = refused ? 'skip' : decideOverlap((req.overlap ?? 'allow') as OverlapPolicy, active.length);
    let outcome = req.slotOutcome ?? 'fired';
    let runId: string | null = null;
    const input = {
      jobName: job.name,
      params: req.params,
      logicalDate: req.logicalDate,
      dedupeKey: req.dedupeKey,
      triggerType: req.triggerType,
      triggerId: req.triggerId,
      traceparent: req.traceparent ?? null,
    };
    switch (decision) {
      case 'start':
        runId = (await this.engine.createRun(m, scope, input)).run.id;
        break;
      case 'skip':
        outcome = refused ?? 'skipped_overlap';
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
    const slots = scoped(m, req);
    const recorded = ledgered
      ? await slots.findOne(TriggerSlotEntity, { where: { triggerId: ledgered, slotAt: req.logicalDate } })
      : null;
    if (recorded) {
      await slots.update(TriggerSlotEntity, { id: recorded.id }, { outcome, runId, recordedAt: Date.now() });
    } else if (ledgered) {
      await slots.insert(TriggerSlotEntity, {
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
}

/** The tenants among the requests' that are suspended or deleted (one read for the whole batch). */
async function inactiveTenants(m: EntityManager, reqs: readonly RunRequested[]): Promise<Set<string>> {
  const ids = [...new Set(reqs.map((r) => r.tenantId))];
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    // across tenants: a tenant's state is the platform's, read for the requests' tenants
    const rows = await m.find(TenantEntity, {
      where: { id: In(ids.slice(i, i + 500)), state: Not('active') },
      select: { id: true },
    });
    for (const r of rows) out.add(r.id);
  }
  return out;
}
