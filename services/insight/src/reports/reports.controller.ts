import { Controller, Get, Query } from '@nestjs/common';
import { z } from 'zod';
import { REPORT_MAX_DAYS, reportRange } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, ProblemException, parseInput, parseLimit } from '@baton/http';
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

/** The heatmap's query: the report's, and `by` (`job`, the default: job × hour of day; `tenant`: tenant × job × day). */
const HeatmapQuery = z
  .object({
    from: z.string().optional(),
    to: z.string().optional(),
    job: z.string().min(1).max(100).optional(),
    by: z.enum(['job', 'tenant']).optional(),
  })
  .transform((q, ctx) => {
    const r = reportRange(q, Date.now());
    if ('problems' in r) {
      for (const p of r.problems) ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
      return z.NEVER;
    }
    return { range: r.range, job: q.job, by: q.by ?? 'job' };
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
    summary:
      'Runs and failed runs per job and hour of day (UTC, of the logical date) over the range; ?by=tenant (platform admins only, others 403): per tenant, job and UTC day, across all tenants',
    query: HeatmapQuery,
  })
  @Requires('read', 'Run')
  heatmap(
    @CurrentPrincipal() p: Principal,
    @Query('from') from?: string,
    @Query('to') to?: string,
    @Query('job') job?: string,
    @Query('by') by?: string,
  ) {
    const q = parseInput(HeatmapQuery, { from, to, job, by });
    if (q.by === 'tenant') {
      if (p.role !== 'platform_admin') {
        throw ProblemException.forbidden('by=tenant: only platform admins see the heatmap of all tenants');
      }
      return this.reports.tenantHeatmap(q.range, q.job);
    }
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
