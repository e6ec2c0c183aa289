import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type JobDefinition, type TaskState, topologicalOrder } from '@baton/domain';
import { type RunEntity, TaskRunEntity, scoped } from '@baton/persistence';
import { taskOf } from './definitions.js';
import type { Effects } from './effects.js';
import { EngineResources, type TaskSpec } from './engine-resources.js';

/**
 * SAGA compensation: when a run fails, the tasks that succeeded and name a
 * `compensate` task are undone one at a time, in reverse topological order.
 */
@Injectable()
export class Compensation {
  constructor(private readonly r: EngineResources) {}

  /**
   * SAGA: when a run fails, the tasks that succeeded and name a `compensate`
   * task are compensated one at a time, in reverse topological order.
   */
  async start(
    m: EntityManager,
    run: RunEntity,
    def: JobDefinition,
    states: Readonly<Record<string, TaskState>>,
    now: number,
    fx: Effects,
  ): Promise<boolean> {
    if (!def.tasks.some((t) => t.compensate && states[t.key] === 'succeeded')) return false;
    return this.continue(m, run, def, now, fx);
  }

  /**
   * Queues the next compensation, if any; returns whether one is pending (the
   * run stays running until it finishes). When none is left the caller ends
   * the run failed.
   */
  async continue(m: EntityManager, run: RunEntity, def: JobDefinition, now: number, fx: Effects): Promise<boolean> {
    const rows = await scoped(m, run).find(TaskRunEntity, { where: { runId: run.id } });
    if (rows.some((t) => t.state === 'compensating')) return true;
    const order = topologicalOrder(def.tasks).reverse();
    const byKey = new Map(rows.map((t) => [t.taskKey, t]));
    for (const key of order) {
      const spec = taskOf(def, key) as TaskSpec | undefined;
      const row = byKey.get(key);
      if (!spec?.compensate || !row || row.state !== 'succeeded') continue;
      // Queued for the dispatcher as a compensation: state compensating, no attempt yet.
      await this.r.moves.tasks(m, run, { ids: [row.id] }, ['succeeded'], 'compensating', {
        readyAt: now,
        currentAttemptId: null,
        updatedAt: now,
      });
      fx.queued = true;
      return true;
    }
    return false;
  }
}
