import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptEntity, RunEntity, TaskRunEntity } from '@baton/persistence';
import { engineFixture } from '../../test/engine-fixture.js';
import { LARGE_RUN } from './completion.js';

type Fixture = Awaited<ReturnType<typeof engineFixture>>;

describe('Completion: results move tasks, readiness decides what runs next, the leaf rule ends the run', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await engineFixture();
    await f.job({
      name: 'diamond',
      tasks: [
        { key: 'a', type: 'noop' },
        { key: 'b', type: 'noop', dependsOn: ['a'] },
        { key: 'c', type: 'noop', dependsOn: ['a'] },
        { key: 'd', type: 'noop', dependsOn: ['b', 'c'] },
      ],
    });
    await f.job({
      name: 'flaky',
      tasks: [{ key: 'a', type: 'noop', retry: { maxAttempts: 2, backoff: 'fixed', delay: '1h' } }],
    });
    const middle = Array.from({ length: LARGE_RUN }, (_, i) => `m${i}`);
    await f.job({
      name: 'wide',
      tasks: [
        { key: 'root', type: 'noop' },
        ...middle.map((key) => ({ key, type: 'noop', dependsOn: ['root'] })),
        { key: 'join', type: 'noop', dependsOn: middle },
      ],
    });
    await f.job({
      name: 'fragile',
      tasks: [
        { key: 'a', type: 'noop' },
        { key: 'b', type: 'noop', dependsOn: ['a'] },
      ],
    });
  });
  afterAll(() => f.close());

  it('queues downstream tasks once all their upstream succeeded, in one pass per batch, and succeeds the run', async () => {
    const run = await f.start('diamond');
    expect(await f.tasks(run.id)).toEqual({ a: 'queued', b: 'pending', c: 'pending', d: 'pending' });
    const { a } = await f.startTasks(run.id, ['a']);
    const fx = await f.finish(a!, { state: 'succeeded', exitCode: 0 });
    expect(fx.queued).toBe(true);
    expect(fx.dispositions.get(a!)).toEqual({ accepted: true });
    expect(await f.tasks(run.id)).toEqual({ a: 'succeeded', b: 'queued', c: 'queued', d: 'pending' });
    const bc = await f.startTasks(run.id, ['b', 'c']);
    // Both branches in one batch: the join is decided once.
    await f.db.tx((m) =>
      f.completion.finishAttempts(
        m,
        ['b', 'c'].map((k) => ({
          attemptId: bc[k]!,
          tenantId: f.scope.tenantId,
          result: { state: 'succeeded' as const, exitCode: 0, error: null, output: null, at: Date.now() },
        })),
      ),
    );
    expect((await f.tasks(run.id)).d).toBe('queued');
    const { d } = await f.startTasks(run.id, ['d']);
    const last = await f.finish(d!, { state: 'succeeded', exitCode: 0 });
    expect(last.finishedRun).toMatchObject({ runId: run.id, state: 'succeeded' });
    expect(await f.runState(run.id)).toBe('succeeded');
  });

  it('applies one batch over several runs: successes of every run in bulk, a failure on its own, each run advanced', async () => {
    const runs = [await f.start('diamond'), await f.start('diamond'), await f.start('fragile')];
    const started = await Promise.all(runs.map((r) => f.startTasks(r.id, ['a'])));
    const at = Date.now();
    const fx = await f.db.tx((m) =>
      f.completion.finishAttempts(
        m,
        started.map((s, i) => ({
          attemptId: s.a!,
          tenantId: f.scope.tenantId,
          result:
            i < 2
              ? { state: 'succeeded' as const, exitCode: 0, error: null, output: null, at }
              : { state: 'failed' as const, exitCode: 2, error: 'boom', output: null, at },
        })),
      ),
    );
    for (const s of started) expect(fx.dispositions.get(s.a!)).toEqual({ accepted: true });
    expect(await f.tasks(runs[0]!.id)).toEqual({ a: 'succeeded', b: 'queued', c: 'queued', d: 'pending' });
    expect(await f.tasks(runs[1]!.id)).toEqual({ a: 'succeeded', b: 'queued', c: 'queued', d: 'pending' });
    expect(await f.tasks(runs[2]!.id)).toEqual({ a: 'failed', b: 'upstream_failed' });
    expect(await f.runState(runs[2]!.id)).toBe('failed');
    // The same results again change nothing: each is stale now.
    const again = await f.db.tx((m) =>
      f.completion.finishAttempts(
        m,
        started.slice(0, 2).map((s) => ({
          attemptId: s.a!,
          tenantId: f.scope.tenantId,
          result: { state: 'succeeded' as const, exitCode: 0, error: null, output: null, at },
        })),
      ),
    );
    for (const s of started.slice(0, 2)) expect(again.dispositions.get(s.a!)).toMatchObject({ rejection: 'stale' });
    expect(await f.tasks(runs[0]!.id)).toEqual({ a: 'succeeded', b: 'queued', c: 'queued', d: 'pending' });
  });

  it('starts a task whose success arrives with (or without) its ACK: its try is counted and its start kept', async () => {
    const run = await f.start('diamond');
    const { a } = await f.startTasks(run.id, ['a'], { acked: false }); // its ACK waits in the same batch
    const at = Date.now();
    await f.finish(a!, { state: 'succeeded', exitCode: 0 });
    // In bulk: one acknowledged, one not.
    const b = (await f.startTasks(run.id, ['b'])).b!;
    const c = (await f.startTasks(run.id, ['c'], { acked: false })).c!;
    await f.db.tx((m) =>
      f.completion.finishAttempts(
        m,
        [b, c].map((attemptId) => ({
          attemptId,
          tenantId: f.scope.tenantId,
          result: { state: 'succeeded' as const, exitCode: 0, error: null, output: null, at },
        })),
      ),
    );
    const attempts = await f.db.manager.find(AttemptEntity, { where: { tenantId: f.scope.tenantId, runId: run.id } });
    for (const x of attempts)
      expect([x.taskKey, x.state, x.startedAt !== null]).toEqual([x.taskKey, 'succeeded', true]);
    const rows = await f.db.manager.find(TaskRunEntity, { where: { tenantId: f.scope.tenantId, runId: run.id } });
    for (const t of rows.filter((x) => x.taskKey !== 'd')) {
      expect([t.taskKey, t.state, t.attemptsUsed]).toEqual([t.taskKey, 'succeeded', 1]);
      expect(t.startedAt).not.toBeNull();
    }
  });

  it.each<[string, 'failed' | 'timed_out' | 'lost', string, string]>([
    ['a failure with tries left is retried after its backoff', 'failed', 'flaky', 'up_for_retry'],
    ['a timeout with tries left is retried too', 'timed_out', 'flaky', 'up_for_retry'],
    ['a lost attempt of a task that is not idempotent is held for an operator', 'lost', 'flaky', 'lost'],
    ['a failure without tries left is final', 'failed', 'fragile', 'failed'],
  ])('%s', async (_name, outcome, job, expected) => {
    const run = await f.start(job);
    const { a } = await f.startTasks(run.id, ['a']);
    const before = Date.now();
    const fx = await f.finish(a!, { state: outcome, exitCode: outcome === 'failed' ? 1 : null });
    expect((await f.tasks(run.id)).a).toBe(expected);
    if (expected === 'up_for_retry') expect(fx.retryAt).toBeGreaterThanOrEqual(before + 3_600_000);
    if (job === 'fragile') {
      expect((await f.tasks(run.id)).b).toBe('upstream_failed');
      expect(await f.runState(run.id)).toBe('failed');
    } else {
      expect(await f.runState(run.id)).toBe('running');
    }
  });

  it('records a late, foreign or unknown result with the reason and changes nothing', async () => {
    const run = await f.start('fragile');
    const { a } = await f.startTasks(run.id, ['a']);
    expect((await f.finish(a!, { state: 'succeeded' }, 'agent-2')).dispositions.get(a!)).toMatchObject({
      accepted: false,
      rejection: 'foreign',
    });
    expect((await f.tasks(run.id)).a).toBe('running');
    expect((await f.finish(a!, { state: 'succeeded' })).dispositions.get(a!)).toEqual({ accepted: true });
    const again = await f.finish(a!, { state: 'failed', exitCode: 3 });
    expect(again.dispositions.get(a!)).toMatchObject({ accepted: false, rejection: 'stale' });
    expect((await f.tasks(run.id)).a).toBe('succeeded');
    const unknown = await f.finish('01900000-0000-7000-8000-000000000000', { state: 'succeeded' });
    expect(unknown.dispositions.get('01900000-0000-7000-8000-000000000000')).toMatchObject({ rejection: 'unknown' });
  });

  describe('a large run is remembered between batches, checked by its task epoch under the run lock', () => {
    const middle = Array.from({ length: LARGE_RUN }, (_, i) => `m${i}`);
    const succeed = (ids: Record<string, string>, keys: readonly string[]) =>
      f.db.tx((m) =>
        f.completion.finishAttempts(
          m,
          keys.map((k) => ({
            attemptId: ids[k]!,
            tenantId: f.scope.tenantId,
            result: { state: 'succeeded' as const, exitCode: 0, error: null, output: null, at: Date.now() },
          })),
        ),
      );
    const epoch = async (runId: string) =>
      (await f.db.manager.findOneByOrFail(RunEntity, { tenantId: f.scope.tenantId, id: runId })).taskEpoch;
    /** A run whose root and first half of the middle succeeded (two batches: the second one is remembered). */
    const halfDone = async () => {
      const run = await f.start('wide');
      await f.finish((await f.startTasks(run.id, ['root'])).root!, { state: 'succeeded' });
      const ids = await f.startTasks(run.id, middle);
      await succeed(ids, middle.slice(0, 50));
      return { run, ids };
    };

    it('moves the epoch with each batch and decides the join from what it remembers plus the batch', async () => {
      const { run, ids } = await halfDone();
      const before = await epoch(run.id);
      expect(before).toBeGreaterThan(0);
      await succeed(ids, middle.slice(50, -1));
      expect(await epoch(run.id)).toBe(before + 1);
      expect((await f.tasks(run.id)).join).toBe('pending');
      await succeed(ids, middle.slice(-1));
      expect((await f.tasks(run.id)).join).toBe('queued');
      await f.finish((await f.startTasks(run.id, ['join'])).join!, { state: 'succeeded' });
      expect(await f.runState(run.id)).toBe('succeeded');
    });

    it('believes what it remembers while the epoch stands (the contract: writers of a large run move it)', async () => {
      const { run, ids } = await halfDone();
      // A writer that does not keep the contract: the last middle task ends without moving the epoch.
      await f.db.tx((m) =>
        f.r.moves.tasks(m, f.scope, { runId: run.id, keys: [middle.at(-1)!] }, ['running'], 'cancelled', {}),
      );
      await succeed(ids, middle.slice(50, -1));
      expect((await f.tasks(run.id)).join).toBe('pending');
    });

    it('reads the run again once another writer moved its epoch (an operator marking a task)', async () => {
      const { run, ids } = await halfDone();
      const before = await epoch(run.id);
      await f.db.tx(async (m) =>
        f.operator.markTask(m, (await f.r.lockRun(m, f.scope, run.id))!, middle.at(-1)!, 'succeeded', Date.now()),
      );
      expect(await epoch(run.id)).toBe(before + 1);
      await succeed(ids, middle.slice(50, -1));
      expect((await f.tasks(run.id)).join).toBe('queued');
    });

    it('forgets what a rolled-back batch did', async () => {
      const { run, ids } = await halfDone();
      await expect(
        f.db.tx(async (m) => {
          await f.completion.finishAttempts(
            m,
            middle.slice(50).map((k) => ({
              attemptId: ids[k]!,
              tenantId: f.scope.tenantId,
              result: { state: 'succeeded' as const, exitCode: 0, error: null, output: null, at: Date.now() },
            })),
          );
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect((await f.tasks(run.id)).join).toBe('pending');
      await succeed(ids, middle.slice(50, -1));
      expect((await f.tasks(run.id)).join).toBe('pending');
      await succeed(ids, middle.slice(-1));
      expect((await f.tasks(run.id)).join).toBe('queued');
    });
  });

  it('runs the registered run-finish hooks in the transaction that ends the run, once, after its state moved', async () => {
    const seen: Array<{ runId: string; state: string; stored: string }> = [];
    f.hooks.register(async (m, run) => {
      const stored = await m.findOneByOrFail(RunEntity, { tenantId: run.tenantId, id: run.id });
      seen.push({ runId: run.id, state: run.state, stored: stored.state });
    });
    const run = await f.start('fragile');
    const { a } = await f.startTasks(run.id, ['a']);
    await f.finish(a!, { state: 'succeeded' });
    expect(seen).toEqual([]);
    const { b } = await f.startTasks(run.id, ['b']);
    await f.finish(b!, { state: 'failed', exitCode: 1 });
    expect(seen).toEqual([{ runId: run.id, state: 'failed', stored: 'failed' }]);
  });
});
