import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RunEntity } from '@baton/persistence';

/** Work done in the transaction that ends a run, by a system the engine does not depend on. */
export type RunFinishHook = (m: EntityManager, run: RunEntity) => Promise<void>;

/**
 * What else a run's end moves, in the same transaction (a backfill starts its
 * next slots). Systems built on the engine register here, so the engine needs
 * no import of them and nothing waits for an event to be delivered.
 */
@Injectable()
export class RunFinishHooks {
  private readonly hooks: RunFinishHook[] = [];

  register(hook: RunFinishHook): void {
    this.hooks.push(hook);
  }

  async run(m: EntityManager, run: RunEntity): Promise<void> {
    for (const hook of this.hooks) await hook(m, run);
  }
}
