import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, ProblemException, parseInput } from '@baton/http';
import { DAY_MS } from '@baton/domain';
import { Database, usageByDay } from '@baton/persistence';

/** The longest range one call reads. */
const MAX_DAYS = 366;
const DEFAULT_DAYS = 30;

/** A UTC day (`2026-12-01`) or an instant; ranges are whole UTC days. */
const Day = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);
const UsageQuery = z.object({
  from: Day.optional(),
  to: Day.optional(),
  format: z.enum(['json', 'csv']).optional(),
});

const CSV_COLUMNS = [
  'day',
  'runsStarted',
  'runsSucceeded',
  'runsFailed',
  'taskSeconds',
  'cpuSeconds',
  'agentHours',
] as const;

const dayOf = (s: string) => {
  const t = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);
  return t - (t % DAY_MS);
};
const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

/** Usage per tenant and UTC day, for chargeback: runs, task time, agent time (JSON or CSV). */
@Controller('api/v1')
export class UsageController {
  constructor(private readonly db: Database) {}

  @Get('usage')
  @ApiDoc({
    summary:
      "The tenant's usage per UTC day in [from, to] (default: the last 30 days; at most 366): runs started, " +
      'succeeded, failed, task-seconds, agent-hours. CSV with Accept: text/csv or format=csv',
    query: UsageQuery,
  })
  @Requires('read', 'Run')
  async usage(
    @CurrentPrincipal() p: Principal,
    @Res({ passthrough: true }) res: Response,
    @Query('from') from?: string,
    @Query('to') to?: string,
    @Query('format') format?: string,
    @Headers('accept') accept?: string,
  ) {
    const q = parseInput(UsageQuery, { from, to, format });
    const now = Date.now();
    const last = q.to ? dayOf(q.to) : now - (now % DAY_MS);
    const first = q.from ? dayOf(q.from) : last - (DEFAULT_DAYS - 1) * DAY_MS;
    if (last < first) throw ProblemException.invalidField('to', 'must not be before from');
    const days = (last - first) / DAY_MS + 1;
    if (days > MAX_DAYS)
      throw ProblemException.invalidField('from', `the range holds ${days} days; at most ${MAX_DAYS}`);
    const rows = await usageByDay(this.db.manager, p, first, last + DAY_MS, now);
    const byDay = new Map(rows.map((r) => [r.day, r]));
    const out = [];
    for (let d = first; d <= last; d += DAY_MS) {
      const r = byDay.get(d);
      out.push({
        day: new Date(d).toISOString().slice(0, 10),
        runsStarted: r?.runsStarted ?? 0,
        runsSucceeded: r?.runsSucceeded ?? 0,
        runsFailed: r?.runsFailed ?? 0,
        taskSeconds: round(r?.taskSeconds ?? 0, 3),
        cpuSeconds: round(r?.cpuSeconds ?? 0, 3),
        agentHours: round(r?.agentHours ?? 0, 4),
      });
    }
    const totals = {
      runsStarted: out.reduce((n, r) => n + r.runsStarted, 0),
      runsSucceeded: out.reduce((n, r) => n + r.runsSucceeded, 0),
      runsFailed: out.reduce((n, r) => n + r.runsFailed, 0),
      taskSeconds: round(
        out.reduce((n, r) => n + r.taskSeconds, 0),
        3,
      ),
      cpuSeconds: round(
        out.reduce((n, r) => n + r.cpuSeconds, 0),
        3,
      ),
      agentHours: round(
        out.reduce((n, r) => n + r.agentHours, 0),
        4,
      ),
    };
    const csv = q.format === 'csv' || (q.format === undefined && (accept ?? '').includes('text/csv'));
    if (csv) {
      res.type('text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="usage-${p.tenantId}.csv"`);
      // Every value is a number or a date: nothing to quote.
      const lines = [CSV_COLUMNS.join(','), ...out.map((r) => CSV_COLUMNS.map((c) => String(r[c])).join(','))];
      return lines.join('\r\n') + '\r\n';
    }
    return {
      tenantId: p.tenantId,
      from: new Date(first).toISOString().slice(0, 10),
      to: new Date(last).toISOString().slice(0, 10),
      days: out,
      totals,
    };
  }
}
