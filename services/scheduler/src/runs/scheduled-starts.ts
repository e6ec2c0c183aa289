import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Database, claimDueScheduledRuns, nextScheduledRunAt } from '@baton/persistence';
import { Drainer, OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger } from '@baton/telemetry';
import { Dispatcher } from '../engine/dispatcher.js';
import { RunEngine } from '../engine/run-engine.js';

/** Scheduled runs started per transaction (a second of 100,000 cron triggers is ~833). */
export const START_BATCH = 1_000;

/**
 * Starts the runs that time triggers created ahead of their slot
 * (`BATON_TRIGGER_LEAD_MS`): at the slot, an alarm set for the earliest one
 * claims every due `scheduled` run of any tenant (SKIP LOCKED, so replicas
 * split them), gives each its job's and tenant's room as of that instant, and
 * queues their roots in a few statements; on SQLite the transaction goes ahead
 * of queued ones. Whoever created the runs arms the alarm at once; every
 * replica re-reads the earliest slot after each pass and on the sweep
 * interval, so runs of a replica that died start on time elsewhere.
 */
@Injectable()
export class ScheduledStarts implements OnApplicationBootstrap, OnApplicationShutdown {
  private alarm: { at: number; timer: NodeJS.Timeout } | null = null;
  private stopped = false;
  private readonly drainer: Drainer;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly dispatcher: Dispatcher,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('scheduled-starts');
    this.drainer = new Drainer(() => this.drain(), {
      intervalMs: config.scheduler.sweepIntervalMs,
      onError: (err, failures) =>
        this.log.warn('starting scheduled runs failed; will retry', { error: String(err), failures }),
    });
  }

  onApplicationBootstrap(): void {
    this.drainer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.alarm) clearTimeout(this.alarm.timer);
    await this.drainer.stop();
  }

  /** Runs were created scheduled for `at`: start them then (an earlier alarm stays). */
  wakeAt(at: number): void {
    if (this.stopped || (this.alarm && this.alarm.at <= at)) return;
    if (this.alarm) clearTimeout(this.alarm.timer);
    const timer = setTimeout(
      () => {
        this.alarm = null;
        this.drainer.kick();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.alarm = { at, timer };
  }

  /** Starts what is due, a batch at a time, then sets the alarm for the next slot. */
  async drain(): Promise<void> {
    // One indexed read when nothing is due (the sweep's usual case); the claim only when something is.
    let next = await nextScheduledRunAt(this.db.manager);
    while (!this.stopped && next !== null && next <= Date.now()) {
      const started = await this.startDue();
      if (started === START_BATCH) continue;
      next = await nextScheduledRunAt(this.db.manager);
      // Due runs none could claim are being started by another replica (locked): look again shortly.
      if (started === 0 && next !== null && next <= Date.now()) next = Date.now() + 25;
      if (started === 0) break;
    }
    if (next !== null) this.wakeAt(next);
  }

  /** One transaction: the due scheduled runs started (or queued behind their job's or tenant's limit). */
  async startDue(): Promise<number> {
    const { claimed, started } = await this.db.tx(
      async (m) => {
        // Taken once the transaction has begun: the start time recorded is when the run really started.
        const now = Date.now();
        const due = await claimDueScheduledRuns(this.db, m, now, START_BATCH);
        if (due.length === 0) return { claimed: 0, started: 0 };
        const r = await this.engine.startScheduled(m, due, now);
        return { claimed: due.length, started: r.started.length };
      },
      { urgent: true },
    );
    if (started > 0) this.dispatcher.kick();
    if (claimed > 0) this.relay.kick();
    return claimed;
  }
}
