import { type EntityManager, IsNull } from 'typeorm';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { fixedDelayNext, planDue } from '@baton/domain';
import { Database, TriggerEntity, TriggerSlotEntity, newId, scoped, skipLocked } from '@baton/persistence';
import {
  EVENT_BUS,
  type EventBus,
  OUTBOX_RELAY,
  type OutboxRelay,
  type RunRequested,
  consumeOnce,
  enqueueEvent,
  requestRuns,
  slotDedupeKey,
  topic,
} from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger, triggerFireTraceparent } from '@baton/telemetry';
import { triggerSpec } from './trigger-spec.js';

/** Triggers claimed per transaction; smaller on SQLite (one writer), so no transaction holds it long. */
const CLAIM_BATCH = { mysql: 200, sqlite: 100 } as const;

/**
 * Fires time triggers: `cron`, `fixedRate`, `fixedDelay` and `once`, each
 * slot `trigger.leadMs` ahead of it (the scheduler creates the run
 * `scheduled` and starts it at the slot). The earliest `next_fire_at` arms
 * one in-memory timer; catalog changes re-arm it
 * at once; `pollIntervalMs` only caps the sleep as a safety net. Each due
 * trigger is claimed with a compare-and-set on `next_fire_at` (and `SKIP
 * LOCKED` on MySQL) and its slots become run requests in the same
 * transaction, whose dedupe key makes each slot one run.
 *
 * Slots missed while the platform was down follow the trigger's misfire
 * policy (`fire_once`, bounded `catch_up`, `skip`); the ones that do not run
 * are written to the slot ledger as `misfired`. A `fixedDelay` trigger has no
 * next slot until its run ends: the run's end schedules it.
 */
@Injectable()
export class TimeTriggersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private firing = false;
  private again = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('trigger');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe(topic('catalog-events'), 'trigger.time', async () => this.wake());
    await this.bus.subscribe(topic('run-events'), 'trigger.fixed-delay', async (e) => {
      // A fixed-delay trigger counts its delay from the end of its run, or from a slot skipped for overlap.
      if (e.type !== 'run.finished' && e.type !== 'run.skipped') return;
      const p = e.payload as { tenantId: string; triggerId?: string | null; triggerType?: string; finishedAt?: number };
      // Only runs of fixed-delay triggers matter (events written before triggerType was added are checked below).
      if (!p.triggerId || (p.triggerType !== undefined && p.triggerType !== 'fixedDelay')) return;
      await consumeOnce(this.db, 'trigger.fixed-delay', e, async (m) => {
        const triggers = scoped(m, p);
        const t = await triggers.findOne(TriggerEntity, { where: { id: p.triggerId! } });
        if (!t || !t.enabled || t.type !== 'fixedDelay' || t.nextFireAt !== null) return;
        const spec = triggerSpec(t.type, t.spec, t.enabled);
        if (spec.type !== 'fixedDelay') return;
        const next = fixedDelayNext(p.finishedAt ?? e.occurredAt, spec.delayMs);
        await triggers.update(TriggerEntity, { id: t.id, nextFireAt: IsNull() }, { nextFireAt: next });
      });
      this.wake();
    });
    this.wake();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Fire what is due now, then re-arm the timer for the next slot. */
  wake(): void {
    if (this.stopped) return;
    if (this.firing) {
      this.again = true;
      return;
    }
    this.firing = true;
    void this.fireDue()
      .then(() => this.arm())
      .catch((err: unknown) => {
        this.log.error('trigger firing failed; retrying', { error: err instanceof Error ? err.stack : String(err) });
        this.armAt(Date.now() + 500);
      })
      .finally(() => {
        this.firing = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async arm(): Promise<void> {
    // across tenants: one timer for the next trigger due of any tenant
    const row = await this.db.manager
      .createQueryBuilder(TriggerEntity, 't')
      .select('MIN(t.next_fire_at)', 'next')
      .where('t.enabled = :e', { e: true })
      .andWhere('t.next_fire_at IS NOT NULL')
      .getRawOne<{ next: string | number | null }>();
    const next = row?.next === null || row?.next === undefined ? null : Number(row.next);
    // A slot fires leadMs ahead: its run is created scheduled and starts at the slot.
    const fireAt = next === null ? Infinity : next - this.config.trigger.leadMs;
    this.armAt(Math.min(fireAt, Date.now() + this.config.trigger.pollIntervalMs));
  }

  private armAt(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(0, at - Date.now()));
  }

  private async moveInBulk(
    m: EntityManager,
    moves: ReadonlyArray<{ id: string; next: number | null; last: number | null }>,
  ): Promise<void> {
    const cases = moves.map(() => 'WHEN ? THEN ?').join(' ');
    await m.query(
      `UPDATE triggers SET next_fire_at = CASE id ${cases} END, last_fire_at = CASE id ${cases} END ` +
        `WHERE id IN (${moves.map(() => '?').join(', ')})`,
      [...moves.flatMap((x) => [x.id, x.next]), ...moves.flatMap((x) => [x.id, x.last]), ...moves.map((x) => x.id)],
    );
  }

  /** Claims and fires due triggers in batches; returns how many runs were requested. */
  async fireDue(): Promise<number> {
    let fired = 0;
    for (;;) {
      const now = Date.now();
      const lead = this.config.trigger.leadMs;
      const { claimed, requested, misfires } = await this.db.tx(async (m) => {
        // across tenants: every replica claims the due triggers of all tenants
        const q = m
          .createQueryBuilder(TriggerEntity, 't')
          .where('t.enabled = :e', { e: true })
          .andWhere('t.next_fire_at <= :horizon', { horizon: now + lead })
          .orderBy('t.next_fire_at', 'ASC')
          .limit(CLAIM_BATCH[this.db.dialect]);
        const due = await skipLocked(this.db, q).getMany();
        const misfiredRows: TriggerSlotEntity[] = [];
        let misfires = 0;
        const requests: RunRequested[] = [];
        const moves: Array<{ id: string; next: number | null; last: number | null }> = [];
        for (const t of due) {
          const slot = t.nextFireAt!;
          const spec = triggerSpec(t.type, t.spec, t.enabled);
          const anchor = t.anchorAt ?? t.createdAt;
          const plan =
            spec.type === 'fixedDelay'
              ? { fire: [slot], misfired: [], next: null }
              : planDue(spec, slot, now, anchor, {
                  toleranceMs: this.config.trigger.misfireToleranceMs,
                  aheadMs: lead,
                });
          moves.push({ id: t.id, next: plan.next, last: plan.fire.length > 0 ? Math.max(...plan.fire) : t.lastFireAt });
          for (const s of plan.fire) {
            requests.push({
              tenantId: t.tenantId,
              jobId: t.jobId,
              jobName: t.jobName,
              logicalDate: s,
              dedupeKey: slotDedupeKey(t.id, s),
              triggerType: spec.type,
              triggerId: t.id,
              params: {},
              overlap: spec.overlap,
              slotOutcome: s < now - this.config.trigger.misfireToleranceMs ? 'caught_up' : 'fired',
              traceparent: triggerFireTraceparent(t.tenantId, t.jobName, t.id, spec.type, s),
            });
          }
          for (const s of plan.misfired) {
            misfiredRows.push({
              id: newId(now),
              tenantId: t.tenantId,
              triggerId: t.id,
              jobName: t.jobName,
              slotAt: s,
              outcome: 'misfired',
              runId: null,
              recordedAt: now,
            });
          }
          if (plan.misfired.length > 0) {
            // What alerts learn of it (trigger_misfired), with the ledger rows.
            await enqueueEvent(m, {
              topic: topic('run-events'),
              type: 'trigger.misfired',
              key: t.tenantId,
              tenantId: t.tenantId,
              payload: {
                tenantId: t.tenantId,
                jobName: t.jobName,
                triggerId: t.id,
                policy: spec.misfire,
                misfired: plan.misfired.length,
                logicalDate: plan.misfired[0],
                reason: `${plan.misfired.length} slot(s) from ${new Date(plan.misfired[0]!).toISOString()} not run (misfire policy ${String(spec.misfire)})`,
                at: now,
              },
            });
            misfires++;
            this.log.warn('missed slots not run (misfire policy)', {
              job: t.jobName,
              trigger: t.id,
              policy: spec.misfire,
              misfired: plan.misfired.length,
            });
          }
        }
        // The claim locked these rows (SKIP LOCKED on MySQL; one writer on SQLite): move them all in one statement.
        for (let i = 0; i < moves.length; i += 200) await this.moveInBulk(m, moves.slice(i, i + 200));
        await requestRuns(this.db, m, requests);
        for (let i = 0; i < misfiredRows.length; i += 500) {
          // across tenants: the misfired slots of the claimed triggers, whoever's they are
          await m.insert(TriggerSlotEntity, misfiredRows.slice(i, i + 500));
        }
        const count = requests.length;
        return { claimed: due.length, requested: count, misfires };
      });
      fired += requested;
      if (requested > 0 || misfires > 0) this.relay.kick();
      if (claimed < CLAIM_BATCH[this.db.dialect]) return fired;
    }
  }
}
