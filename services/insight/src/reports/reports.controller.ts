import { Controller, Get, Query } from '@nestjs/common';
import { z } from 'zod';
import { REPORT_MAX_DAYS, reportRange } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseInput, parseLimit } from '@baton/http';
import { ReportsService } from './reports.service.js';

/** `from`/`to` (ISO dates or instants; default the last 30 days), `job`; the range is checked against the clock's today. */
const ReportQuery = z
  .object({
    from: z.string().optional(),
    to: z.string().optional(),
    job: z.string().min(1).max(100).optional(),
  })
  .transform((q, ctx) => {
    const r = reportRange(q, Date.now());
    if ('problems' in r) {
      for (const p of r.problems) ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
      return z.NEVER;
    }
    return { range: r.range, job: q.job };
  });

@Controller('api/v1/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('jobs')
  @ApiDoc({
    summary: `Per job over the range and per job and UTC day of the logical date: runs, success rate, runtime and schedule delay p50/p95, retries, SLA met % (range at most ${REPORT_MAX_DAYS} days)`,
    query: ReportQuery,
  })
  @Requires('read', 'Run')
  jobs(
    @CurrentPrincipal() p: Principal,
    @Query('from') from?: string,
    @Query('to') to?: string,
    @Query('job') job?: string,
  ) {
    const q = parseInput(ReportQuery, { from, to, job });
    return this.reports.jobs(p, q.range, q.job);
  }

  @Get('heatmap')
  @ApiDoc({
    summary: 'Runs and failed runs per job and hour of day (UTC, of the logical date) over the range',
    query: ReportQuery,
  })
  @Requires('read', 'Run')
  heatmap(
    @CurrentPrincipal() p: Principal,
    @Query('from') from?: string,
    @Query('to') to?: string,
    @Query('job') job?: string,
  ) {
    const q = parseInput(ReportQuery, { from, to, job });
    return this.reports.heatmap(p, q.range, q.job);
  }

  @Get('tasks')
  @ApiDoc({
    summary:
      'The tasks that failed most over the range (after their last attempt: failed, timed out, lost), with failure rate and retries; ?limit (default 20)',
    query: ReportQuery,
  })
  @Requires('read', 'Run')
  tasks(
    @CurrentPrincipal() p: Principal,
    @Query('from') from?: string,
    @Query('to') to?: string,
    @Query('job') job?: string,
    @Query('limit') limit?: string,
  ) {
    const q = parseInput(ReportQuery, { from, to, job });
    return this.reports.tasks(p, q.range, q.job, parseLimit(limit, 20, 200));
  }
}
