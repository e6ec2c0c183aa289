import { Injectable } from '@nestjs/common';
import {
  type Heatmap,
  type JobDayReport,
  type JobRangeReport,
  type ReportRange,
  heatmap,
  jobDayReports,
  jobRangeReports,
  type TenantHeatmap,
  type TopFailingTask,
  tenantHeatmap,
  topFailingTasks,
} from '@baton/domain';
import { ProblemException } from '@baton/http';
import {
  Database,
  JobEntity,
  type ReportScope,
  type TenantScope,
  reportHeatmapCounts,
  reportPercentiles,
  reportRetries,
  reportRunCounts,
  reportSlaOutcomes,
  reportTaskFailures,
  reportTenantHeatmapCounts,
  scoped,
} from '@baton/persistence';

const iso = (ms: number) => new Date(ms).toISOString();

/** The reports over a tenant's run history: per job and day, and failures by hour of day. */
@Injectable()
export class ReportsService {
  constructor(private readonly db: Database) {}

  /** A job of the tenant by name (404 when it has none: another tenant's job is not there). */
  private async scopeOf(tenant: TenantScope, range: ReportRange, job: string | undefined): Promise<ReportScope> {
    if (job === undefined) return { tenant, range, job: null };
    if (!(await scoped(this.db.manager, tenant).exists(JobEntity, { where: { name: job } }))) {
      throw ProblemException.notFound(`job ${job}`);
    }
    return { tenant, range, job };
  }

  async jobs(
    tenant: TenantScope,
    range: ReportRange,
    job: string | undefined,
  ): Promise<{ from: string; to: string; jobs: JobRangeReport[]; items: JobDayReport[] }> {
    const s = await this.scopeOf(tenant, range, job);
    const [counts, retries, slas, percentiles] = await Promise.all([
      reportRunCounts(this.db, s),
      reportRetries(this.db, s),
      reportSlaOutcomes(this.db, s),
      reportPercentiles(this.db, s),
    ]);
    return {
      from: iso(range.from),
      to: iso(range.to),
      jobs: jobRangeReports(counts, retries, slas, percentiles.overRange),
      items: jobDayReports(counts, retries, slas, percentiles.byDay),
    };
  }

  async heatmap(
    tenant: TenantScope,
    range: ReportRange,
    job: string | undefined,
  ): Promise<{ from: string; to: string } & Heatmap> {
    const s = await this.scopeOf(tenant, range, job);
    return { from: iso(range.from), to: iso(range.to), ...heatmap(await reportHeatmapCounts(this.db, s)) };
  }

  /** Tenant × job × day over the range, across all tenants (the caller checked the platform admin). */
  async tenantHeatmap(
    range: ReportRange,
    job: string | undefined,
  ): Promise<{ from: string; to: string } & TenantHeatmap> {
    const counts = await reportTenantHeatmapCounts(this.db, range, job ?? null);
    return { from: iso(range.from), to: iso(range.to), ...tenantHeatmap(counts, range) };
  }

  async tasks(
    tenant: TenantScope,
    range: ReportRange,
    job: string | undefined,
    limit: number,
  ): Promise<{ from: string; to: string; items: TopFailingTask[] }> {
    const s = await this.scopeOf(tenant, range, job);
    return {
      from: iso(range.from),
      to: iso(range.to),
      items: topFailingTasks(await reportTaskFailures(this.db, s), limit),
    };
  }
}
