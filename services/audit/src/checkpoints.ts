import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditCheckpointEntity, AuditHeadEntity, type TenantScope, scoped } from '@baton/persistence';
import { type Checkpoint, signCheckpoint } from './chain.js';
import type { AuditKeys } from './keys.js';

export const AUDIT_KEYS = Symbol('AUDIT_KEYS');

/** A checkpoint is written after this many records since the last one, or this long after it. */
export const CHECKPOINT_EVERY = 100;
export const CHECKPOINT_AFTER_MS = 10 * 60_000;

export function checkpointView(c: AuditCheckpointEntity): Checkpoint {
  return { tenantId: c.tenantId, seq: c.seq, hash: c.hash, at: c.at, keyId: c.keyId, signature: c.signature };
}

/** Signed checkpoints of each tenant's chain head, written beside the records. */
@Injectable()
export class Checkpoints {
  constructor(@Inject(AUDIT_KEYS) readonly keys: AuditKeys) {}

  /** Whether the head has moved far or long enough since its last checkpoint for a new one. */
  due(head: AuditHeadEntity, now: number): boolean {
    if (head.seq === head.checkpointSeq) return false;
    return (
      head.checkpointAt === null ||
      head.seq - head.checkpointSeq >= CHECKPOINT_EVERY ||
      now - head.checkpointAt >= CHECKPOINT_AFTER_MS
    );
  }

  /** Signs and stores the head as a checkpoint, in the caller's transaction (which holds the head's lock). */
  async write(m: EntityManager, scope: TenantScope, head: AuditHeadEntity, now: number): Promise<Checkpoint> {
    const c = signCheckpoint({ tenantId: scope.tenantId, seq: head.seq, hash: head.hash, at: now }, this.keys.current);
    const tenant = scoped(m, scope);
    await tenant.insert(AuditCheckpointEntity, { ...c });
    await tenant.update(AuditHeadEntity, {}, { checkpointSeq: head.seq, checkpointAt: now });
    return c;
  }
}
