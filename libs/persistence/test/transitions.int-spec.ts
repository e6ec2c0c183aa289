import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalTransitionError, type TaskState } from '@baton/domain';
import { AttemptEntity, Database, RunEntity, TaskRunEntity, TransitionStore, newId } from '@baton/persistence';
import { type TestDatabase, createTestDatabase, testDatabaseKinds } from '@baton/testing';

const kinds = await testDatabaseKinds();
const A = { tenantId: newId() };
const B = { tenantId: newId() };

describe.each(kinds)('the transition store (%s)', (kind) => {
  let target: TestDatabase;
  let db: Database;
  let wakes = 0;
  let store: TransitionStore;

  beforeAll(async () => {
    target = await createTestDatabase(kind);
    db = await Database.open(target.connection());
    store = new TransitionStore(db, () => wakes++);
  });
  afterAll(async () => {
    await db?.close();
    await target?.drop();
  });

  const run = async (tenantId: string, state: RunEntity['state'] = 'running') => {
    const now = Date.now();
    const r: RunEntity = {
      id: newId(),
      tenantId,
      jobId: newId(),
      jobName: 'j',
      jobVersion: 1,
      jobVersionId: newId(),
      state,
      logicalDate: now,
      params: {},
      dedupeKey: newId(),
      triggerType: 'manual',
      triggerId: null,
      createdAt: now,
      startedAt: now,
      finishedAt: null,
      backfillId: null,
      parentRunId: null,
      traceparent: null,
    };
    await db.manager.insert(RunEntity, r as never);
    return r;
  };
  const task = async (
    tenantId: string,
    runId: string,
    key: string,
    state: TaskState,
    current: string | null = null,
  ) => {
    const t: TaskRunEntity = {
      id: newId(),
      tenantId,
      runId,
      taskKey: key,
      state,
      priority: 0,
      readyAt: null,
      attemptsUsed: 0,
      currentAttemptId: current,
      exitCode: null,
      output: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      updatedAt: 0,
    };
    await db.manager.insert(TaskRunEntity, t);
    return t;
  };
  const attempt = async (tenantId: string, t: TaskRunEntity, agentId: string, state: AttemptEntity['state']) => {
    const a: AttemptEntity = {
      id: newId(),
      tenantId,
      runId: t.runId,
      taskRunId: t.id,
      taskKey: t.taskKey,
      number: 1,
      state,
      agentId,
      sessionId: newId(),
      expiresAt: null,
      deadlineAt: null,
      assignedAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      error: null,
      logBytes: 0,
      logSeq: -1,
      kind: 'main',
      lateResult: null,
      quotaCpuMillis: 0,
      quotaMemoryMb: 0,
    };
    await db.manager.insert(AttemptEntity, a);
    return a;
  };
  const stateOf = async (entity: typeof TaskRunEntity | typeof AttemptEntity | typeof RunEntity, id: string) =>
    ((await db.manager.findOneByOrFail(entity as typeof TaskRunEntity, { id })) as { state: string }).state;

  it('moves only rows in an expected state, of the scope tenant, and counts them', async () => {
    const r = await run(A.tenantId);
    const queued = await task(A.tenantId, r.id, 'a', 'queued');
    const running = await task(A.tenantId, r.id, 'b', 'running');
    const foreign = await task(B.tenantId, r.id, 'c', 'queued');
    const moved = await db.tx((m) =>
      store.tasks(m, A, { ids: [queued.id, running.id, foreign.id] }, ['queued'], 'cancelled', { error: 'stop' }),
    );
    expect(moved).toBe(1);
    expect(await stateOf(TaskRunEntity, queued.id)).toBe('cancelled');
    expect(await stateOf(TaskRunEntity, running.id)).toBe('running');
    expect(await stateOf(TaskRunEntity, foreign.id)).toBe('queued');
    // A repeated move is a compare-and-set miss, not an error.
    expect(await db.tx((m) => store.tasks(m, A, { ids: [queued.id] }, ['queued'], 'cancelled'))).toBe(0);
  });

  it.each<[TaskState[], TaskState]>([
    [['succeeded'], 'queued'],
    [['queued', 'cancelled'], 'assigned'],
    [['pending'], 'running'],
  ])('refuses an illegal move %j -> %s before writing anything', async (from, to) => {
    const r = await run(A.tenantId);
    const t = await task(A.tenantId, r.id, 'x', from[0]!);
    await expect(db.tx((m) => store.tasks(m, A, { ids: [t.id] }, from, to))).rejects.toBeInstanceOf(
      IllegalTransitionError,
    );
    expect(await stateOf(TaskRunEntity, t.id)).toBe(from[0]);
  });

  it("selects a run's tasks by key, and tasks by their current attempt", async () => {
    const r = await run(A.tenantId);
    const a = await task(A.tenantId, r.id, 'a', 'pending');
    const b = await task(A.tenantId, r.id, 'b', 'pending');
    const c = await task(A.tenantId, r.id, 'c', 'pending');
    expect(await db.tx((m) => store.tasks(m, A, { runId: r.id, keys: ['a', 'b'] }, ['pending'], 'queued'))).toBe(2);
    expect([await stateOf(TaskRunEntity, a.id), await stateOf(TaskRunEntity, b.id)]).toEqual(['queued', 'queued']);
    expect(await stateOf(TaskRunEntity, c.id)).toBe('pending');
    const current = newId();
    const t = await task(A.tenantId, r.id, 'd', 'assigned', current);
    expect(
      await db.tx((m) => store.tasks(m, A, { ids: [t.id], currentAttemptId: newId() }, ['assigned'], 'queued')),
    ).toBe(0);
    expect(
      await db.tx((m) => store.tasks(m, A, { ids: [t.id], currentAttemptId: current }, ['assigned'], 'queued')),
    ).toBe(1);
  });

  it("moves an agent's own attempts only", async () => {
    const r = await run(A.tenantId);
    const t = await task(A.tenantId, r.id, 'a', 'assigned');
    const mine = await attempt(A.tenantId, t, 'agent-1', 'assigned');
    const theirs = await attempt(A.tenantId, t, 'agent-2', 'assigned');
    const moved = await db.tx((m) =>
      store.attempts(m, A, { ids: [mine.id, theirs.id], agentId: 'agent-1' }, ['assigned'], 'running'),
    );
    expect(moved).toBe(1);
    expect(await stateOf(AttemptEntity, mine.id)).toBe('running');
    expect(await stateOf(AttemptEntity, theirs.id)).toBe('assigned');
    await expect(db.tx((m) => store.attempts(m, A, { ids: [mine.id] }, ['succeeded'], 'running'))).rejects.toThrow(
      'illegal attempt state transition succeeded -> running',
    );
  });

  it('finishes runs by compare-and-set', async () => {
    const r = await run(A.tenantId);
    expect(await db.tx((m) => store.runs(m, A, [r.id], ['running'], 'succeeded', { finishedAt: 1 }))).toBe(1);
    expect(await db.tx((m) => store.runs(m, A, [r.id], ['running'], 'failed'))).toBe(0);
    expect(await stateOf(RunEntity, r.id)).toBe('succeeded');
    await expect(db.tx((m) => store.runs(m, A, [r.id], ['succeeded'], 'running'))).rejects.toBeInstanceOf(
      IllegalTransitionError,
    );
  });

  it('starts scheduled runs of many tenants and their roots together, each row only with its own tenant', async () => {
    const [a, b, c] = [
      await run(A.tenantId, 'scheduled'),
      await run(B.tenantId, 'scheduled'),
      await run(B.tenantId, 'scheduled'),
    ];
    const roots = [await task(A.tenantId, a.id, 'root', 'pending'), await task(B.tenantId, b.id, 'root', 'pending')];
    const leaf = await task(B.tenantId, b.id, 'leaf', 'pending');
    const cRoot = await task(B.tenantId, c.id, 'root', 'pending');
    // c is named with the wrong tenant: neither it nor its tasks move.
    const named = [a, b, { id: c.id, tenantId: A.tenantId }];
    expect(await db.tx((m) => store.runsAcross(m, named, ['scheduled'], 'running', { startedAt: 7 }))).toBe(2);
    expect(await db.tx((m) => store.tasksAcross(m, named, ['root'], ['pending'], 'queued', { readyAt: 7 }))).toBe(2);
    expect([await stateOf(RunEntity, a.id), await stateOf(RunEntity, b.id), await stateOf(RunEntity, c.id)]).toEqual([
      'running',
      'running',
      'scheduled',
    ]);
    expect(await Promise.all(roots.map((t) => stateOf(TaskRunEntity, t.id)))).toEqual(['queued', 'queued']);
    expect([await stateOf(TaskRunEntity, leaf.id), await stateOf(TaskRunEntity, cRoot.id)]).toEqual([
      'pending',
      'pending',
    ]);
    // Compare-and-set: a second start moves nothing; the table refuses a scheduled run to succeed.
    expect(await db.tx((m) => store.runsAcross(m, [a, b], ['scheduled'], 'running'))).toBe(0);
    await expect(db.tx((m) => store.runsAcross(m, [c], ['scheduled'], 'succeeded'))).rejects.toBeInstanceOf(
      IllegalTransitionError,
    );
  });

  it('assigns a batch in one statement; a compensation keeps its state; others are untouched', async () => {
    const r = await run(A.tenantId);
    const q = await task(A.tenantId, r.id, 'q', 'queued');
    const comp = await task(A.tenantId, r.id, 'comp', 'compensating');
    const done = await task(A.tenantId, r.id, 'done', 'succeeded');
    const other = await task(B.tenantId, r.id, 'other', 'queued');
    const ids = [newId(), newId(), newId(), newId()];
    const moved = await db.tx((m) =>
      store.assign(
        m,
        [
          { tenantId: A.tenantId, taskRunId: q.id, attemptId: ids[0]!, compensation: false },
          { tenantId: A.tenantId, taskRunId: comp.id, attemptId: ids[1]!, compensation: true },
          { tenantId: A.tenantId, taskRunId: done.id, attemptId: ids[2]!, compensation: false },
          // The tenant of a row is part of the match: a row named under the wrong tenant does not move.
          { tenantId: A.tenantId, taskRunId: other.id, attemptId: ids[3]!, compensation: false },
          { tenantId: B.tenantId, taskRunId: done.id, attemptId: newId(), compensation: false },
        ],
        Date.now(),
      ),
    );
    expect(moved).toBe(2);
    const rows = await db.manager.findBy(TaskRunEntity, { runId: r.id });
    const by = Object.fromEntries(rows.map((t) => [t.taskKey, [t.state, t.currentAttemptId]]));
    expect(by).toMatchObject({
      q: ['assigned', ids[0]],
      comp: ['compensating', ids[1]],
      done: ['succeeded', null],
      other: ['queued', null],
    });
  });

  it('wakes the relay once per committed transaction that moved something, never for a rollback', async () => {
    const r = await run(A.tenantId);
    const a = await task(A.tenantId, r.id, 'a', 'queued');
    const b = await task(A.tenantId, r.id, 'b', 'queued');
    wakes = 0;
    await db.tx(async (m) => {
      await store.tasks(m, A, { ids: [a.id] }, ['queued'], 'cancelled');
      await store.tasks(m, A, { ids: [b.id] }, ['queued'], 'cancelled');
      expect(wakes).toBe(0);
    });
    expect(wakes).toBe(1);
    await db.tx((m) => store.tasks(m, A, { ids: [a.id] }, ['queued'], 'cancelled'));
    expect(wakes).toBe(1);
    const c = await task(A.tenantId, r.id, 'c', 'queued');
    await expect(
      db.tx(async (m) => {
        await store.tasks(m, A, { ids: [c.id] }, ['queued'], 'cancelled');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(wakes).toBe(1);
    expect(await stateOf(TaskRunEntity, c.id)).toBe('queued');
  });
});
