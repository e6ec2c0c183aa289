import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { canTransition, isRunFinished, isTerminalTaskState } from '@baton/domain';
import { type RunEntity, TaskRunEntity, scoped } from '@baton/persistence';
import { ProblemException } from '@baton/http';
import { Completion } from './completion.js';
import { type Effects, noEffects } from './effects.js';
import { EngineResources, LIVE, LIVE_ATTEMPT } from './engine-resources.js';

/** Operator actions on a run: cancel it, or override a task's state and let the run move on. */
@Injectable()
export class OperatorActions {
  constructor(
    private readonly r: EngineResources,
    private readonly completion: Completion,
  ) {}

  /** Cancels a run: unstarted tasks at once, running attempts get Cancel on their agents. */
  async cancelRun(m: EntityManager, run: RunEntity, reason: string, now: number): Promise<Effects> {
    const fx = noEffects();
    if (isRunFinished(run.state)) return fx;
    const rows = await scoped(m, run).find(TaskRunEntity, { where: { runId: run.id } });
    for (const t of rows) {
      if (isTerminalTaskState(t.state) || !canTransition(t.state, 'cancelled')) continue;
      const ok = await this.r.moves.tasks(m, run, { ids: [t.id] }, [t.state], 'cancelled', {
        error: reason,
        finishedAt: now,
        updatedAt: now,
      });
      if (ok === 1 && t.currentAttemptId && LIVE.includes(t.state)) {
        await this.r.moves.attempts(m, run, { ids: [t.currentAttemptId] }, LIVE_ATTEMPT, 'cancelled', {
          finishedAt: now,
          expiresAt: null,
          error: reason,
        });
        fx.cancel.push(t.currentAttemptId);
      }
    }
    await this.completion.finishRun(m, run, 'cancelled', now, fx);
    return fx;
  }

  /** Operator override of a task's state, then the run moves on. */
  async markTask(m: EntityManager, run: RunEntity, key: string, state: 'succeeded' | 'skipped', now: number) {
    const task = await scoped(m, run).findOne(TaskRunEntity, { where: { runId: run.id, taskKey: key } });
    if (!task) throw ProblemException.notFound(`task ${key} in run ${run.id}`);
    if (run.state !== 'running') {
      throw ProblemException.conflict(`run ${run.id} is ${run.state}; rerun it instead of marking its tasks`);
    }
    if (!canTransition(task.state, state)) {
      throw ProblemException.conflict(`task ${key} is ${task.state} and cannot be marked ${state}`);
    }
    const ok = await this.r.moves.tasks(m, run, { ids: [task.id] }, [task.state], state, {
      error: `marked ${state} by an operator`,
      finishedAt: now,
      updatedAt: now,
    });
    if (ok !== 1) throw ProblemException.conflict(`task ${key} changed meanwhile; try again`);
    const def = await this.r.definition(m, run);
    return this.completion.advance(m, run, def, now);
  }
}
