import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditEventEntity, AuditHeadEntity, Database, forUpdate, scoped } from '@baton/persistence';
import {
  type AuditRecord,
  type BusEvent,
  EVENT_BUS,
  type EventBus,
  consumeOnceBatch,
  subscribeBatch,
  topic,
} from '@baton/bus';
import { type ChainFields, GENESIS, chainHash } from '../chain.js';
import { Checkpoints } from '../checkpoints.js';

/**
 * Consumes the audit topic and appends each tenant's records to its hash
 * chain, keyed with the current audit key; signs a checkpoint of the head
 * when one is due.
 */
@Injectable()
export class AuditIngestService implements OnApplicationBootstrap {
  constructor(
    private readonly db: Database,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly checkpoints: Checkpoints,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await subscribeBatch(this.bus, topic('audit'), 'audit', async (events) => {
      await consumeOnceBatch(this.db, 'audit.ingest', events, (m, fresh) => this.append(m, fresh));
    });
  }

  private async append(m: EntityManager, events: readonly BusEvent[]): Promise<void> {
    const byTenant = new Map<string, BusEvent[]>();
    for (const e of events) {
      const rec = e.payload as AuditRecord;
      byTenant.set(rec.tenantId, [...(byTenant.get(rec.tenantId) ?? []), e]);
    }
    for (const tenantId of [...byTenant.keys()].sort()) {
      const tenant = scoped(m, { tenantId });
      let head = await forUpdate(this.db, tenant.query(AuditHeadEntity, 'h')).getOne();
      if (!head) {
        head = { tenantId, seq: 0, hash: GENESIS, checkpointSeq: 0, checkpointAt: null };
        await tenant.insert(AuditHeadEntity, head);
      }
      const key = this.checkpoints.keys.current;
      const rows: Array<Omit<AuditEventEntity, 'id'>> = [];
      for (const e of byTenant.get(tenantId)!) {
        const rec = e.payload as AuditRecord;
        const fields: ChainFields = {
          seq: head.seq + 1,
          eventId: e.id,
          action: rec.action.slice(0, 100),
          actor: rec.actor.slice(0, 200),
          target: rec.target.slice(0, 300),
          status: rec.status,
          detail: JSON.stringify(rec.detail ?? {}),
          occurredAt: rec.occurredAt,
        };
        const hash = chainHash(head.hash, fields, key);
        rows.push({ tenantId, ...fields, prevHash: head.hash, hash, keyId: key.id });
        head = { ...head, seq: fields.seq, hash };
      }
      await tenant.insert(AuditEventEntity, rows);
      await tenant.update(AuditHeadEntity, {}, { seq: head.seq, hash: head.hash });
      const now = Date.now();
      if (this.checkpoints.due(head, now)) await this.checkpoints.write(m, { tenantId }, head, now);
    }
  }
}
