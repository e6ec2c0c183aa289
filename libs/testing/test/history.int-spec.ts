import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptEntity, Database, JobEntity, RunEntity, TaskRunEntity, newId, scoped } from '@baton/persistence';
import { type TestDatabase, bulkInsert, createTestDatabase, seedRunHistory, testDatabaseKinds } from '@baton/testing';

const kinds = await testDatabaseKinds();
const T = newId();

describe.each(kinds)('run history written in bulk (%s)', (kind) => {
  let target: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    target = await createTestDatabase(kind);
    db = await Database.open(target.connection());
  });
  afterAll(async () => {
    await db?.close();
    await target?.drop();
  });

  it('writes rows as TypeORM reads them back (JSON, nulls, epoch milliseconds), over several statements', async () => {
    // 5,000 rows of 20 columns: 100,000 parameters, more than one statement holds on either database.
    const runId = newId();
    const rows = Array.from({ length: 5_000 }, (_, n) => ({
      id: newId(1_700_000_000_000 + n),
      tenantId: T,
      runId,
      taskRunId: `task-${n % 7}`,
      taskKey: `k${n % 3}`,
      number: n,
      state: n % 2 ? 'failed' : 'succeeded',
      agentId: 'a',
      sessionId: 's',
      expiresAt: null,
      assignedAt: 1_700_000_000_000 + n,
      startedAt: n % 5 ? 1_700_000_000_500 + n : null,
      finishedAt: 1_700_000_001_000 + n,
      exitCode: n % 2,
      error: n % 11 ? null : `it's "quoted" \\ n=${n}`,
      logBytes: n,
      logSeq: -1,
      deadlineAt: null,
      kind: 'main' as const,
      lateResult: null,
    }));
    await db.manager.transaction((m) => bulkInsert(m, db.dialect, AttemptEntity, rows));
    const back = await scoped(db.manager, { tenantId: T }).find(AttemptEntity, {
      where: { runId },
      order: { number: 'ASC' },
    });
    expect(back).toHaveLength(rows.length);
    // Columns left out take their defaults.
    expect(back.map(({ quotaCpuMillis, quotaMemoryMb, ...r }) => r)).toEqual(rows);
    expect(new Set(back.map((r) => r.quotaCpuMillis))).toEqual(new Set([0]));

    const run = {
      id: newId(),
      tenantId: T,
      jobId: 'j',
      jobName: 'j',
      jobVersion: 1,
      jobVersionId: 'v',
      state: 'succeeded' as const,
      logicalDate: 1_700_000_000_000,
      params: { region: 'eu', n: [1, 2] },
      dedupeKey: 'd',
      triggerType: 'manual',
      triggerId: null,
      createdAt: 1_700_000_000_000,
      startedAt: null,
      finishedAt: null,
      backfillId: null,
      parentRunId: null,
      traceparent: null,
    };
    await db.manager.transaction((m) => bulkInsert(m, db.dialect, RunEntity, [run]));
    const r = await scoped(db.manager, { tenantId: T }).findOneOrFail(RunEntity, { where: { id: run.id } });
    expect(r).toMatchObject({ ...run, taskEpoch: 0 });
  });

  it('seeds runs with their tasks and attempts, retries failing first', async () => {
    const now = Date.now();
    await scoped(db.manager, { tenantId: T }).insert(JobEntity, {
      id: newId(),
      tenantId: T,
      name: 'etl',
      currentVersion: 3,
      createdAt: now,
      updatedAt: now,
    });
    const [id] = await seedRunHistory(db, T, [
      {
        job: 'etl',
        logicalDate: now - 60_000,
        state: 'succeeded',
        delayMs: 1_000,
        runtimeMs: 30_000,
        tasks: [
          { key: 'a', attempts: 1 },
          { key: 'b', attempts: 3 },
        ],
      },
    ]);
    const data = scoped(db.manager, { tenantId: T });
    expect(await data.findOneOrFail(RunEntity, { where: { id } })).toMatchObject({
      jobName: 'etl',
      jobVersion: 3,
      startedAt: now - 59_000,
      finishedAt: now - 29_000,
      params: {},
    });
    const tasks = await data.find(TaskRunEntity, { where: { runId: id }, order: { taskKey: 'ASC' } });
    expect(tasks.map((t) => [t.taskKey, t.state, t.attemptsUsed])).toEqual([
      ['a', 'succeeded', 1],
      ['b', 'succeeded', 3],
    ]);
    const attempts = await data.find(AttemptEntity, { where: { runId: id }, order: { taskKey: 'ASC', number: 'ASC' } });
    expect(attempts.map((a) => [a.taskKey, a.number, a.state])).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 1, 'failed'],
      ['b', 2, 'failed'],
      ['b', 3, 'succeeded'],
    ]);
  });
});
