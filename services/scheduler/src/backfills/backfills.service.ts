import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import { type TriggerDefinition, exceeds, nextSlot } from '@baton/domain';
import {
  BackfillEntity,
  Database,
  JobEntity,
  RunEntity,
  type TenantScope,
  TriggerEntity,
  TriggerSlotEntity,
  newId,
  forUpdate,
  readQuota,
  scoped,
} from '@baton/persistence';
import { OUTBOX_RELAY, type OutboxRelay, slotDedupeKey } from '@baton/bus';
import { ProblemException } from '@baton/http';
import { Dispatcher } from '../engine/dispatcher.js';
import { RunEngine } from '../engine/run-engine.js';
import { RunFinishHooks } from '../engine/run-finish-hooks.js';

export const MAX_BACKFILL_SLOTS = 10_000;

/** What a backfill's run for a slot is recorded as in the slot ledger. */
export const BACKFILLED = 'backfilled';

export interface BackfillCommand {
  from: number;
  to: number;
  trigger: number;
  maxActiveRuns: number;
  dryRun: boolean;
  /** Give slots whose logical date already has a run of the job a new run; by default they are skipped. */
  rerunExisting: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Backfills run a job for every slot of one of its time triggers in a range,
 * at most `maxActiveRuns` at a time. A slot whose logical date already has a
 * run of the job (from the trigger, a manual run, a dependency, an earlier
 * backfill) is skipped and listed as such, unless `rerunExisting` asks for a
 * new run. A slot's run has the trigger's own dedupe key when it is the
 * slot's first, so the trigger does not run it again; a rerun gets a key of
 * the backfill's. Each run is recorded in the slot ledger as `backfilled`.
 * A backfill moves on in the transaction that ends one of its runs (a run-finish
 * hook), on whichever replica ends it: no event has to reach a consumer first.
 */
@Injectable()
export class BackfillsService implements OnModuleInit {
  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly dispatcher: Dispatcher,
    private readonly hooks: RunFinishHooks,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
  ) {}

  onModuleInit(): void {
    this.hooks.register(async (m, run) => {
      if (run.backfillId) await this.advance(m, { tenantId: run.tenantId }, run.backfillId);
    });
  }

  /** The slots of the trigger in [from, to]; a time trigger without slots there is a 400. */
  private async slots(m: EntityManager, scope: TenantScope, jobName: string, cmd: BackfillCommand) {
    const job = await scoped(m, scope).findOne(JobEntity, { where: { name: jobName } });
    if (!job) throw ProblemException.notFound(`job ${jobName}`);
    const triggers = await scoped(m, scope).find(TriggerEntity, {
      where: { jobId: job.id },
      order: { position: 'ASC' },
    });
    const trigger = triggers[cmd.trigger];
    if (!trigger) throw ProblemException.invalidField('trigger', `job ${jobName} has no trigger #${cmd.trigger}`);
    if (trigger.type !== 'cron' && trigger.type !== 'fixedRate') {
      throw ProblemException.invalidField(
        'trigger',
        `a ${trigger.type} trigger has no slots to backfill (cron and fixedRate do)`,
      );
    }
    // The trigger's own slot math, so a backfilled slot is exactly the slot the trigger would fire.
    const spec = trigger.spec as unknown as TriggerDefinition;
    const anchor = trigger.anchorAt ?? trigger.createdAt;
    const slots: number[] = [];
    for (let t = nextSlot(spec, cmd.from - 1, anchor); t !== null && t <= cmd.to; t = nextSlot(spec, t, anchor)) {
      if (slots.length >= MAX_BACKFILL_SLOTS) {
        throw ProblemException.invalidField('to', `the range holds more than ${MAX_BACKFILL_SLOTS} slots; split it`);
      }
      slots.push(t);
    }
    // The tenant's maxBackfillSize quota (a dry run is refused too: it previews what would be refused).
    const refused = exceeds('maxBackfillSize', (await readQuota(m, scope)).maxBackfillSize, 0, slots.length);
    if (refused) throw ProblemException.quotaExceeded(400, refused);
    return { job, trigger, slots };
  }

  async create(scope: TenantScope, jobName: string, cmd: BackfillCommand) {
    if (cmd.to < cmd.from) throw ProblemException.invalidField('to', 'must not be before from');
    if (cmd.dryRun) {
      const { job, slots } = await this.slots(this.db.manager, scope, jobName, cmd);
      const existing = await this.existingRuns(this.db.manager, scope, job.id, slots);
      const planned = slots.map((s) => {
        const run = existing.get(s);
        const action = !run ? 'run' : cmd.rerunExisting ? 'rerun' : 'skip';
        return { logicalDate: iso(s)!, existingRun: run ? { id: run.id, state: run.state } : null, action };
      });
      const count = (action: string) => planned.filter((p) => p.action === action).length;
      return {
        dryRun: true,
        job: jobName,
        rerunExisting: cmd.rerunExisting,
        toRun: count('run') + count('rerun'),
        skipped: count('skip'),
        slots: planned,
      };
    }
    const id = await this.db.tx(async (m) => {
      const { job, trigger, slots } = await this.slots(m, scope, jobName, cmd);
      if (slots.length === 0) throw ProblemException.invalidField('from', 'no slot of the trigger falls in [from, to]');
      const row: BackfillEntity = {
        id: newId(),
        tenantId: scope.tenantId,
        jobId: job.id,
        jobName: job.name,
        triggerId: trigger.id,
        slots,
        nextIndex: 0,
        maxActiveRuns: cmd.maxActiveRuns,
        state: 'running',
        createdAt: Date.now(),
        finishedAt: null,
        rerunExisting: cmd.rerunExisting,
        skippedSlots: [],
      };
      await scoped(m, scope).insert(BackfillEntity, row as never);
      await this.advance(m, scope, row.id);
      return row.id;
    });
    this.relay.kick();
    this.dispatcher.kick();
    return this.get(scope, id);
  }

  /** The latest run of the job for each of the given logical dates that has one. */
  private async existingRuns(
    m: EntityManager,
    scope: TenantScope,
    jobId: string,
    slots: readonly number[],
  ): Promise<Map<number, RunEntity>> {
    const out = new Map<number, RunEntity>();
    for (let i = 0; i < slots.length; i += 500) {
      const rows = await scoped(m, scope).find(RunEntity, {
        where: { jobId, logicalDate: In(slots.slice(i, i + 500)) },
        order: { createdAt: 'ASC' },
      });
      for (const r of rows) out.set(r.logicalDate, r);
    }
    return out;
  }

  /** The slot ledger says the slot was run by a backfill, and which run. */
  private async recordSlot(m: EntityManager, b: BackfillEntity, slot: number, runId: string): Promise<void> {
    const now = Date.now();
    const ledger = scoped(m, b);
    const recorded = await ledger.findOne(TriggerSlotEntity, { where: { triggerId: b.triggerId, slotAt: slot } });
    if (recorded) {
      await ledger.update(TriggerSlotEntity, { id: recorded.id }, { outcome: BACKFILLED, runId, recordedAt: now });
      return;
    }
    await ledger.insert(TriggerSlotEntity, {
      id: newId(now),
      tenantId: b.tenantId,
      triggerId: b.triggerId,
      jobName: b.jobName,
      slotAt: slot,
      outcome: BACKFILLED,
      runId,
      recordedAt: now,
    });
  }

  /** Starts a run for the slot, or returns null when it already has one that is not to be rerun. */
  private async startSlot(m: EntityManager, scope: TenantScope, b: BackfillEntity, slot: number) {
    const input = {
      jobName: b.jobName,
      params: {},
      logicalDate: slot,
      dedupeKey: slotDedupeKey(b.triggerId, slot),
      triggerType: 'backfill',
      triggerId: b.triggerId,
      backfillId: b.id,
    };
    let r = await this.engine.createRun(m, scope, input);
    // The slot's own key is taken (the trigger ran it meanwhile, or earlier): a rerun is keyed by this backfill.
    if (!r.created && b.rerunExisting) {
      r = await this.engine.createRun(m, scope, { ...input, dedupeKey: `backfill:${b.id}:${slot}` });
    }
    if (!r.created) return null;
    await this.recordSlot(m, b, slot, r.run.id);
    return r.run;
  }

  /** Starts runs for the next slots while fewer than maxActiveRuns are running; skips dates that have runs. */
  private async advance(m: EntityManager, scope: TenantScope, id: string): Promise<void> {
    const q = scoped(m, scope).query(BackfillEntity, 'b', 'b.id = :id', { id });
    const b = await forUpdate(this.db, q).getOne();
    if (!b || b.state !== 'running') return;
    const active = await scoped(m, scope).count(RunEntity, { where: { backfillId: id, state: 'running' } });
    const skipped = [...(b.skippedSlots ?? [])];
    let next = b.nextIndex;
    let started = 0;
    let free = b.maxActiveRuns - active;
    while (free > 0 && next < b.slots.length) {
      // Look the dates up a chunk at a time: a range that has runs already may be skipped in one go.
      const chunk = b.slots.slice(next, next + 200);
      const existing = b.rerunExisting
        ? new Map<number, RunEntity>()
        : await this.existingRuns(m, scope, b.jobId, chunk);
      for (const slot of chunk) {
        if (free <= 0) break;
        next++;
        const run = existing.has(slot) ? null : await this.startSlot(m, scope, b, slot);
        if (!run) {
          skipped.push(slot);
        } else if (run.state === 'running') {
          free--;
          started++;
        }
      }
    }
    // Done when every slot was started and nothing it started is still running (the last run's end says so).
    const done = next >= b.slots.length && active === 0 && started === 0;
    let state: BackfillEntity['state'] = 'succeeded';
    if (done) {
      const failed = await scoped(m, scope).count(RunEntity, { where: { backfillId: id, state: 'failed' } });
      if (failed > 0) state = 'failed';
    }
    await scoped(m, scope).update(
      BackfillEntity,
      { id },
      { nextIndex: next, skippedSlots: skipped, ...(done ? { state, finishedAt: Date.now() } : {}) },
    );
  }

  async get(scope: TenantScope, id: string) {
    const b = await scoped(this.db.manager, scope).findOne(BackfillEntity, { where: { id } });
    if (!b) throw ProblemException.notFound(`backfill ${id}`);
    const runs = await scoped(this.db.manager, scope).find(RunEntity, { where: { backfillId: id } });
    const byState: Record<string, number> = {};
    for (const r of runs) byState[r.state] = (byState[r.state] ?? 0) + 1;
    const skipped = b.skippedSlots ?? [];
    return {
      id: b.id,
      job: b.jobName,
      state: b.state,
      slots: b.slots.length,
      /** Slots this backfill started a run for. */
      started: b.nextIndex - skipped.length,
      /** Slots skipped because their logical date already had a run of the job. */
      skipped: skipped.length,
      skippedSlots: skipped.map((s) => iso(s)!),
      rerunExisting: b.rerunExisting,
      maxActiveRuns: b.maxActiveRuns,
      runs: byState,
      from: iso(b.slots[0] ?? null),
      to: iso(b.slots[b.slots.length - 1] ?? null),
      createdAt: iso(b.createdAt),
      finishedAt: iso(b.finishedAt),
    };
  }
}
