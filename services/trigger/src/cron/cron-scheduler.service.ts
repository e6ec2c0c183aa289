import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { nextFireTime } from '@baton/domain';
import { Database, TriggerEntity } from '@baton/persistence';
import {
  EVENT_BUS,
  type EventBus,
  OUTBOX_RELAY,
  type OutboxRelay,
  type RunRequested,
  enqueueEvent,
  slotDedupeKey,
  topic,
} from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger } from '@baton/telemetry';

const CLAIM_BATCH = 200;

/**
 * Fires cron triggers. The earliest `next_fire_at` arms one in-memory timer;
 * catalog changes re-arm it at once; `pollIntervalMs` only caps the sleep as a
 * safety net. Each slot is claimed with a compare-and-set on `next_fire_at`
 * (and `SKIP LOCKED` on MySQL) and becomes a run request in the same
 * transaction, whose dedupe key `cron:<trigger>:<slot>` makes it one run.
 *
 * Misfire (the process was down past a slot): the latest missed slot fires
 * once and the schedule continues from now (`fire_once`).
 */
@Injectable()
export class CronSchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
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
    await this.bus.subscribe(topic('catalog-events'), 'trigger.cron', async () => this.wake());
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
        this.log.error('cron firing failed; retrying', { error: String(err) });
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
    const row = await this.db.manager
      .createQueryBuilder(TriggerEntity, 't')
      .select('MIN(t.next_fire_at)', 'next')
      .where('t.enabled = :e', { e: true })
      .andWhere('t.next_fire_at IS NOT NULL')
      .getRawOne<{ next: string | number | null }>();
    const next = row?.next === null || row?.next === undefined ? null : Number(row.next);
    this.armAt(Math.min(next ?? Infinity, Date.now() + this.config.trigger.pollIntervalMs));
  }

  private armAt(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(0, at - Date.now()));
  }

  /** Claims and fires due slots in batches; returns how many fired. */
  async fireDue(): Promise<number> {
    let fired = 0;
    for (;;) {
      const now = Date.now();
      const n = await this.db.tx(async (m) => {
        const q = m
          .createQueryBuilder(TriggerEntity, 't')
          .where('t.enabled = :e', { e: true })
          .andWhere('t.next_fire_at <= :now', { now })
          .orderBy('t.next_fire_at', 'ASC')
          .limit(CLAIM_BATCH);
        if (this.db.dialect === 'mysql') q.setLock('pessimistic_write').setOnLocked('skip_locked');
        const due = await q.getMany();
        let count = 0;
        for (const t of due) {
          const slot = t.nextFireAt!;
          const spec = t.spec as { cron: string; timezone: string };
          const next = nextFireTime(spec.cron, spec.timezone, new Date(Math.max(slot, now)))?.getTime() ?? null;
          const upd = await m
            .createQueryBuilder()
            .update(TriggerEntity)
            .set({ nextFireAt: next, lastFireAt: slot })
            .where('id = :id AND next_fire_at = :slot', { id: t.id, slot })
            .execute();
          if ((upd.affected ?? 0) !== 1) continue; // another replica fired it
          const payload: RunRequested = {
            tenantId: t.tenantId,
            jobId: t.jobId,
            jobName: t.jobName,
            logicalDate: slot,
            dedupeKey: slotDedupeKey(t.id, slot),
            triggerType: 'cron',
            triggerId: t.id,
            params: {},
          };
          await enqueueEvent(m, {
            topic: topic('run-requests'),
            type: 'run.requested',
            key: t.tenantId,
            tenantId: t.tenantId,
            payload,
          });
          count++;
        }
        return count;
      });
      fired += n;
      if (n > 0) this.relay.kick();
      if (n < CLAIM_BATCH) return fired;
    }
  }
}
