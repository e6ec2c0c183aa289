import { Drainer } from '@baton/bus';
import type { Logger } from '@baton/telemetry';

/**
 * A push-driven loop over due rows: `kick()` drains now (one drain at a
 * time, see Drainer), the drain answers when the next row is due and an
 * alarm is set for then; `intervalMs` is only the safety net (a lost
 * wake-up, a clock jump). The SLA evaluator, the alert sender and the agent
 * presence check share it.
 */
export class AlarmedDrainer {
  private readonly drainer: Drainer;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(drain: () => Promise<number | null>, opts: { intervalMs: number; log: Logger; failure: string }) {
    this.drainer = new Drainer(
      async () => {
        const next = await drain();
        if (!this.stopped) this.alarmAt(next);
      },
      {
        intervalMs: opts.intervalMs,
        onError: (err, failures) => opts.log.error(opts.failure, { error: String(err), failures }),
      },
    );
  }

  /** Whether stop() was called: a drain in progress ends early. */
  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.drainer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.drainer.stop();
  }

  kick(): void {
    this.drainer.kick();
  }

  private alarmAt(at: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Without a due time the interval looks again.
    if (at === null) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }
}
