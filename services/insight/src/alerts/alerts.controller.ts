import { Controller, Get, Query } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, decodeCursor, encodeCursor, parseInput, parseLimit } from '@baton/http';
import { AlertDeliveryEntity, Database, scoped } from '@baton/persistence';

const HistoryQuery = z.object({
  rule: z.string().max(64).optional(),
  job: z.string().max(100).optional(),
  state: z
    .enum(['pending', 'sent', 'failed', 'suppressed'], { error: 'must be pending, sent, failed or suppressed' })
    .optional(),
  limit: z.string().optional(),
  cursor: z.string().optional(),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function deliveryView(d: AlertDeliveryEntity) {
  return {
    id: d.id,
    event: d.event,
    resolved: d.resolved,
    rule: d.ruleName,
    channel: d.channelName,
    job: d.jobName,
    runId: d.runId,
    taskKey: d.taskKey,
    reason: d.reason,
    state: d.state,
    attempts: d.attempts,
    lastError: d.lastError,
    createdAt: iso(d.createdAt),
    sentAt: iso(d.sentAt),
    nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
    updatedAt: iso(d.updatedAt),
  };
}

/** The tenant's alert history: one item per (event, rule, channel), newest first. */
@Controller('api/v1/alerts')
export class AlertsController {
  constructor(private readonly db: Database) {}

  @Get()
  @ApiDoc({
    summary: 'Alert history, newest first: event, rule, channel, run/task, reason, state, attempts, last error, times',
    query: HistoryQuery,
  })
  @Requires('read', 'Alert')
  async list(@CurrentPrincipal() p: Principal, @Query() query: unknown) {
    const f = parseInput(HistoryQuery, query);
    const limit = parseLimit(f.limit);
    const cursor = decodeCursor(f.cursor);
    // Ids are time-ordered (UUIDv7): newest first is id descending.
    const q = scoped(this.db.manager, p).query(AlertDeliveryEntity, 'd');
    if (f.rule) q.andWhere('d.rule_name = :rule', { rule: f.rule });
    if (f.job) q.andWhere('d.job_name = :job', { job: f.job });
    if (f.state) q.andWhere('d.state = :state', { state: f.state });
    if (cursor) q.andWhere('d.id < :after', { after: cursor.id });
    const rows = await q
      .orderBy('d.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(deliveryView),
      nextCursor: rows.length > limit && last ? encodeCursor({ k: last.createdAt, id: last.id }) : null,
    };
  }
}
