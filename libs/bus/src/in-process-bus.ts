import { withRemoteContext } from '@baton/telemetry';
import type { BatchHandler, BusEvent, EventBus, EventHandler } from './events.js';

type Handler = { kind: 'one'; fn: EventHandler } | { kind: 'batch'; fn: BatchHandler };

/**
 * The embedded adapter: one process, delivery by direct call. `publish`
 * resolves once every group has handled the events, so the outbox relay marks
 * them published only after their effects are committed.
 */
export class InProcessBus implements EventBus {
  private readonly groups = new Map<string, Map<string, Handler[]>>();
  private readonly next = new Map<string, number>();

  async publish(events: readonly BusEvent[]): Promise<void> {
    const byTopic = new Map<string, BusEvent[]>();
    for (const e of events) byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), e]);
    for (const [topicName, list] of byTopic) {
      const groups = this.groups.get(topicName);
      if (!groups) continue;
      for (const [group, handlers] of groups) {
        // Round-robin inside a group, as a consumer group spreads partitions.
        const k = `${topicName}/${group}`;
        const i = (this.next.get(k) ?? 0) % handlers.length;
        this.next.set(k, i + 1);
        const h = handlers[i]!;
        if (h.kind === 'batch') await h.fn(list);
        // Each event is handled in the trace context its headers carry.
        else for (const e of list) await withRemoteContext(e.headers, () => h.fn(e));
      }
    }
  }

  async subscribe(topicName: string, group: string, handler: EventHandler): Promise<void> {
    this.add(topicName, group, { kind: 'one', fn: handler });
  }

  async subscribeBatch(topicName: string, group: string, handler: BatchHandler): Promise<void> {
    this.add(topicName, group, { kind: 'batch', fn: handler });
  }

  private add(topicName: string, group: string, h: Handler): void {
    let groups = this.groups.get(topicName);
    if (!groups) this.groups.set(topicName, (groups = new Map<string, Handler[]>()));
    groups.set(group, [...(groups.get(group) ?? []), h]);
  }

  async close(): Promise<void> {
    this.groups.clear();
  }
}
