import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFixture } from '../../test/engine-fixture.js';

describe('Compensation: a failed run undoes what succeeded, in reverse order, one task at a time', () => {
  let f: Awaited<ReturnType<typeof engineFixture>>;
  beforeAll(async () => {
    f = await engineFixture();
    await f.job({
      name: 'saga',
      tasks: [
        { key: 'reserve', type: 'noop', compensate: { type: 'noop' } },
        { key: 'charge', type: 'noop', dependsOn: ['reserve'], compensate: { type: 'noop' } },
        { key: 'ship', type: 'noop', dependsOn: ['charge'] },
      ],
    });
  });
  afterAll(() => f.close());

  it('compensates charge, then reserve, then fails the run', async () => {
    const run = await f.start('saga');
    for (const key of ['reserve', 'charge']) {
      const ids = await f.startTasks(run.id, [key]);
      await f.finish(ids[key]!, { state: 'succeeded', exitCode: 0 });
    }
    const { ship } = await f.startTasks(run.id, ['ship']);
    await f.finish(ship!, { state: 'failed', exitCode: 1 });
    // The last success is undone first; the run waits for it.
    expect(await f.tasks(run.id)).toEqual({ reserve: 'succeeded', charge: 'compensating', ship: 'failed' });
    expect(await f.runState(run.id)).toBe('running');
    const c1 = await f.startTasks(run.id, ['charge']);
    await f.finish(c1.charge!, { state: 'succeeded', exitCode: 0 });
    expect(await f.tasks(run.id)).toEqual({ reserve: 'compensating', charge: 'compensated', ship: 'failed' });
    const c2 = await f.startTasks(run.id, ['reserve']);
    const fx = await f.finish(c2.reserve!, { state: 'succeeded', exitCode: 0 });
    expect(await f.tasks(run.id)).toEqual({ reserve: 'compensated', charge: 'compensated', ship: 'failed' });
    expect(fx.finishedRun).toMatchObject({ state: 'failed' });
    expect(await f.runState(run.id)).toBe('failed');
  });

  it('has nothing to do when no succeeded task names a compensation', async () => {
    const run = await f.start('saga');
    const { reserve } = await f.startTasks(run.id, ['reserve']);
    await f.finish(reserve!, { state: 'failed', exitCode: 1 });
    expect(await f.runState(run.id)).toBe('failed');
  });
});
