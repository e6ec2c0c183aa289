import { Database } from '@baton/persistence';
import { type PastRunSeed, type Platform, seedRunHistory } from '@baton/testing';
import { type DbKind, freshTarget, launch, putJob, tail } from './platform.js';
import { type Summary, summarize } from './stats.js';

/** The size: attempts of history the reports read. */
export const REPORTS_ATTEMPTS = 1_000_000;
export const REPORTS_JOBS = 50;
export const REPORTS_DAYS = 90;
/** Timed calls of each report (after two untimed ones). */
const CALLS = 20;
/** Runs per seed transaction (about 16,000 attempts): seedRunHistory writes them in multi-row INSERTs. */
const SEED_CHUNK = 5_000;
const TASKS = ['extract', 'transform', 'load'] as const;
/** Three tasks, one in ten retried once. */
const ATTEMPTS_PER_RUN = TASKS.length * 1.1;
const DAY = 86_400_000;

export interface ReportsResult {
  db: DbKind;
  ok: boolean;
  error?: string;
  attempts: number;
  runs: number;
  jobs: number;
  days: number;
  seedSeconds: number;
  /** Latency of each report through the HTTP API (ms, over CALLS calls). */
  latency: Array<{ name: string; path: string; ms: Summary }>;
}

/** A small deterministic generator (the same history on every run of the bench). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A history of about `attempts` attempts: runs of REPORTS_JOBS jobs spread
 * over the last REPORTS_DAYS days, three tasks each, one task in ten retried
 * once; 90 % succeeded, 7 % failed, 3 % cancelled; the even-numbered jobs
 * declare an SLA (met, missed, and a few runs at risk now).
 */
export function* reportHistory(attempts: number, now: number): Generator<PastRunSeed[]> {
  const rnd = lcg(7);
  let left = attempts;
  let chunk: PastRunSeed[] = [];
  let i = 0;
  // Logical dates in order, evenly over the days with a random offset in each step: the rows (keyed by
  // time-ordered ids) and the report indexes then grow at their ends, as a history that happened does,
  // instead of each insert landing on a random page of a table larger than the database's cache.
  const step = (REPORTS_DAYS * DAY) / Math.ceil(attempts / ATTEMPTS_PER_RUN);
  while (left > 0) {
    const j = i % REPORTS_JOBS;
    const logicalDate = Math.min(now - 1_000, Math.floor(now - REPORTS_DAYS * DAY + (i + rnd()) * step));
    const x = rnd();
    const state = x < 0.9 ? 'succeeded' : x < 0.97 ? 'failed' : 'cancelled';
    const tasks = TASKS.map((key) => ({ key, attempts: rnd() < 0.1 ? 2 : 1 }));
    left -= tasks.reduce((a, t) => a + t.attempts, 0);
    const runtimeMs = 30_000 + Math.floor(rnd() * 600_000);
    const withSla = j % 2 === 0;
    chunk.push({
      job: `report-job-${j}`,
      logicalDate,
      state,
      delayMs: Math.floor(rnd() * 20_000),
      runtimeMs,
      tasks,
      ...(withSla ? { sla: { state: rnd() < 0.92 ? 'met' : 'missed', finishBy: logicalDate + 900_000 } } : {}),
    });
    if (chunk.length === SEED_CHUNK) {
      yield chunk;
      chunk = [];
    }
    i++;
  }
  // A few runs at risk now, the at-risk list's rows.
  for (let k = 0; k < 20; k++) {
    chunk.push({
      job: `report-job-${(k * 2) % REPORTS_JOBS}`,
      logicalDate: now - k * 60_000,
      state: 'running',
      delayMs: 0,
      runtimeMs: null,
      sla: { state: 'at_risk', finishBy: now + 600_000, predictedP90: now + 900_000, keyTask: 'load' },
    });
  }
  yield chunk;
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Seeds the history into a fresh platform's database, then times each report through the API. */
export async function runReports(kind: DbKind, attempts: number, log: (s: string) => void): Promise<ReportsResult> {
  const t = await freshTarget(kind);
  let platform: Platform | null = null;
  const result: ReportsResult = {
    db: kind,
    ok: false,
    attempts: 0,
    runs: 0,
    jobs: REPORTS_JOBS,
    days: REPORTS_DAYS,
    seedSeconds: 0,
    latency: [],
  };
  try {
    platform = await launch(t);
    for (let j = 0; j < REPORTS_JOBS; j++) {
      await putJob(platform, `report-job-${j}`, {
        name: `report-job-${j}`,
        ...(j % 2 === 0 ? { sla: { maxDuration: '15m' } } : {}),
        tasks: TASKS.map((key, n) => ({ key, type: 'noop', ...(n > 0 ? { dependsOn: [TASKS[n - 1]] } : {}) })),
      });
    }
    const tenantId = (await platform.api<{ tenant: { id: string } }>('GET', '/api/v1/whoami')).body.tenant.id;
    const now = Date.now();
    const db = await Database.open(t.target, { migrate: false, poolSize: 2 });
    const t0 = Date.now();
    let lastRun = '';
    try {
      for (const chunk of reportHistory(attempts, now)) {
        lastRun = (await seedRunHistory(db, tenantId, chunk)).at(-1) ?? lastRun;
        result.runs += chunk.length;
        result.attempts += chunk.reduce((a, r) => a + (r.tasks ?? []).reduce((b, x) => b + x.attempts, 0), 0);
        if (result.runs % 50_000 < SEED_CHUNK) log(`  seeded ${result.runs} runs, ${result.attempts} attempts`);
      }
      // Fresh statistics, as a database that grew into this size would have.
      if (kind === 'mariadb') await db.manager.query('ANALYZE TABLE runs, task_runs, attempts, run_slas');
      else await db.manager.query('ANALYZE');
    } finally {
      await db.close();
    }
    result.seedSeconds = (Date.now() - t0) / 1000;
    const today = isoDay(now + DAY);
    const ago = (days: number) => isoDay(now + DAY - days * DAY);
    const reports: Array<[string, string]> = [
      ['jobs report, 30 days, all jobs', `/api/v1/reports/jobs?from=${ago(30)}&to=${today}`],
      ['jobs report, 92 days, all jobs', `/api/v1/reports/jobs?from=${ago(92)}&to=${today}`],
      ['jobs report, 30 days, one job', `/api/v1/reports/jobs?from=${ago(30)}&to=${today}&job=report-job-0`],
      ['top failing tasks, 30 days', `/api/v1/reports/tasks?from=${ago(30)}&to=${today}`],
      ['heatmap, 30 days, all jobs', `/api/v1/reports/heatmap?from=${ago(30)}&to=${today}`],
      ['heatmap, 92 days, all jobs', `/api/v1/reports/heatmap?from=${ago(92)}&to=${today}`],
      ['heatmap by tenant, 30 days (platform admin)', `/api/v1/reports/heatmap?by=tenant&from=${ago(30)}&to=${today}`],
      ['heatmap by tenant, 92 days (platform admin)', `/api/v1/reports/heatmap?by=tenant&from=${ago(92)}&to=${today}`],
      ["a run's lateness", `/api/v1/runs/${lastRun}/lateness`],
      ['at-risk list', '/api/v1/sla?state=at_risk'],
      ["a job's SLA history (first page)", '/api/v1/jobs/report-job-0/sla'],
    ];
    for (const [name, path] of reports) {
      const times: number[] = [];
      for (let c = 0; c < CALLS + 2; c++) {
        const s = performance.now();
        const r = await platform.api('GET', path);
        const took = performance.now() - s;
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        if (c >= 2) times.push(took);
      }
      const ms = summarize(times);
      log(`  ${name}: p50 ${ms.p50.toFixed(1)} ms, max ${ms.max.toFixed(1)} ms`);
      result.latency.push({
        name,
        path: path.replace(/\d{4}-\d{2}-\d{2}/g, 'YYYY-MM-DD').replace(/runs\/[^/]+\//, 'runs/{id}/'),
        ms,
      });
    }
    result.ok = true;
  } catch (err) {
    result.error = `${err instanceof Error ? err.message : String(err)}\n${tail(platform)}`;
  } finally {
    await platform?.stop();
    await t.cleanup();
  }
  return result;
}
