import { Controller, Get, Query } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { AuditEventEntity, AuditHeadEntity, Database, scoped } from '@baton/persistence';
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
    const q = scoped(this.db.manager, p)
      .query(AuditEventEntity, 'a')
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
        detail: detailOf(a.detail),
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
    const rows = await scoped(this.db.manager, p).find(AuditEventEntity, { where: {}, order: { seq: 'ASC' } });
    const r = verifyChain(rows);
    if (!r.ok) return r;
    // The chain head remembers the last record, so deleting the newest records is detected too.
    const head = await scoped(this.db.manager, p).findOne(AuditHeadEntity, { where: {} });
    const last = rows[rows.length - 1];
    if (head && (head.seq !== (last?.seq ?? 0) || (last !== undefined && head.hash !== last.hash))) {
      const after = last?.seq ?? 0;
      return { ok: false, checked: rows.length, brokenAt: after + 1, reason: `records after ${after} are missing` };
    }
    return r;
  }
}

/** A record's detail as stored (JSON text); text that does not parse is shown as it is. */
function detailOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
