import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { EVENT_BUS, type EventBus, topic } from '@baton/bus';
import { newId } from '@baton/persistence';
import { Dispatcher } from './dispatcher.js';

/**
 * Replicas wake each other: a run created or tasks queued by any replica
 * (their events, published after commit) kick this replica's dispatcher, so
 * dispatch latency stays in milliseconds across replicas; the sweep interval
 * is only the safety net. Each process has its own group and starts at the
 * end of the topics.
 */
@Injectable()
export class Wakeups implements OnApplicationBootstrap {
  constructor(
    private readonly dispatcher: Dispatcher,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const group = `scheduler.wake.${newId()}`;
    const kick = async () => this.dispatcher.kick();
    // One group per topic: Kafka groups whose members subscribe to different topics misassign partitions.
    await this.bus.subscribe(topic('run-events'), `${group}.runs`, kick, { latest: true });
    await this.bus.subscribe(topic('task-events'), `${group}.tasks`, kick, { latest: true });
  }
}
