import { Injectable } from '@nestjs/common';
import { type JobDefinition, evaluateCondition } from '@baton/domain';
import type { RunEntity } from '@baton/persistence';
import { taskOf } from './definitions.js';
import { TaskRenderer } from './task-renderer.js';

export interface GateVerdict {
  /** `queued`: run it; `skipped`: its condition is false; `failed`: the condition could not be evaluated. */
  state: 'queued' | 'skipped' | 'failed';
  reason: string | null;
}

/** Decides a ready task's `when:` condition against params and upstream outputs. */
@Injectable()
export class ReadinessGate {
  constructor(private readonly renderer: TaskRenderer) {}

  async check(
    run: RunEntity,
    def: JobDefinition,
    key: string,
    outputs: () => Promise<Record<string, unknown>>,
  ): Promise<GateVerdict> {
    const when = taskOf(def, key)?.when;
    if (!when) return { state: 'queued', reason: null };
    const r = evaluateCondition(when, this.renderer.context(run, def, await outputs()));
    if (!r.ok)
      return { state: 'failed', reason: `condition ${JSON.stringify(when)} could not be evaluated: ${r.error}` };
    return r.value
      ? { state: 'queued', reason: null }
      : { state: 'skipped', reason: `condition ${JSON.stringify(when)} is false` };
  }
}
