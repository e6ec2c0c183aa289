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
