import { Injectable } from '@nestjs/common';
import type { Principal } from '@baton/auth';
import { AuditEventEntity, Database, scoped } from '@baton/persistence';
import type { AuditFilter } from './audit.dto.js';

/** One record as the review API shows it (JSON and CSV). */
export interface AuditRecordView {
  seq: number;
  occurredAt: string;
  actor: string;
  action: string;
  target: string;
  status: number;
  detail: unknown;
  hash: string;
}

/** `%`, `_` and the escape itself match literally inside a LIKE pattern (`!` escapes on SQLite and MariaDB alike). */
const literal = (text: string) => text.replace(/[!%_]/g, (c) => `!${c}`);

@Injectable()
export class AuditReview {
  constructor(private readonly db: Database) {}

  /** A page of the tenant's records matching `f`, newest first, below `beforeSeq` when given; one extra tells more exist. */
  async page(p: Principal, f: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditEventEntity[]> {
    const q = scoped(this.db.manager, p).query(AuditEventEntity, 'a').orderBy('a.seq', 'DESC').limit(limit);
    if (beforeSeq !== undefined) q.andWhere('a.seq < :before', { before: beforeSeq });
    if (f.actor) q.andWhere(`a.actor LIKE :actor ESCAPE '!'`, { actor: `%${literal(f.actor)}%` });
    if (f.action) q.andWhere(`a.action LIKE :action ESCAPE '!'`, { action: `${literal(f.action)}%` });
    if (f.target) q.andWhere(`a.target LIKE :target ESCAPE '!'`, { target: `%${literal(f.target)}%` });
    if (f.from !== undefined) q.andWhere('a.occurredAt >= :from', { from: f.from });
    if (f.to !== undefined) q.andWhere('a.occurredAt < :to', { to: f.to });
    if (f.status) q.andWhere('a.status BETWEEN :smin AND :smax', { smin: f.status.min, smax: f.status.max });
    return q.getMany();
  }

  /** Every matching record, newest first, read in chunks of `chunk` so no export holds the whole log. */
  async *all(p: Principal, f: AuditFilter, chunk = 500): AsyncGenerator<AuditEventEntity[]> {
    let before: number | undefined;
    for (;;) {
      const rows = await this.page(p, f, chunk, before);
      if (rows.length > 0) yield rows;
      if (rows.length < chunk) return;
      before = rows[rows.length - 1]!.seq;
    }
  }
}

export function recordView(a: AuditEventEntity): AuditRecordView {
  return {
    seq: a.seq,
    occurredAt: new Date(a.occurredAt).toISOString(),
    actor: a.actor,
    action: a.action,
    target: a.target,
    status: a.status,
    detail: detailOf(a.detail),
    hash: a.hash,
  };
}

/** A record's detail as stored (JSON text); text that does not parse is shown as it is. */
function detailOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
