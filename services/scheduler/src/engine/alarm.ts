import { Injectable, type OnApplicationShutdown } from '@nestjs/common';

/**
 * The server waits this long past an offer's ACK deadline before expiring it,
 * so an ACK sent just in time (the agent never starts an Assign past its
 * deadline) is still in flight, not lost.
 */
export const ACK_GRACE_MS = 1_000;

/**
 * One precise timer for the next known due time (a retry's backoff, an ACK
 * deadline), so time-driven work happens on time instead of at the next
 * sweep. Whoever learns a due time arms it; the timers' sweep is what runs.
 */
@Injectable()
export class Alarm implements OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = Infinity;
  private stopped = false;
  private handler: () => void = () => undefined;

  onFire(handler: () => void): void {
    this.handler = handler;
  }

  /** Fire at `when` unless an earlier time is already armed. */
  at(when: number): void {
    if (this.stopped || when >= this.dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = when;
    this.timer = setTimeout(
      () => {
        this.dueAt = Infinity;
        this.timer = null;
        this.handler();
      },
      Math.max(0, when - Date.now()) + 1,
    );
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
