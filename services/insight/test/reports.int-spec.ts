import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heatmap as FailureHeatmap, JobDayReport, JobRangeReport } from '@baton/domain';
import {
  type PastRunSeed,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  openPlatformDatabase,
  seedRunHistory,
  startPlatform,
  testDatabaseKinds,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

const at = (iso: string) => Date.parse(iso);
const S = 1_000;
const MIN = 60 * S;

type DayRow = JobDayReport;
type Heatmap = FailureHeatmap;
interface SlaItem {
  runId: string;
  job: string;
  state: string;
  finishBy: string | null;
  reason: string | null;
  predicted: { finishP90: string; keyTask: string | null } | null;
  run: { state: string | null; startedAt: string | null; finishedAt: string | null };
}
interface Problem {
  errors: Array<{ path: string; message: string }>;
}

/*
 * A month of history (November 2026), written into the database as the
 * scheduler and the SLA tracker leave it, and the figures computed by hand:
 * - nightly: one run a day at 02:00 UTC, 1 min long, started 5 s late; the
 *   10th and the 20th failed; each run's SLA met, but the 20th's missed.
 * - hourly: on the 3rd only, one run an hour from 00:00 to 19:00; the run of
 *   hour i started i·100 ms late and took (i+1) s; hours 5, 12 and 18 failed,
 *   hour 7 was cancelled; hour 2's task took 2 attempts, hour 5's 3; the SLAs
 *   of hours 0–9 were met, of 10 and 11 missed.
 * - one nightly run on 31 October, outside the month.
 * - two running nightly runs at risk, one pending (the SLA list).
 * Another tenant has a job `hidden` with history and a run at risk.
 */
function history(): PastRunSeed[] {
  const runs: PastRunSeed[] = [];
  for (let d = 1; d <= 30; d++) {
    const failed = d === 10 || d === 20;
    const logicalDate = at(`2026-11-${String(d).padStart(2, '0')}T02:00:00Z`);
    runs.push({
      job: 'nightly',
      logicalDate,
      state: failed ? 'failed' : 'succeeded',
      delayMs: 5 * S,
      runtimeMs: MIN,
      sla: { state: d === 20 ? 'missed' : 'met', finishBy: logicalDate + 2 * 60 * MIN },
    });
  }
  for (let i = 0; i < 20; i++) {
    const state = [5, 12, 18].includes(i) ? 'failed' : i === 7 ? 'cancelled' : 'succeeded';
    const logicalDate = at(`2026-11-03T${String(i).padStart(2, '0')}:00:00Z`);
    runs.push({
      job: 'hourly',
      logicalDate,
      state,
      delayMs: i * 100,
      runtimeMs: (i + 1) * S,
      tasks: [{ key: 'work', attempts: i === 2 ? 2 : i === 5 ? 3 : 1 }],
      ...(i < 12 ? { sla: { state: i < 10 ? 'met' : 'missed', finishBy: logicalDate + MIN } } : {}),
    });
  }
  runs.push({ job: 'nightly', logicalDate: at('2026-10-31T02:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: MIN });
  const open = (day: string, state: 'at_risk' | 'pending'): PastRunSeed => ({
    job: 'nightly',
    logicalDate: at(`${day}T02:00:00Z`),
    state: 'running',
    delayMs: 0,
    runtimeMs: null,
    sla: {
      state,
      finishBy: at(`${day}T04:00:00Z`),
      predictedP90: at(`${day}T04:30:00Z`),
      keyTask: 'load',
      reason: state === 'at_risk' ? 'the predicted finish (p90) is past the warning time' : null,
    },
  });
  runs.push(open('2026-12-01', 'at_risk'), open('2026-12-02', 'at_risk'), open('2026-12-03', 'pending'));
  return runs;
}

describe.each(kinds)('SLA history and reports (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let other: Record<string, string>;
  const get = <T>(path: string, headers?: Record<string, string>) => platform.api<T>('GET', path, undefined, headers);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
    const put = async (name: string, def: Record<string, unknown>, headers?: Record<string, string>) => {
      const r = await platform.api('PUT', `/api/v1/jobs/${name}`, { name, ...def }, headers);
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    };
    await put('nightly', { sla: { finishBy: '04:00', warnBefore: '30m' }, tasks: [{ key: 'load', type: 'noop' }] });
    await put('hourly', { tasks: [{ key: 'work', type: 'noop' }] });
    const tenantId = (await get<{ tenant: { id: string } }>('/api/v1/whoami')).body.tenant.id;
    const created = await platform.api<{ adminToken: string }>('POST', '/api/v1/tenants', { name: 'other-co' });
    other = { authorization: `Bearer ${created.body.adminToken}` };
    await put('hidden', { tasks: [{ key: 'x', type: 'noop' }] }, other);
    const otherId = (await get<{ tenant: { id: string } }>('/api/v1/whoami', other)).body.tenant.id;
    const data = await openPlatformDatabase({ databaseUrl: db.url, dataDir: platform.dataDir });
    try {
      await seedRunHistory(data, tenantId, history());
      await seedRunHistory(data, otherId, [
        { job: 'hidden', logicalDate: at('2026-11-03T05:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: S },
        {
          job: 'hidden',
          logicalDate: at('2026-11-04T05:00:00Z'),
          state: 'running',
          delayMs: 0,
          runtimeMs: null,
          sla: {
            state: 'at_risk',
            finishBy: at('2026-11-04T06:00:00Z'),
            keyTask: 'x',
            predictedP90: at('2026-11-04T07:00:00Z'),
          },
        },
      ]);
    } finally {
      await data.close();
    }
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  const NOVEMBER = 'from=2026-11-01&to=2026-12-01';

  it('reports each job and day: runs, success rate, runtime and delay p50/p95, retries, SLA met %', async () => {
    const r = await get<{ from: string; to: string; jobs: JobRangeReport[]; items: DayRow[] }>(
      `/api/v1/reports/jobs?${NOVEMBER}`,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Each job over the whole month.
    expect(r.body.jobs.map((j) => j.job)).toEqual(['hourly', 'nightly']);
    expect(r.body.jobs[1]).toEqual({
      job: 'nightly',
      runs: 30,
      succeeded: 28,
      failed: 2,
      cancelled: 0,
      successRate: 0.9333,
      runtimeMs: { p50: MIN, p95: MIN },
      delayMs: { p50: 5 * S, p95: 5 * S },
      retries: 0,
      slaMet: 29,
      slaMissed: 1,
      slaMetRate: 0.9667,
    });
    const { day: _day, ...hourlyDay } = r.body.items.find((i) => i.job === 'hourly')!;
    expect(r.body.jobs[0]).toEqual(hourlyDay);
    expect(r.body.from).toBe('2026-11-01T00:00:00.000Z');
    expect(r.body.to).toBe('2026-12-01T00:00:00.000Z');
    const hourly = r.body.items.filter((i) => i.job === 'hourly');
    expect(hourly).toEqual([
      {
        job: 'hourly',
        day: '2026-11-03',
        runs: 20,
        succeeded: 16,
        failed: 3,
        cancelled: 1,
        successRate: 0.8421, // 16 of the 19 that succeeded or failed
        // The 16 succeeded runtimes 1,2,3,4,5,7,9,10,11,12,14,15,16,17,18,20 s: rank 8 and rank 16.
        runtimeMs: { p50: 10 * S, p95: 20 * S },
        // The 20 delays 0..1900 ms: rank 10 and rank 19.
        delayMs: { p50: 900, p95: 1_800 },
        retries: 3,
        slaMet: 10,
        slaMissed: 2,
        slaMetRate: 0.8333,
      },
    ]);
    const nightly = r.body.items.filter((i) => i.job === 'nightly');
    expect(nightly.map((i) => i.day)).toEqual(
      Array.from({ length: 30 }, (_, d) => `2026-11-${String(d + 1).padStart(2, '0')}`),
    );
    expect(nightly[0]).toMatchObject({
      runs: 1,
      successRate: 1,
      runtimeMs: { p50: MIN, p95: MIN },
      delayMs: { p50: 5 * S, p95: 5 * S },
      retries: 0,
      slaMetRate: 1,
    });
    // A failed run has no runtime (only successes count), but its delay does.
    expect(nightly[9]).toMatchObject({
      failed: 1,
      successRate: 0,
      runtimeMs: { p50: null, p95: null },
      delayMs: { p50: 5 * S },
    });
    expect(nightly[19]).toMatchObject({ slaMet: 0, slaMissed: 1, slaMetRate: 0 });
    expect(r.body.items.map((i) => i.job)).not.toContain('hidden');
  });

  it('filters by job and range (to is exclusive)', async () => {
    const r = await get<{ items: DayRow[] }>('/api/v1/reports/jobs?job=nightly&from=2026-11-10&to=2026-11-12');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.items.map((i) => [i.job, i.day, i.failed])).toEqual([
      ['nightly', '2026-11-10', 1],
      ['nightly', '2026-11-11', 0],
    ]);
    const october = await get<{ items: DayRow[] }>('/api/v1/reports/jobs?from=2026-10-31&to=2026-11-01');
    expect(october.body.items.map((i) => [i.job, i.day, i.failed])).toEqual([['nightly', '2026-10-31', 1]]);
    // A range in another zone: the 3rd from 08:00 in Shanghai (00:00 UTC) to 12:00 (04:00 UTC).
    const zoned = await get<{ items: DayRow[] }>(
      `/api/v1/reports/jobs?job=hourly&from=${encodeURIComponent('2026-11-03T08:00:00+08:00')}&to=${encodeURIComponent('2026-11-03T12:00:00+08:00')}`,
    );
    expect(zoned.body.items).toMatchObject([{ day: '2026-11-03', runs: 4, retries: 1 }]);
  });

  it('draws failures per job and hour of day over the range', async () => {
    const r = await get<Heatmap>(`/api/v1/reports/heatmap?${NOVEMBER}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.hours).toEqual(Array.from({ length: 24 }, (_, h) => h));
    expect(r.body.jobs.map((j) => j.job)).toEqual(['hourly', 'nightly']);
    const [hourly, nightly] = r.body.jobs;
    expect(hourly!.failures.flatMap((f, h) => (f > 0 ? [[h, f]] : []))).toEqual([
      [5, 1],
      [12, 1],
      [18, 1],
    ]);
    expect(hourly!.runs.slice(18)).toEqual([1, 1, 0, 0, 0, 0]);
    expect(nightly!.runs[2]).toBe(30);
    expect(nightly!.failures[2]).toBe(2);
    expect(nightly!.totalFailures).toBe(2);
    expect(r.body.maxFailures).toBe(2);
    const one = await get<Heatmap>(`/api/v1/reports/heatmap?${NOVEMBER}&job=hourly`);
    expect(one.body.jobs.map((j) => j.job)).toEqual(['hourly']);
  });

  it('lists the tasks that failed most, with failure rate and retries', async () => {
    const r = await get<{ items: Array<Record<string, unknown>> }>(`/api/v1/reports/tasks?${NOVEMBER}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.items).toEqual([
      { job: 'hourly', task: 'work', runs: 20, failed: 3, attempts: 23, retries: 3, failureRate: 0.15 },
      { job: 'nightly', task: 'main', runs: 30, failed: 2, attempts: 30, retries: 0, failureRate: 0.0667 },
    ]);
    expect((await get<{ items: unknown[] }>(`/api/v1/reports/tasks?${NOVEMBER}&limit=1`)).body.items).toHaveLength(1);
    const one = await get<{ items: Array<{ job: string }> }>(`/api/v1/reports/tasks?${NOVEMBER}&job=nightly`);
    expect(one.body.items.map((i) => i.job)).toEqual(['nightly']);
    expect((await get(`/api/v1/reports/tasks?${NOVEMBER}&job=hidden`)).status).toBe(404);
    expect((await get<Problem>('/api/v1/reports/tasks?from=2026-11-02&to=2026-11-01')).body.errors[0]?.path).toBe('to');
    expect((await get<Problem>(`/api/v1/reports/tasks?${NOVEMBER}&limit=0`)).body.errors[0]?.path).toBe('limit');
  });

  it('answers 400 naming the field for a bad range, and 404 for a job it does not have', async () => {
    const field = async (query: string) => {
      const r = await get<Problem>(`/api/v1/reports/jobs?${query}`);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      return r.body.errors.map((e) => e.path);
    };
    expect(await field('from=last-week&to=2026-11-02')).toEqual(['from']);
    expect(await field('from=2026-11-02&to=2026-11-01')).toEqual(['to']);
    expect(await field('from=2026-11-01&to=2026-11-01')).toEqual(['to']);
    expect(await field('from=2026-08-01&to=2026-11-02')).toEqual(['to']); // 93 days
    expect(await field('from=2026-11-01&to=2026-11-31')).toEqual(['to']);
    expect((await get<Problem>('/api/v1/reports/heatmap?to=soon')).body.errors.map((e) => e.path)).toEqual(['to']);
    // Another tenant's job is not there for this one; its owner sees it.
    expect((await get(`/api/v1/reports/jobs?${NOVEMBER}&job=hidden`)).status).toBe(404);
    expect((await get(`/api/v1/reports/heatmap?${NOVEMBER}&job=hidden`)).status).toBe(404);
    const own = await get<Heatmap>(`/api/v1/reports/heatmap?${NOVEMBER}`, other);
    expect(own.body.jobs.map((j) => [j.job, j.totalFailures])).toEqual([['hidden', 1]]);
  });

  it("gives a job's declared SLA and its runs' SLA history, newest first, a page at a time", async () => {
    const r = await get<{
      job: string;
      sla: Record<string, unknown> | null;
      items: SlaItem[];
      nextCursor: string | null;
    }>('/api/v1/jobs/nightly/sla?limit=4');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.sla).toEqual({ finishBy: '04:00', warnBefore: '30m' });
    expect(r.body.items.map((i) => [i.state, i.run.state])).toEqual([
      ['pending', 'running'],
      ['at_risk', 'running'],
      ['at_risk', 'running'],
      ['met', 'succeeded'],
    ]);
    const met = r.body.items[3]!;
    expect(met).toMatchObject({
      job: 'nightly',
      finishBy: '2026-11-30T04:00:00.000Z',
      run: { startedAt: '2026-11-30T02:00:05.000Z', finishedAt: '2026-11-30T02:01:05.000Z' },
    });
    expect(r.body.items[1]).toMatchObject({
      predicted: { finishP90: '2026-12-02T04:30:00.000Z', keyTask: 'load' },
      reason: 'the predicted finish (p90) is past the warning time',
    });
    // Paging on: 30 decided November runs and 3 open ones, in pages of 4.
    const seen = [...r.body.items.map((i) => i.runId)];
    let cursor = r.body.nextCursor;
    while (cursor) {
      const next = await get<{ items: SlaItem[]; nextCursor: string | null }>(
        `/api/v1/jobs/nightly/sla?limit=4&cursor=${cursor}`,
      );
      seen.push(...next.body.items.map((i) => i.runId));
      cursor = next.body.nextCursor;
    }
    expect(seen).toHaveLength(33);
    expect(new Set(seen).size).toBe(33);
    const missed = await get<{ items: SlaItem[] }>('/api/v1/jobs/nightly/sla?state=missed');
    expect(missed.body.items.map((i) => i.finishBy)).toEqual(['2026-11-20T04:00:00.000Z']);
    // A job without an SLA has none and an empty history; another tenant's job is a 404.
    expect((await get<{ sla: unknown; items: unknown[] }>('/api/v1/jobs/hourly/sla')).body).toMatchObject({
      sla: null,
    });
    expect((await get('/api/v1/jobs/hidden/sla')).status).toBe(404);
    expect((await get('/api/v1/jobs/nightly/sla?state=late')).body).toMatchObject({
      errors: [{ path: 'state' }],
    });
  });

  it('lists the runs at risk across the tenant’s jobs with predicted finish and key task, not another tenant’s', async () => {
    const r = await get<{ items: SlaItem[] }>('/api/v1/sla?state=at_risk');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.items.map((i) => [i.job, i.state, i.finishBy, i.predicted?.finishP90, i.predicted?.keyTask])).toEqual(
      [
        ['nightly', 'at_risk', '2026-12-02T04:00:00.000Z', '2026-12-02T04:30:00.000Z', 'load'],
        ['nightly', 'at_risk', '2026-12-01T04:00:00.000Z', '2026-12-01T04:30:00.000Z', 'load'],
      ],
    );
    expect((await get<{ items: SlaItem[] }>('/api/v1/sla?state=missed')).body.items.map((i) => i.job)).toEqual([
      'nightly',
      'hourly',
      'hourly',
    ]);
    expect((await get<{ items: SlaItem[] }>('/api/v1/sla?state=at_risk', other)).body.items.map((i) => i.job)).toEqual([
      'hidden',
    ]);
    expect((await get<Problem>('/api/v1/sla?state=late')).status).toBe(400);
  });
});
