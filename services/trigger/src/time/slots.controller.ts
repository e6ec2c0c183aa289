import { Controller, Get, Param, Query } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { Database, JobEntity, TriggerSlotEntity, scoped } from '@baton/persistence';
import { ProblemException, decodeNumericCursor, encodeCursor, parseLimit } from '@baton/http';

/** The slot ledger: every planned slot of a job's time triggers and what became of it. */
@Controller('api/v1/jobs')
export class SlotsController {
  constructor(private readonly db: Database) {}

  @Get(':name/slots')
  @Requires('read', 'Job')
  async list(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    const n = parseLimit(limit, 100, 1000);
    const after = decodeNumericCursor(cursor);
    // Another tenant's job (or none) is 404, as on every route that names a job, not an empty ledger.
    const job = await scoped(this.db.manager, p).findOne(JobEntity, { where: { name }, select: { id: true } });
    if (!job) throw ProblemException.notFound(`job ${name}`);
    const q = scoped(this.db.manager, p)
      .query(TriggerSlotEntity, 's', 's.job_name = :j', { j: name })
      .orderBy('s.slot_at', 'DESC')
      .addOrderBy('s.id', 'DESC')
      .limit(n + 1);
    if (after) q.andWhere('(s.slot_at < :k OR (s.slot_at = :k AND s.id < :id))', { k: Number(after.k), id: after.id });
    const rows = await q.getMany();
    const page = rows.slice(0, n);
    const last = page[page.length - 1];
    return {
      items: page.map((s) => ({
        slot: new Date(s.slotAt).toISOString(),
        outcome: s.outcome,
        runId: s.runId,
        triggerId: s.triggerId,
        recordedAt: new Date(s.recordedAt).toISOString(),
      })),
      nextCursor: rows.length > n && last ? encodeCursor({ k: last.slotAt, id: last.id }) : null,
    };
  }
}
