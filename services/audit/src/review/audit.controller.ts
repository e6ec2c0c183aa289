import { Controller, Get, Query } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { AuditEventEntity, AuditHeadEntity, Database } from '@baton/persistence';
import { decodeNumericCursor, encodeCursor, parseLimit } from '@baton/http';
import { verifyChain } from '../chain.js';

@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly db: Database) {}

  /** The tenant's audit log, newest first. */
  @Get()
  @Requires('read', 'Audit')
  async list(@CurrentPrincipal() p: Principal, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    const n = parseLimit(limit, 100, 1000);
    const after = decodeNumericCursor(cursor);
    const q = this.db.manager
      .createQueryBuilder(AuditEventEntity, 'a')
      .where('a.tenant_id = :t', { t: p.tenantId })
      .orderBy('a.seq', 'DESC')
      .limit(n + 1);
    if (after) q.andWhere('a.seq < :s', { s: Number(after.k) });
    const rows = await q.getMany();
    const page = rows.slice(0, n);
    const last = page[page.length - 1];
    return {
      items: page.map((a) => ({
        seq: a.seq,
        action: a.action,
        actor: a.actor,
        target: a.target,
        status: a.status,
        occurredAt: new Date(a.occurredAt).toISOString(),
        hash: a.hash,
      })),
      nextCursor: rows.length > n && last ? encodeCursor({ k: last.seq, id: String(last.id) }) : null,
    };
  }

  /** Recomputes the tenant's chain: an edited or deleted record is reported with its sequence number. */
  @Get('verify')
  @Requires('read', 'Audit')
  async verify(@CurrentPrincipal() p: Principal) {
    const rows = await this.db.manager.find(AuditEventEntity, {
      where: { tenantId: p.tenantId },
      order: { seq: 'ASC' },
    });
    const r = verifyChain(rows);
    if (!r.ok) return r;
    // The chain head remembers the last record, so deleting the newest records is detected too.
    const head = await this.db.manager.findOne(AuditHeadEntity, { where: { tenantId: p.tenantId } });
    const last = rows[rows.length - 1];
    if (head && (head.seq !== (last?.seq ?? 0) || (last !== undefined && head.hash !== last.hash))) {
      const after = last?.seq ?? 0;
      return { ok: false, checked: rows.length, brokenAt: after + 1, reason: `records after ${after} are missing` };
    }
    return r;
  }
}
