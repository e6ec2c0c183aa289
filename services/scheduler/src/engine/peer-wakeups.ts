import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_BUS, type EventBus, topic } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { newId } from '@baton/persistence';

/** Wake-ups of other replicas are sent at most this often (the ones asked for meanwhile ride on the next). */
export const PEER_WAKE_GAP_MS = 20;

/**
 * Tells the other scheduler replicas that tasks were queued, so that their
 * free agents take them now (one process kicks its own dispatcher). A
 * wake-up is not state: it is published straight to the bus after the
 * commit, not through the outbox, and wake-ups asked for within
 * PEER_WAKE_GAP_MS are one message. One lost on the way costs its peers only
 * latency: the queued rows are in the database, and every replica's sweep
 * claims them.
 */
@Injectable()
export class PeerWakeups implements OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private stopped = false;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  /** Asks for a wake-up of the peers (a no-op without Kafka: there are no peers). Bound: one hook per transaction. */
  readonly wake = (): void => {
    if (this.config.kafka.brokers === null || this.stopped || this.timer) return;
    this.timer = setTimeout(() => this.send(), Math.max(0, this.last + PEER_WAKE_GAP_MS - Date.now()));
  };

  private send(): void {
    this.timer = null;
    this.last = Date.now();
    const at = this.last;
    void this.bus
      .publish([
        {
          id: newId(at),
          topic: topic('task-events'),
          type: 'tasks.queued',
          key: 'wake',
          tenantId: null,
          occurredAt: at,
          payload: {},
          headers: {},
        },
      ])
      .catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
