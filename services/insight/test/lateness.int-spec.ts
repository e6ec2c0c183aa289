import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunLateness, TenantHeatmap } from '@baton/domain';
import {
  AttemptEntity,
  type Database,
  JobEntity,
  JobVersionEntity,
  RunEntity,
  type ScopedRow,
  TENANT_HEATMAP_BATCH,
  TaskRunEntity,
  TenantEntity,
  newId,
  scoped,
} from '@baton/persistence';
import {
  type Platform,
  type TestDatabase,
  bulkInsert,
  createTestDatabase,
  openPlatformDatabase,
  seedRunHistory,
  startPlatform,
  testDatabaseKinds,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

const at = (iso: string) => Date.parse(iso);
const S = 1_000;

interface Problem {
  errors?: Array<{ path: string; message: string }>;
  code?: string;
}

/** One task of a seeded run: ready at `ready`, assigned, started and finished at the given instants, after `attempts`. */
interface SeedTask {
  key: string;
  ready: number;
  assigned: number;
  started: number;
  finished: number;
  attempts?: number;
}

/**
 * A finished run of `job` written as the scheduler leaves it (run, task runs,
 * attempts: earlier attempts failed, the last succeeded), of the job's
 * current version so its DAG is known.
 */
async function seedDagRun(
  db: Database,
  tenantId: string,
  job: string,
  run: { triggerType: string; logicalDate: number; createdAt: number; startedAt: number; finishedAt: number },
  tasks: SeedTask[],
): Promise<string> {
  const data = scoped(db.manager, { tenantId });
  const j = await data.findOneOrFail(JobEntity, { where: { name: job } });
  const v = await data.findOneOrFail(JobVersionEntity, { where: { jobId: j.id, version: j.currentVersion } });
  const id = newId(run.logicalDate);
  const runRow: ScopedRow<RunEntity> = {
    id,
    tenantId,
    jobId: j.id,
    jobName: job,
    jobVersion: v.version,
    jobVersionId: v.id,
    state: 'succeeded',
    logicalDate: run.logicalDate,
    params: {},
    dedupeKey: `seed:${id}`,
    triggerType: run.triggerType,
    triggerId: null,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    backfillId: null,
    parentRunId: null,
    traceparent: null,
  };
  const taskRows: Array<ScopedRow<TaskRunEntity>> = [];
  const attemptRows: Array<ScopedRow<AttemptEntity>> = [];
  for (const t of tasks) {
    const taskRunId = newId(run.logicalDate);
    const attempts = t.attempts ?? 1;
    taskRows.push({
      id: taskRunId,
      tenantId,
      runId: id,
      taskKey: t.key,
      state: 'succeeded',
      priority: 0,
      readyAt: t.ready,
      attemptsUsed: attempts,
      currentAttemptId: null,
      exitCode: 0,
      output: null,
      error: null,
      startedAt: t.started,
      finishedAt: t.finished,
      updatedAt: t.finished,
      pool: null,
      poolSlots: 1,
    });
    for (let n = 1; n <= attempts; n++) {
      const last = n === attempts;
      // Earlier attempts ran well before the last one became ready again.
      const shift = last ? 0 : (attempts - n) * 60 * S;
      attemptRows.push({
        id: newId(run.logicalDate),
        tenantId,
        runId: id,
        taskRunId,
        taskKey: t.key,
        number: n,
        state: last ? 'succeeded' : 'failed',
        agentId: 'seed-agent',
        sessionId: 'seed-session',
        expiresAt: null,
        assignedAt: t.assigned - shift,
        startedAt: t.started - shift,
        finishedAt: last ? t.finished : t.started - shift + S,
        exitCode: last ? 0 : 1,
        error: null,
        logBytes: 0,
        logSeq: -1,
        deadlineAt: null,
        kind: 'main',
        lateResult: null,
      });
    }
  }
  await data.insert(RunEntity, [runRow]);
  await data.insert(TaskRunEntity, taskRows);
  await data.insert(AttemptEntity, attemptRows);
  return id;
}

type Lateness = RunLateness & { runId: string; job: string; triggerType: string; logicalDate: string };

/*
 * A DAG run of `etl` (extract → transform_a, transform_b → load), due at
 * 02:00 and created 3 s late by its cron trigger:
 *   extract      ready 02:00:04, assigned +1 s, started +0.5 s, ran 10 s  → ends 02:00:15.5
 *   transform_a  ready 02:00:16, assigned +2 s, started +1 s,   ran 30 s  → ends 02:00:49
 *   transform_b  ready 02:00:16, assigned +0,   started +0.2 s, ran 5 s   → ends 02:00:21.2
 *   load         ready 02:00:50 (3rd attempt), assigned +4 s, started +1 s, ran 6 s → ends 02:01:01
 * The run finished at 02:01:02. Its critical path is extract, transform_a, load.
 */
describe.each(kinds)('run lateness and the tenant heatmap (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let other: Record<string, string>;
  let dagRun: string;
  let manualRun: string;
  let otherRun: string;
  let tenantName: string;
  const get = <T>(path: string, headers?: Record<string, string>) => platform.api<T>('GET', path, undefined, headers);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
    const put = async (name: string, def: Record<string, unknown>, headers?: Record<string, string>) => {
      const r = await platform.api('PUT', `/api/v1/jobs/${name}`, { name, ...def }, headers);
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    };
    await put('etl', {
      tasks: [
        { key: 'extract', type: 'noop' },
        { key: 'transform_a', type: 'noop', dependsOn: ['extract'] },
        { key: 'transform_b', type: 'noop', dependsOn: ['extract'] },
        { key: 'load', type: 'noop', dependsOn: ['transform_a', 'transform_b'] },
      ],
    });
    await put('hourly', { tasks: [{ key: 'main', type: 'noop' }] });
    const me = (await get<{ tenant: { id: string; name: string } }>('/api/v1/whoami')).body.tenant;
    tenantName = me.name;
    const created = await platform.api<{ adminToken: string }>('POST', '/api/v1/tenants', { name: 'other-co' });
    other = { authorization: `Bearer ${created.body.adminToken}` };
    await put('hidden', { tasks: [{ key: 'x', type: 'noop' }] }, other);
    const otherId = (await get<{ tenant: { id: string } }>('/api/v1/whoami', other)).body.tenant.id;
    const data = await openPlatformDatabase({ databaseUrl: db.url, dataDir: platform.dataDir });
    try {
      const d = at('2026-11-03T02:00:00Z');
      dagRun = await seedDagRun(
        data,
        me.id,
        'etl',
        { triggerType: 'cron', logicalDate: d, createdAt: d + 3 * S, startedAt: d + 4 * S, finishedAt: d + 62 * S },
        [
          { key: 'extract', ready: d + 4 * S, assigned: d + 5 * S, started: d + 5_500, finished: d + 15_500 },
          { key: 'transform_a', ready: d + 16 * S, assigned: d + 18 * S, started: d + 19 * S, finished: d + 49 * S },
          { key: 'transform_b', ready: d + 16 * S, assigned: d + 16 * S, started: d + 16_200, finished: d + 21_200 },
          {
            key: 'load',
            ready: d + 50 * S,
            assigned: d + 54 * S,
            started: d + 55 * S,
            finished: d + 61 * S,
            attempts: 3,
          },
        ],
      );
      [manualRun] = await seedRunHistory(data, me.id, [
        {
          job: 'hourly',
          logicalDate: at('2026-11-02T05:00:00Z'),
          state: 'succeeded',
          delayMs: 2 * S,
          runtimeMs: 7 * S,
        },
        { job: 'hourly', logicalDate: at('2026-11-02T06:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: S },
        { job: 'hourly', logicalDate: at('2026-11-04T06:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: S },
        { job: 'hourly', logicalDate: at('2026-10-31T06:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: S },
      ]);
      [otherRun] = await seedRunHistory(data, otherId, [
        { job: 'hidden', logicalDate: at('2026-11-03T05:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: S },
        { job: 'hidden', logicalDate: at('2026-11-03T06:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: S },
      ]);
    } finally {
      await data.close();
    }
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it("breaks a run's time down: trigger delay, and queue wait, dispatch, execution along its critical path", async () => {
    const r = await get<Lateness>(`/api/v1/runs/${dagRun}/lateness`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      runId: dagRun,
      job: 'etl',
      triggerType: 'cron',
      logicalDate: '2026-11-03T02:00:00.000Z',
      triggerDelayMs: 3 * S,
      criticalPath: [
        { key: 'extract', attempts: 1, queueWaitMs: S, dispatchMs: 500, executionMs: 10 * S },
        { key: 'transform_a', attempts: 1, queueWaitMs: 2 * S, dispatchMs: S, executionMs: 30 * S },
        // Its last attempt; the two failed ones before are in otherMs.
        { key: 'load', attempts: 3, queueWaitMs: 4 * S, dispatchMs: S, executionMs: 6 * S },
      ],
      queueWaitMs: 7 * S,
      dispatchMs: 2_500,
      executionMs: 46 * S,
      totalMs: 59 * S,
      otherMs: 3_500,
    });
  });

  it('gives a run not triggered by time no trigger delay', async () => {
    const r = await get<Lateness>(`/api/v1/runs/${manualRun}/lateness`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      triggerType: 'manual',
      triggerDelayMs: null,
      criticalPath: [{ key: 'main', queueWaitMs: 2 * S, dispatchMs: 0, executionMs: 7 * S }],
      totalMs: 9 * S,
    });
  });

  it("answers 404 for another tenant's run and for one that is not there", async () => {
    expect((await get<Problem>(`/api/v1/runs/${otherRun}/lateness`)).status).toBe(404);
    expect((await get<Problem>(`/api/v1/runs/${dagRun}/lateness`, other)).status).toBe(404);
    expect((await get<Problem>(`/api/v1/runs/${otherRun}/lateness`, other)).status).toBe(200);
    expect((await get<Problem>('/api/v1/runs/nope/lateness')).status).toBe(404);
  });

  it('draws failures per tenant, job and day for platform admins, over all tenants', async () => {
    const r = await get<TenantHeatmap & { from: string; to: string }>(
      '/api/v1/reports/heatmap?by=tenant&from=2026-11-01&to=2026-11-05',
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.days).toEqual(['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']);
    const rows = r.body.rows.map((x) => [x.tenant, x.job, x.runs, x.failures, x.totalFailures]);
    expect(rows).toEqual(
      [
        [tenantName, 'etl', [0, 0, 1, 0], [0, 0, 0, 0], 0],
        [tenantName, 'hourly', [0, 2, 0, 1], [0, 1, 0, 1], 2],
        ['other-co', 'hidden', [0, 0, 2, 0], [0, 0, 2, 0], 2],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
    );
    expect(r.body.maxFailures).toBe(2);
    const one = await get<TenantHeatmap>('/api/v1/reports/heatmap?by=tenant&from=2026-11-01&to=2026-11-05&job=hidden');
    expect(one.body.rows.map((x) => x.job)).toEqual(['hidden']);
    // The default stays the tenant's own job × hour of day.
    const own = await get<{ jobs: Array<{ job: string }> }>('/api/v1/reports/heatmap?from=2026-11-01&to=2026-11-05');
    expect(own.body.jobs.map((j) => j.job)).toEqual(['etl', 'hourly']);
  });

  it('refuses the tenant heatmap to everyone but platform admins (403), and names a bad field (400)', async () => {
    const r = await get<Problem>('/api/v1/reports/heatmap?by=tenant&from=2026-11-01&to=2026-11-05', other);
    expect(r.status, JSON.stringify(r.body)).toBe(403);
    const bad = await get<Problem>('/api/v1/reports/heatmap?by=team');
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.map((e) => e.path)).toEqual(['by']);
    const range = await get<Problem>('/api/v1/reports/heatmap?by=tenant&from=2026-08-01&to=2026-11-02');
    expect(range.body.errors?.map((e) => e.path)).toEqual(['to']);
  });

  it('draws the tenant heatmap over more tenants than one statement lists', async () => {
    // 1,100 tenants ahead of the real ones in id order (ids of the year 1970): the real ones are in the third batch.
    const extra = Array.from({ length: 2 * TENANT_HEATMAP_BATCH + 100 }, (_, n) => ({
      id: `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`,
      name: `bulk-${String(n).padStart(4, '0')}`,
      createdAt: at('2026-10-01T00:00:00Z'),
      state: 'active',
    }));
    const data = await openPlatformDatabase({ databaseUrl: db.url, dataDir: platform.dataDir });
    try {
      await data.manager.transaction((m) => bulkInsert(m, data.dialect, TenantEntity, extra));
      // A failed run in the first batch's first tenant and one in the second batch.
      for (const t of [extra[0]!, extra[TENANT_HEATMAP_BATCH + 7]!]) {
        await scoped(data.manager, { tenantId: t.id }).insert(JobEntity, {
          id: newId(),
          tenantId: t.id,
          name: 'bulk-job',
          currentVersion: 1,
          createdAt: t.createdAt,
          updatedAt: t.createdAt,
        });
        await seedRunHistory(data, t.id, [
          { job: 'bulk-job', logicalDate: at('2026-11-02T05:00:00Z'), state: 'failed', delayMs: 0, runtimeMs: S },
        ]);
      }
    } finally {
      await data.close();
    }
    const r = await get<TenantHeatmap>('/api/v1/reports/heatmap?by=tenant&from=2026-11-01&to=2026-11-05');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.rows.map((x) => [x.tenant, x.job, x.runs, x.failures])).toEqual(
      [
        ['bulk-0000', 'bulk-job', [0, 1, 0, 0], [0, 1, 0, 0]],
        [`bulk-${String(TENANT_HEATMAP_BATCH + 7).padStart(4, '0')}`, 'bulk-job', [0, 1, 0, 0], [0, 1, 0, 0]],
        [tenantName, 'etl', [0, 0, 1, 0], [0, 0, 0, 0]],
        [tenantName, 'hourly', [0, 2, 0, 1], [0, 1, 0, 1]],
        ['other-co', 'hidden', [0, 0, 2, 0], [0, 0, 2, 0]],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
    );
  });
});
