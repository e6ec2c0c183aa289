import {
  DAY_MS,
  FAILED_TASK_STATES,
  HOUR_MS,
  type HeatmapCount,
  type JobDayCounts,
  type JobDayPercentile,
  type JobDayRetries,
  type JobDaySla,
  REPORT_PERCENTILES,
  type ReportRange,
  type TaskFailureCount,
  type TenantJobDayCount,
  percentileRank,
} from '@baton/domain';
import type { Database } from './database.js';
import type { TenantScope } from './scope.js';

/*
 * The report queries of the insight service: one tenant's runs over a range
 * of logical dates, aggregated in the database so an answer is a few rows
 * per job and day whatever the history. Each scans an index range that
 * holds the columns it reads: runs (tenant_id, logical_date, job_name,
 * state, started_at, finished_at) and run_slas (tenant_id, state,
 * logical_date, job_name); retries join task_runs by run_id. Percentiles are nearest-rank: a
 * window function numbers each group's values and only the rows at the ranks
 * come back (SQLite ≥ 3.25 and MariaDB ≥ 10.2 both have ROW_NUMBER).
 */

/** Which runs a report covers: the tenant's, in the range, of one job when `job` is given. */
export interface ReportScope {
  tenant: TenantScope;
  range: ReportRange;
  /** The job's name, or null for all the tenant's jobs. */
  job: string | null;
}

/** Integer division of a non-negative integer expression (SQLite's `/` on integers is one; MySQL's is not). */
function intDiv(db: Database, expr: string, by: number): string {
  return db.dialect === 'mysql' ? `(${expr} DIV ${by})` : `(${expr} / ${by})`;
}

const dayOf = (db: Database, col: string) => intDiv(db, col, DAY_MS);

/** By job name (not id): the covering index has the name, and a job deleted and made again is one line of a report. */
function runsWhere(s: ReportScope): { sql: string; params: unknown[] } {
  const params: unknown[] = [s.tenant.tenantId, s.range.from, s.range.to];
  let sql = 'r.tenant_id = ? AND r.logical_date >= ? AND r.logical_date < ?';
  if (s.job) {
    sql += ' AND r.job_name = ?';
    params.push(s.job);
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
    params.push(s.job);
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

/** The values at REPORT_PERCENTILES of each job and day, and of each job over the whole range. */
export interface ReportPercentiles {
  byDay: JobDayPercentile[];
  /** `day` is 0: over the range (percentiles of days do not add up to the range's). */
  overRange: JobDayPercentile[];
}

/**
 * Runtime (start to end of succeeded runs) and schedule delay (start minus
 * logical date) at REPORT_PERCENTILES, per job and day and per job over the
 * range, from one scan: each value is ranked twice (in its day, in its job).
 */
export async function reportPercentiles(db: Database, s: ReportScope): Promise<ReportPercentiles> {
  const w = runsWhere(s);
  const day = dayOf(db, 'r.logical_date');
  const ranked = (metric: string, value: string, extra: string) =>
    `SELECT r.job_name AS job, ${day} AS day, '${metric}' AS metric, ${value} AS v,
       ROW_NUMBER() OVER (PARTITION BY r.job_name, ${day} ORDER BY ${value}) AS rn,
       COUNT(*) OVER (PARTITION BY r.job_name, ${day}) AS n,
       ROW_NUMBER() OVER (PARTITION BY r.job_name ORDER BY ${value}) AS rn_all,
       COUNT(*) OVER (PARTITION BY r.job_name) AS n_all
     FROM runs r WHERE ${w.sql} AND ${extra}`;
  // The row at a nearest-rank percentile p: rn ≥ p·n/100 > rn − 1 (integers only, no CEIL on SQLite).
  const atRank = (rn: string, n: string) =>
    REPORT_PERCENTILES.map((p) => `(x.${rn} * 100 >= ${p} * x.${n} AND (x.${rn} - 1) * 100 < ${p} * x.${n})`);
  const rows: Array<Record<string, unknown>> = await db.manager.query(
    `SELECT x.job, x.day, x.metric, x.v, x.rn, x.n, x.rn_all, x.n_all FROM (
       ${ranked('runtime', '(r.finished_at - r.started_at)', "r.state = 'succeeded' AND r.started_at IS NOT NULL AND r.finished_at IS NOT NULL")}
       UNION ALL
       ${ranked('delay', '(r.started_at - r.logical_date)', 'r.started_at IS NOT NULL')}
     ) x WHERE ${[...atRank('rn', 'n'), ...atRank('rn_all', 'n_all')].join(' OR ')}`,
    [...w.params, ...w.params],
  );
  const out: ReportPercentiles = { byDay: [], overRange: [] };
  for (const r of rows) {
    const base = { job: String(r.job), metric: r.metric === 'delay' ? ('delay' as const) : ('runtime' as const) };
    for (const p of REPORT_PERCENTILES) {
      if (percentileRank(num(r.n), p) === num(r.rn)) out.byDay.push({ ...base, day: num(r.day), p, value: num(r.v) });
      if (percentileRank(num(r.n_all), p) === num(r.rn_all))
        out.overRange.push({ ...base, day: 0, p, value: num(r.v) });
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

/** Per job and task key: task runs of the range's runs, how many ended failed, and their attempts. */
export async function reportTaskFailures(db: Database, s: ReportScope): Promise<TaskFailureCount[]> {
  const w = runsWhere(s);
  const failed = FAILED_TASK_STATES.map((st) => `'${st}'`).join(', ');
  const rows: Array<Record<string, unknown>> = await db.manager.query(
    `SELECT r.job_name AS job, t.task_key AS task, COUNT(*) AS runs,
       SUM(CASE WHEN t.state IN (${failed}) THEN 1 ELSE 0 END) AS failed,
       SUM(t.attempts_used) AS attempts
     FROM runs r JOIN task_runs t ON t.run_id = r.id AND t.tenant_id = r.tenant_id
     WHERE ${w.sql} GROUP BY r.job_name, t.task_key`,
    w.params,
  );
  return rows.map((r) => ({
    job: String(r.job),
    task: String(r.task),
    runs: num(r.runs),
    failed: num(r.failed),
    attempts: num(r.attempts),
  }));
}

/** Tenants per statement of the tenant heatmap: a bounded `IN (…)` list whatever the number of tenants. */
export const TENANT_HEATMAP_BATCH = 500;

/**
 * Runs and failed runs per tenant, job and UTC day (of the logical date) over
 * the range, across all tenants: the platform admins' heatmap. The range is
 * bounded (REPORT_MAX_DAYS); the tenants are listed first (in id order) and
 * read TENANT_HEATMAP_BATCH at a time, so each statement is one range of the
 * covering index (tenant_id, logical_date, job_name, state, …) per tenant of
 * its batch, never the whole table, and no statement's list grows with the
 * platform (thousands of tenants are a few statements).
 */
export async function reportTenantHeatmapCounts(
  db: Database,
  range: ReportRange,
  job: string | null,
  batch = TENANT_HEATMAP_BATCH,
): Promise<TenantJobDayCount[]> {
  // across tenants: the platform admins' view of every tenant (the controller refuses everyone else)
  const tenants: Array<{ id: string; name: string }> = await db.manager.query(
    'SELECT id, name FROM tenants ORDER BY id',
  );
  const names = new Map(tenants.map((t) => [String(t.id), String(t.name)]));
  const ids = [...names.keys()];
  const day = dayOf(db, 'r.logical_date');
  const out: TenantJobDayCount[] = [];
  for (let i = 0; i < ids.length; i += batch) {
    const part = ids.slice(i, i + batch);
    // across tenants: as above, every tenant's runs in the range
    const rows: Array<Record<string, unknown>> = await db.manager.query(
      `SELECT r.tenant_id AS tenant_id, r.job_name AS job, ${day} AS day, COUNT(*) AS runs,
         SUM(CASE WHEN r.state = 'failed' THEN 1 ELSE 0 END) AS failures
       FROM runs r
       WHERE r.tenant_id IN (${part.map(() => '?').join(', ')}) AND r.logical_date >= ? AND r.logical_date < ?
         ${job === null ? '' : 'AND r.job_name = ?'}
       GROUP BY r.tenant_id, r.job_name, day`,
      [...part, range.from, range.to, ...(job === null ? [] : [job])],
    );
    for (const r of rows) {
      out.push({
        tenantId: String(r.tenant_id),
        tenant: names.get(String(r.tenant_id)) ?? String(r.tenant_id),
        job: String(r.job),
        day: num(r.day),
        runs: num(r.runs),
        failures: num(r.failures),
      });
    }
  }
  return out;
}
