import { parseInstant, parseIsoDate } from './time.js';

/**
 * The reports the portal draws (per job and day; failures by hour of day).
 * Pure: the database aggregates the range (counts, sums, the rows at the
 * percentile ranks), and these functions validate the range, turn the
 * aggregates into rates and fill the grids. Days and hours are UTC, of the
 * run's logical date.
 */

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
/** The longest range a report covers. */
export const REPORT_MAX_DAYS = 92;
/** The range when none is given: the last 30 days, up to the end of today. */
export const REPORT_DEFAULT_DAYS = 30;
/** The percentiles the reports give. */
export const REPORT_PERCENTILES = [50, 95] as const;

/** A half-open range [from, to) of epoch ms. */
export interface ReportRange {
  from: number;
  to: number;
}

export interface RangeProblem {
  field: 'from' | 'to';
  message: string;
}

/** An ISO date (`2026-11-01`, midnight UTC) or an instant with a zone; null when it is neither. */
export function parseReportBound(text: string): number | null {
  return parseIsoDate(text) ?? parseInstant(text);
}

/**
 * The range of a report from its query (`from`, `to`, either may be left
 * out): to defaults to the end of `now`'s UTC day, from to REPORT_DEFAULT_DAYS
 * before `to`. Problems name the field.
 */
export function reportRange(
  q: { from?: string | undefined; to?: string | undefined },
  now: number,
): { range: ReportRange } | { problems: RangeProblem[] } {
  const problems: RangeProblem[] = [];
  const bound = (field: 'from' | 'to', text: string | undefined) => {
    if (text === undefined || text === '') return undefined;
    const v = parseReportBound(text);
    if (v === null) problems.push({ field, message: 'must be an ISO date (2026-11-01) or an instant with a zone' });
    return v ?? undefined;
  };
  const fromQ = bound('from', q.from);
  const toQ = bound('to', q.to);
  if (problems.length > 0) return { problems };
  const to = toQ ?? (fromQ !== undefined ? fromQ + REPORT_DEFAULT_DAYS * DAY_MS : dayStart(now) + DAY_MS);
  const from = fromQ ?? to - REPORT_DEFAULT_DAYS * DAY_MS;
  if (to <= from) return { problems: [{ field: 'to', message: 'must be after from' }] };
  if (to - from > REPORT_MAX_DAYS * DAY_MS) {
    return { problems: [{ field: 'to', message: `must be at most ${REPORT_MAX_DAYS} days after from` }] };
  }
  return { range: { from, to } };
}

/** Midnight UTC of the day `t` falls in. */
export function dayStart(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

/** `2026-11-03` for a day number (days since the epoch, UTC). */
export function dayLabel(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The 1-based rank of the nearest-rank percentile `p` (0..100) among `n`
 * ascending values: the smallest rank r with r ≥ p·n/100, at least 1. The
 * database picks the row at this rank; `percentile` picks the same value in
 * code.
 */
export function percentileRank(n: number, p: number): number {
  if (n <= 0) return 0;
  return Math.min(n, Math.max(1, Math.ceil((p * n) / 100)));
}

/** `part / whole`, rounded to 4 decimals; null when there is nothing to divide (no runs is no rate). */
export function rate(part: number, whole: number): number | null {
  if (whole <= 0) return null;
  return Math.round((part / whole) * 10_000) / 10_000;
}

/** What the database counts per job and day. */
export interface JobDayCounts {
  job: string;
  day: number;
  runs: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** Task retries per job and day: attempts after each task's first. */
export interface JobDayRetries {
  job: string;
  day: number;
  retries: number;
}

/** Decided SLAs per job and day. */
export interface JobDaySla {
  job: string;
  day: number;
  met: number;
  missed: number;
}

/** A value at a percentile rank of one metric of a job and day (the database's pick). */
export interface JobDayPercentile {
  job: string;
  day: number;
  metric: 'runtime' | 'delay';
  p: number;
  value: number;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

/** One row of `GET /api/v1/reports/jobs`. */
export interface JobDayReport {
  job: string;
  /** The UTC day of the runs' logical dates, `YYYY-MM-DD`. */
  day: string;
  runs: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Succeeded / (succeeded + failed); cancelled runs are left out; null when none finished. */
  successRate: number | null;
  /** Start to end of succeeded runs, ms. */
  runtimeMs: Percentiles;
  /** Start minus logical date (the due time) of runs that started, ms. */
  delayMs: Percentiles;
  /** Attempts after the first, over the runs' tasks. */
  retries: number;
  slaMet: number;
  slaMissed: number;
  /** Met / (met + missed) of the decided SLAs; null when none was decided. */
  slaMetRate: number | null;
}

const key = (job: string, day: number) => `${job}\u0000${day}`;

/** Joins the aggregates into one row per job and day, by job then day. */
export function jobDayReports(
  counts: readonly JobDayCounts[],
  retries: readonly JobDayRetries[],
  slas: readonly JobDaySla[],
  percentiles: readonly JobDayPercentile[],
): JobDayReport[] {
  const retriesBy = new Map(retries.map((r) => [key(r.job, r.day), r.retries]));
  const slaBy = new Map(slas.map((s) => [key(s.job, s.day), s]));
  const pBy = new Map<string, number>();
  for (const p of percentiles) pBy.set(`${key(p.job, p.day)}\u0000${p.metric}\u0000${p.p}`, p.value);
  const pick = (c: JobDayCounts, metric: JobDayPercentile['metric']): Percentiles => ({
    p50: pBy.get(`${key(c.job, c.day)}\u0000${metric}\u000050`) ?? null,
    p95: pBy.get(`${key(c.job, c.day)}\u0000${metric}\u000095`) ?? null,
  });
  return [...counts]
    .sort((a, b) => (a.job === b.job ? a.day - b.day : a.job < b.job ? -1 : 1))
    .map((c) => {
      const sla = slaBy.get(key(c.job, c.day));
      const met = sla?.met ?? 0;
      const missed = sla?.missed ?? 0;
      return {
        job: c.job,
        day: dayLabel(c.day),
        runs: c.runs,
        succeeded: c.succeeded,
        failed: c.failed,
        cancelled: c.cancelled,
        successRate: rate(c.succeeded, c.succeeded + c.failed),
        runtimeMs: pick(c, 'runtime'),
        delayMs: pick(c, 'delay'),
        retries: retriesBy.get(key(c.job, c.day)) ?? 0,
        slaMet: met,
        slaMissed: missed,
        slaMetRate: rate(met, met + missed),
      };
    });
}

/** One job over the whole range: a day's figures without the day. */
export type JobRangeReport = Omit<JobDayReport, 'day'>;

function sumByJob<T extends { job: string; day: number }>(rows: readonly T[], add: (a: T, b: T) => T): T[] {
  const byJob = new Map<string, T>();
  for (const r of rows) {
    const prev = byJob.get(r.job);
    byJob.set(r.job, prev ? add(prev, r) : { ...r, day: 0 });
  }
  return [...byJob.values()];
}

/**
 * Per job over the range: the days' counts summed, with the percentiles the
 * database computed over the range (`day` 0).
 */
export function jobRangeReports(
  counts: readonly JobDayCounts[],
  retries: readonly JobDayRetries[],
  slas: readonly JobDaySla[],
  rangePercentiles: readonly JobDayPercentile[],
): JobRangeReport[] {
  const rows = jobDayReports(
    sumByJob(counts, (a, b) => ({
      ...a,
      runs: a.runs + b.runs,
      succeeded: a.succeeded + b.succeeded,
      failed: a.failed + b.failed,
      cancelled: a.cancelled + b.cancelled,
    })),
    sumByJob(retries, (a, b) => ({ ...a, retries: a.retries + b.retries })),
    sumByJob(slas, (a, b) => ({ ...a, met: a.met + b.met, missed: a.missed + b.missed })),
    rangePercentiles.map((p) => ({ ...p, day: 0 })),
  );
  return rows.map(({ day: _day, ...r }) => r);
}

/** Runs and failures of a job in an hour of day (UTC), over the range. */
export interface HeatmapCount {
  job: string;
  hour: number;
  runs: number;
  failures: number;
}

/** `GET /api/v1/reports/heatmap`: per job (by name) its 24 hours, each with runs and failures (0 when none). */
export interface Heatmap {
  hours: number[];
  jobs: Array<{ job: string; runs: number[]; failures: number[]; totalFailures: number }>;
  maxFailures: number;
}

export function heatmap(counts: readonly HeatmapCount[]): Heatmap {
  const byJob = new Map<string, { runs: number[]; failures: number[] }>();
  for (const c of counts) {
    if (c.hour < 0 || c.hour > 23) continue;
    let row = byJob.get(c.job);
    if (!row) byJob.set(c.job, (row = { runs: Array<number>(24).fill(0), failures: Array<number>(24).fill(0) }));
    row.runs[c.hour]! += c.runs;
    row.failures[c.hour]! += c.failures;
  }
  const jobs = [...byJob.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([job, r]) => ({ job, ...r, totalFailures: r.failures.reduce((a, b) => a + b, 0) }));
  return {
    hours: Array.from({ length: 24 }, (_, h) => h),
    jobs,
    maxFailures: Math.max(0, ...jobs.flatMap((j) => j.failures)),
  };
}

/** A task's failures over the range, as the database counts them (tasks by job and key). */
export interface TaskFailureCount {
  job: string;
  task: string;
  /** Task runs of the range's runs. */
  runs: number;
  /** Of them, ended failed (after their last attempt): failed, timed out or lost. */
  failed: number;
  attempts: number;
}

/** One row of `GET /api/v1/reports/tasks`. */
export interface TopFailingTask extends TaskFailureCount {
  retries: number;
  /** failed / runs. */
  failureRate: number | null;
}

/** The task states that are a task's failure (after its last attempt). */
export const FAILED_TASK_STATES = ['failed', 'timed_out', 'lost'] as const;

/** The tasks that failed most: by failures, then by failure rate, then by job and key; tasks that never failed are left out. */
export function topFailingTasks(counts: readonly TaskFailureCount[], limit: number): TopFailingTask[] {
  return counts
    .filter((c) => c.failed > 0)
    .map((c) => ({ ...c, retries: Math.max(0, c.attempts - c.runs), failureRate: rate(c.failed, c.runs) }))
    .sort(
      (a, b) =>
        b.failed - a.failed ||
        (b.failureRate ?? 0) - (a.failureRate ?? 0) ||
        (a.job === b.job ? (a.task < b.task ? -1 : 1) : a.job < b.job ? -1 : 1),
    )
    .slice(0, limit);
}

/** Runs and failed runs of a tenant's job on a UTC day (days since the epoch), as the database counts them. */
export interface TenantJobDayCount {
  tenantId: string;
  tenant: string;
  job: string;
  day: number;
  runs: number;
  failures: number;
}

/** `GET /api/v1/reports/heatmap?by=tenant` (platform admins): per tenant and job its days over the range. */
export interface TenantHeatmap {
  /** The UTC days of the range, `YYYY-MM-DD`; each row's arrays follow them. */
  days: string[];
  rows: Array<{
    tenantId: string;
    tenant: string;
    job: string;
    runs: number[];
    failures: number[];
    totalFailures: number;
  }>;
  maxFailures: number;
}

/** The tenant × job × day grid: rows by tenant name then job, each day of the range filled (0 when none). */
export function tenantHeatmap(counts: readonly TenantJobDayCount[], range: ReportRange): TenantHeatmap {
  const first = Math.floor(range.from / DAY_MS);
  const n = Math.max(0, Math.ceil(range.to / DAY_MS) - first);
  const rows = new Map<string, TenantHeatmap['rows'][number]>();
  for (const c of counts) {
    const i = c.day - first;
    if (i < 0 || i >= n) continue;
    const k = `${c.tenantId}\u0000${c.job}`;
    let row = rows.get(k);
    if (!row) {
      row = {
        tenantId: c.tenantId,
        tenant: c.tenant,
        job: c.job,
        runs: Array<number>(n).fill(0),
        failures: Array<number>(n).fill(0),
        totalFailures: 0,
      };
      rows.set(k, row);
    }
    row.runs[i]! += c.runs;
    row.failures[i]! += c.failures;
    row.totalFailures += c.failures;
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...rows.values()].sort(
    (a, b) => cmp(a.tenant, b.tenant) || cmp(a.tenantId, b.tenantId) || cmp(a.job, b.job),
  );
  return {
    days: Array.from({ length: n }, (_, i) => dayLabel(first + i)),
    rows: sorted,
    maxFailures: Math.max(0, ...sorted.flatMap((r) => r.failures)),
  };
}
