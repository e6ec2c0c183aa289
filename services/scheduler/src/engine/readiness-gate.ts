import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { JobDefinition } from '@baton/domain';
import type { RunEntity, TaskRunEntity } from '@baton/persistence';

export interface GateVerdict {
  skip: boolean;
  reason: string | null;
}

/** Decides a ready task's `when:` condition against params and upstream outputs. */
@Injectable()
export class ReadinessGate {
  async check(
    _m: EntityManager,
    _run: RunEntity,
    _def: JobDefinition,
    _key: string,
    _rows: readonly TaskRunEntity[],
  ): Promise<GateVerdict> {
    return { skip: false, reason: null };
  }
}
