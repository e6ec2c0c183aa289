import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import { type TriggerDefinition, nextSlot } from '@baton/domain';
import {
  BackfillEntity,
  Database,
  JobEntity,
  RunEntity,
  type TenantScope,
  TriggerEntity,
  newId,
} from '@baton/persistence';
import {
  EVENT_BUS,
  type EventBus,
  OUTBOX_RELAY,
  type OutboxRelay,
  consumeOnce,
  slotDedupeKey,
  topic,
} from '@baton/bus';
import { ProblemException } from '@baton/http';
import { Dispatcher } from '../engine/dispatcher.js';
import { RunEngine } from '../engine/run-engine.js';

export const MAX_BACKFILL_SLOTS = 10_000;

export interface BackfillCommand {
  from: number;
  to: number;
  trigger: number;
  maxActiveRuns: number;
  dryRun: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Backfills run a job for every slot of one of its time triggers in a range,
 * at most `maxActiveRuns` at a time. Each slot's run has the trigger's own
 * dedupe key, so a slot that already ran (scheduled or backfilled) is not run
 * again. Progress is pushed by `run.finished` events.
 */
@Injectable()
export class BackfillsService implements OnApplicationBootstrap {
  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly dispatcher: Dispatcher,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe(topic('run-events'), 'scheduler.backfills', async (e) => {
      if (e.type !== 'run.finished') return;
      const p = e.payload as { tenantId: string; backfillId?: string | null };
      if (!p.backfillId) return;
      await consumeOnce(this.db, 'scheduler.backfills', e, (m) =>
        this.advance(m, { tenantId: p.tenantId }, p.backfillId!),
      );
      this.relay.kick();
      this.dispatcher.kick();
    });
  }

  /** The slots of the trigger in [from, to]; a time trigger without slots there is a 400. */
  private async slots(m: EntityManager, scope: TenantScope, jobName: string, cmd: BackfillCommand) {
    const job = await m.findOne(JobEntity, { where: { tenantId: scope.tenantId, name: jobName } });
    if (!job) throw ProblemException.notFound(`job ${jobName}`);
    const triggers = await m.find(TriggerEntity, {
      where: { tenantId: scope.tenantId, jobId: job.id },
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
    return { job, trigger, slots };
  }

  async create(scope: TenantScope, jobName: string, cmd: BackfillCommand) {
    if (cmd.to < cmd.from) throw ProblemException.invalidField('to', 'must not be before from');
    if (cmd.dryRun) {
      const { trigger, slots } = await this.slots(this.db.manager, scope, jobName, cmd);
      const keys = slots.map((s) => slotDedupeKey(trigger.id, s));
      const existing = new Map<string, RunEntity>();
      for (let i = 0; i < keys.length; i += 500) {
        const rows = await this.db.manager.find(RunEntity, {
          where: { tenantId: scope.tenantId, dedupeKey: In(keys.slice(i, i + 500)) },
        });
        for (const r of rows) existing.set(r.dedupeKey, r);
      }
      return {
        dryRun: true,
        job: jobName,
        slots: slots.map((s, i) => {
          const run = existing.get(keys[i]!);
          return { logicalDate: iso(s), existingRun: run ? { id: run.id, state: run.state } : null };
        }),
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
      };
      await m.insert(BackfillEntity, row as never);
      await this.advance(m, scope, row.id);
      return row.id;
    });
    this.relay.kick();
    this.dispatcher.kick();
    return this.get(scope, id);
  }

  /** Starts runs for the next slots while fewer than maxActiveRuns are running. */
  private async advance(m: EntityManager, scope: TenantScope, id: string): Promise<void> {
    const q = m
      .createQueryBuilder(BackfillEntity, 'b')
      .where('b.id = :id AND b.tenant_id = :t', { id, t: scope.tenantId });
    if (this.db.dialect === 'mysql') q.setLock('pessimistic_write');
    const b = await q.getOne();
    if (!b || b.state !== 'running') return;
    const active = await m.count(RunEntity, { where: { tenantId: scope.tenantId, backfillId: id, state: 'running' } });
    let next = b.nextIndex;
    let started = 0;
    for (let free = b.maxActiveRuns - active; free > 0 && next < b.slots.length; next++) {
      const slot = b.slots[next]!;
      const r = await this.engine.createRun(m, scope, {
        jobName: b.jobName,
        params: {},
        logicalDate: slot,
        dedupeKey: slotDedupeKey(b.triggerId, slot),
        triggerType: 'backfill',
        triggerId: b.triggerId,
        backfillId: id,
      });
      if (r.created && r.run.state === 'running') {
        free--;
        started++;
      }
    }
    // Done when every slot was started and nothing it started is still running (the last run's end says so).
    const done = next >= b.slots.length && active === 0 && started === 0;
    let state: BackfillEntity['state'] = 'succeeded';
    if (done) {
      const failed = await m.count(RunEntity, { where: { tenantId: scope.tenantId, backfillId: id, state: 'failed' } });
      if (failed > 0) state = 'failed';
    }
    await m.update(BackfillEntity, { id }, { nextIndex: next, ...(done ? { state, finishedAt: Date.now() } : {}) });
  }

  async get(scope: TenantScope, id: string) {
    const b = await this.db.manager.findOne(BackfillEntity, { where: { tenantId: scope.tenantId, id } });
    if (!b) throw ProblemException.notFound(`backfill ${id}`);
    const runs = await this.db.manager.find(RunEntity, { where: { tenantId: scope.tenantId, backfillId: id } });
    const byState: Record<string, number> = {};
    for (const r of runs) byState[r.state] = (byState[r.state] ?? 0) + 1;
    return {
      id: b.id,
      job: b.jobName,
      state: b.state,
      slots: b.slots.length,
      started: b.nextIndex,
      maxActiveRuns: b.maxActiveRuns,
      runs: byState,
      from: iso(b.slots[0] ?? null),
      to: iso(b.slots[b.slots.length - 1] ?? null),
      createdAt: iso(b.createdAt),
      finishedAt: iso(b.finishedAt),
    };
  }
}
