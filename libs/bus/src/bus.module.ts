import { type DynamicModule, Global, Module } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from './events.js';
import type { OutboxRelay } from './outbox.js';

export const OUTBOX_RELAY = Symbol.for('baton.outbox-relay');

/** Provides the event bus and this process's outbox relay. */
@Global()
@Module({})
export class BusModule {
  static forRoot(bus: EventBus, relay: OutboxRelay): DynamicModule {
    return {
      module: BusModule,
      providers: [
        { provide: EVENT_BUS, useValue: bus },
        { provide: OUTBOX_RELAY, useValue: relay },
      ],
      exports: [EVENT_BUS, OUTBOX_RELAY],
    };
  }
}
