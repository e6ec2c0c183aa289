import type { BusEvent, EventBus, EventHandler } from './events.js';

/**
 * The embedded adapter: one process, delivery by direct call. `publish`
 * resolves once every group has handled the events, so the outbox relay marks
 * them published only after their effects are committed.
 */
export class InProcessBus implements EventBus {
  private readonly groups = new Map<string, Map<string, EventHandler[]>>();
  private readonly next = new Map<string, number>();

  async publish(events: readonly BusEvent[]): Promise<void> {
    for (const event of events) {
      const groups = this.groups.get(event.topic);
      if (!groups) continue;
      for (const [group, handlers] of groups) {
        // Round-robin inside a group, as a consumer group spreads partitions.
        const k = `${event.topic}/${group}`;
        const i = (this.next.get(k) ?? 0) % handlers.length;
        this.next.set(k, i + 1);
        await handlers[i]!(event);
      }
    }
  }

  async subscribe(topicName: string, group: string, handler: EventHandler): Promise<void> {
    let groups = this.groups.get(topicName);
    if (!groups) this.groups.set(topicName, (groups = new Map<string, EventHandler[]>()));
    const handlers = groups.get(group) ?? [];
    handlers.push(handler);
    groups.set(group, handlers);
  }

  async close(): Promise<void> {
    this.groups.clear();
  }
}
