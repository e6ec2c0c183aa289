import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFixture } from '../../test/engine-fixture.js';

describe('RunCreation: runs pin a version, queue their roots and honour maxActiveRuns', () => {
  let f: Awaited<ReturnType<typeof engineFixture>>;
  beforeAll(async () => {
    f = await engineFixture();
    await f.job({ name: 'single', maxActiveRuns: 1, tasks: [{ key: 'a', type: 'noop' }] });
    await f.job({
      name: 'pair',
      tasks: [
        { key: 'a', type: 'noop', pool: 'etl', poolSlots: 2 },
        { key: 'b', type: 'noop', dependsOn: ['a'] },
      ],
    });
  });
  afterAll(() => f.close());

  it('creates a run once per dedupe key, queues its roots and records each task pool', async () => {
    const run = await f.start('pair', 'once');
    const again = await f.start('pair', 'once');
    expect(again.id).toBe(run.id);
    expect(await f.tasks(run.id)).toEqual({ a: 'queued', b: 'pending' });
    expect(run.jobVersion).toBe(1);
  });

  it('holds runs beyond maxActiveRuns queued, created one by one or in bulk, and starts the next when one ends', async () => {
    const first = await f.start('single');
    const second = await f.start('single');
    expect([first.state, second.state]).toEqual(['running', 'queued']);
    expect(await f.tasks(second.id)).toEqual({ a: 'pending' });
    const job = await f.job({ name: 'single', maxActiveRuns: 1, tasks: [{ key: 'a', type: 'noop' }] });
    const bulk = await f.db.tx((m) =>
      f.creation.createRuns(m, [
        {
          tenantId: f.scope.tenantId,
          jobId: job.id,
          input: {
            jobName: 'single',
            params: {},
            logicalDate: 1,
            dedupeKey: 'bulk:1',
            triggerType: 'cron',
            triggerId: null,
          },
        },
      ]),
    );
    expect([...bulk.values()][0]!.state).toBe('queued');
    const { a } = await f.startTasks(first.id, ['a']);
    await f.finish(a!, { state: 'succeeded' });
    expect(await f.runState(first.id)).toBe('succeeded');
    // The oldest waiting run starts; the bulk one still waits its turn.
    expect(await f.runState(second.id)).toBe('running');
    expect(await f.tasks(second.id)).toEqual({ a: 'queued' });
    expect(await f.runState([...bulk.values()][0]!.id)).toBe('queued');
  });

  it('creates runs ahead of their slot scheduled, and starts them at it with their job’s room of that moment', async () => {
    const single = await f.job({ name: 'ahead-single', maxActiveRuns: 1, tasks: [{ key: 'a', type: 'noop' }] });
    const pair = await f.job({
      name: 'ahead-pair',
      tasks: [
        { key: 'a', type: 'noop' },
        { key: 'b', type: 'noop', dependsOn: ['a'] },
      ],
    });
    const slot = Date.now() + 60_000;
    const ahead = (jobId: string, jobName: string, key: string) => ({
      tenantId: f.scope.tenantId,
      jobId,
      input: {
        jobName,
        params: {},
        logicalDate: slot,
        dedupeKey: `ahead:${key}`,
        triggerType: 'cron',
        triggerId: null,
        initialState: 'scheduled' as const,
      },
    });
    const created = await f.db.tx((m) =>
      f.creation.createRuns(m, [
        ahead(single.id, 'ahead-single', 's1'),
        ahead(single.id, 'ahead-single', 's2'),
        ahead(pair.id, 'ahead-pair', 'p1'),
        ahead(pair.id, 'ahead-pair', 'p2'),
      ]),
    );
    const [s1, s2, p1, p2] = [...created.values()];
    // Scheduled runs take no room yet: both of the maxActiveRuns: 1 job are scheduled, nothing is queued.
    expect([s1, s2, p1, p2].map((r) => r!.state)).toEqual(['scheduled', 'scheduled', 'scheduled', 'scheduled']);
    expect(await f.tasks(p1!.id)).toEqual({ a: 'pending', b: 'pending' });
    expect(s1!.startedAt).toBeNull();
    // A run named with another tenant is not moved.
    expect(
      await f.db.tx((m) =>
        f.r.moves.runsAcross(m, [{ id: p1!.id, tenantId: 'someone-else' }], ['scheduled'], 'running'),
      ),
    ).toBe(0);
    // p2 is cancelled before its slot.
    await f.db.tx(async (m) =>
      f.operator.cancelRun(m, (await f.r.lockRun(m, f.scope, p2!.id))!, 'not wanted', slot - 1),
    );
    expect(await f.runState(p2!.id)).toBe('cancelled');
    expect(await f.tasks(p2!.id)).toEqual({ a: 'cancelled', b: 'cancelled' });

    const runs = await Promise.all([s1, s2, p1, p2].map((r) => f.locked(r!.id)));
    const { started, queued } = await f.db.tx((m) => f.creation.startScheduled(m, runs, slot + 3));
    expect(started.map((r) => r.id).sort()).toEqual([s1!.id, p1!.id].sort());
    expect(queued.map((r) => r.id)).toEqual([s2!.id]);
    expect(await f.runState(s1!.id)).toBe('running');
    expect((await f.locked(s1!.id)).startedAt).toBe(slot + 3);
    expect(await f.tasks(s1!.id)).toEqual({ a: 'queued' });
    expect(await f.tasks(p1!.id)).toEqual({ a: 'queued', b: 'pending' });
    // The second waits its turn (maxActiveRuns: 1) and starts when the first ends.
    expect(await f.runState(s2!.id)).toBe('queued');
    expect(await f.tasks(s2!.id)).toEqual({ a: 'pending' });
    const { a } = await f.startTasks(s1!.id, ['a']);
    await f.finish(a!, { state: 'succeeded' });
    expect(await f.runState(s2!.id)).toBe('running');
    // Started once: a second pass over the same runs moves nothing.
    const again = await Promise.all([s1, p1].map((r) => f.locked(r!.id)));
    expect((await f.db.tx((m) => f.creation.startScheduled(m, again, slot + 9))).started).toEqual([]);
  });

  it('reruns what did not succeed and what depends on it, carrying the rest over', async () => {
    const run = await f.start('pair');
    const { a } = await f.startTasks(run.id, ['a']);
    await f.finish(a!, { state: 'succeeded' });
    const { b } = await f.startTasks(run.id, ['b']);
    await f.finish(b!, { state: 'failed', exitCode: 1 });
    const done = await f.locked(run.id);
    const rerun = await f.db.tx((m) => f.creation.rerun(m, done, 'failed', Date.now()));
    expect(rerun.parentRunId).toBe(run.id);
    expect(await f.tasks(rerun.id)).toEqual({ a: 'succeeded', b: 'queued' });
  });
});
