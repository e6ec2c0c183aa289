import {
  DAY_MS,
  HOUR_MS,
  type HeatmapCount,
  type JobDayCounts,
  type JobDayPercentile,
  type JobDayRetries,
  type JobDaySla,
  REPORT_PERCENTILES,
  type ReportRange,
  percentileRank,
} from '@baton/domain';
import type { Database } from './database.js';
import type { TenantScope } from './scope.js';

/*
 * The report queries of the insight service: one tenant's runs over a range
 * of logical dates, aggregated in the database so an answer is a few rows
 * per job and day whatever the history. Each scans an index range:
 * runs (tenant_id, logical_date) or (tenant_id, job_id, logical_date);
 * task_runs by run_id; run_slas (tenant_id, state, logical_date) or
 * (tenant_id, job_name, logical_date). Percentiles are nearest-rank: a
 * window function numbers each group's values and only the rows at the ranks
 * come back (SQLite ≥ 3.25 and MariaDB ≥ 10.2 both have ROW_NUMBER).
 */

/** Which runs a report covers: the tenant's, in the range, of one job when `jobId` is given. */
export interface ReportScope {
  tenant: TenantScope;
  range: ReportRange;
  /** The job (its id and name), or all the tenant's jobs. */
  job: { id: string; name: string } | null;
}

/** Integer division of a non-negative integer expression (SQLite's `/` on integers is one; MySQL's is not). */
function intDiv(db: Database, expr: string, by: number): string {
  return db.dialect === 'mysql' ? `(${expr} DIV ${by})` : `(${expr} / ${by})`;
}

const dayOf = (db: Database, col: string) => intDiv(db, col, DAY_MS);

function runsWhere(s: ReportScope): { sql: string; params: unknown[] } {
  const params: unknown[] = [s.tenant.tenantId, s.range.from, s.range.to];
  let sql = 'r.tenant_id = ? AND r.logical_date >= ? AND r.logical_date < ?';
  if (s.job) {
    sql += ' AND r.job_id = ?';
    params.push(s.job.id);
  }
  return { sql, params };
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** Runs per job and day by outcome. */
export async function reportRunCounts(db: Database, s: ReportScope): Promise<JobDayCounts[]> {
  const w = runsWhere(s);
  const rows: Array<Record<string, unknown>> = await db.manager.query(
    `SELECT r.job_name AS job, ${dayOf(db, 'r.logical_date')} AS day, COUNT(*) AS runs,
       SUM(CASE WHEN r.state = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
       SUM(CASE WHEN r.state = 'failed' THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN r.state = 'cancelled' THEN 1 ELSE 0 END) AS cancelled
     FROM runs r WHERE ${w.sql} GROUP BY r.job_name, day`,
    w.params,
  );
  return rows.map((r) => ({
    job: String(r.job),
    day: num(r.day),
    runs: num(r.runs),
    succeeded: num(r.succeeded),
    failed: num(r.failed),
    cancelled: num(r.cancelled),
  }));
}

/** Retries per job and day: the attempts of the runs' tasks after each task's first. */
export async function reportRetries(db: Database, s: ReportScope): Promise<JobDayRetries[]> {
  const w = runsWhere(s);
  const rows: Array<Record<string, unknown>> = await db.manager.query(
    `SELECT r.job_name AS job, ${dayOf(db, 'r.logical_date')} AS day, SUM(t.attempts_used - 1) AS retries
     FROM runs r JOIN task_runs t ON t.run_id = r.id AND t.tenant_id = r.tenant_id
     WHERE ${w.sql} AND t.attempts_used > 1 GROUP BY r.job_name, day`,
    w.params,
  );
  return rows.map((r) => ({ job: String(r.job), day: num(r.day), retries: num(r.retries) }));
}

/** Decided SLAs (met, missed) per job and day. */
export async function reportSlaOutcomes(db: Database, s: ReportScope): Promise<JobDaySla[]> {
  const params: unknown[] = [s.tenant.tenantId, s.range.from, s.range.to];
  let sql = "s.tenant_id = ? AND s.logical_date >= ? AND s.logical_date < ? AND s.state IN ('met', 'missed')";
  if (s.job) {
    sql += ' AND s.job_name = ?';
    params.push(s.job.name);
  }
  const rows: Array<Record<string, unknown>> = await db.manager.query(
    `SELECT s.job_name AS job, ${dayOf(db, 's.logical_date')} AS day,
       SUM(CASE WHEN s.state = 'met' THEN 1 ELSE 0 END) AS met,
       SUM(CASE WHEN s.state = 'missed' THEN 1 ELSE 0 END) AS missed
     FROM run_slas s WHERE ${sql} GROUP BY s.job_name, day`,
    params,
  );
  return rows.map((r) => ({ job: String(r.job), day: num(r.day), met: num(r.met), missed: num(r.missed) }));
}

/**
 * Runtime (start to end of succeeded runs) and schedule delay (start minus
 * logical date) at REPORT_PERCENTILES per job and day (or per job over the
 * whole range: percentiles of days do not add up to the range's).
 */
export async function reportPercentiles(
  db: Database,
  s: ReportScope,
  grain: 'day' | 'range' = 'day',
): Promise<JobDayPercentile[]> {
  const w = runsWhere(s);
  // Over the whole range, every run is of "day" 0.
  const day = grain === 'day' ? dayOf(db, 'r.logical_date') : '0';
  const ranked = (metric: string, value: string, extra: string) =>
    `SELECT r.job_name AS job, ${day} AS day, '${metric}' AS metric, ${value} AS v,
       ROW_NUMBER() OVER (PARTITION BY r.job_name, ${day} ORDER BY ${value}) AS rn,
       COUNT(*) OVER (PARTITION BY r.job_name, ${day}) AS n
     FROM runs r WHERE ${w.sql} AND ${extra}`;
  // The row at a nearest-rank percentile p: rn ≥ p·n/100 > rn − 1 (integers only, no CEIL on SQLite).
  const atRank = REPORT_PERCENTILES.map((p) => `(x.rn * 100 >= ${p} * x.n AND (x.rn - 1) * 100 < ${p} * x.n)`).join(
    ' OR ',
  );
  const rows: Array<Record<string, unknown>> = await db.manager.query(
    `SELECT x.job, x.day, x.metric, x.v, x.rn, x.n FROM (
       ${ranked('runtime', '(r.finished_at - r.started_at)', "r.state = 'succeeded' AND r.started_at IS NOT NULL AND r.finished_at IS NOT NULL")}
       UNION ALL
       ${ranked('delay', '(r.started_at - r.logical_date)', 'r.started_at IS NOT NULL')}
     ) x WHERE ${atRank}`,
    [...w.params, ...w.params],
  );
  const out: JobDayPercentile[] = [];
  for (const r of rows) {
    const n = num(r.n);
    const rn = num(r.rn);
    for (const p of REPORT_PERCENTILES) {
      if (percentileRank(n, p) !== rn) continue;
      out.push({
        job: String(r.job),
        day: num(r.day),
        metric: r.metric === 'delay' ? 'delay' : 'runtime',
        p,
        value: num(r.v),
      });
    }
  }
  return out;
}

/** Runs and failed runs per job and hour of day (UTC, of the logical date). */
export async function reportHeatmapCounts(db: Database, s: ReportScope): Promise<HeatmapCount[]> {
  const w = runsWhere(s);
  const hour = `(${intDiv(db, 'r.logical_date', HOUR_MS)} % 24)`;
  const rows: Array<Record<string, unknown>> = await db.manager.query(
    `SELECT r.job_name AS job, ${hour} AS hour, COUNT(*) AS runs,
       SUM(CASE WHEN r.state = 'failed' THEN 1 ELSE 0 END) AS failures
     FROM runs r WHERE ${w.sql} GROUP BY r.job_name, hour`,
    w.params,
  );
  return rows.map((r) => ({ job: String(r.job), hour: num(r.hour), runs: num(r.runs), failures: num(r.failures) }));
}
