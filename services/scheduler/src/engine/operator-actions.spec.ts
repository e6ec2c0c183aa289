import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFixture } from '../../test/engine-fixture.js';

describe('OperatorActions: cancel a run, mark a task', () => {
  let f: Awaited<ReturnType<typeof engineFixture>>;
  beforeAll(async () => {
    f = await engineFixture();
    await f.job({
      name: 'ops',
      tasks: [
        { key: 'a', type: 'noop' },
        { key: 'b', type: 'noop' },
        { key: 'c', type: 'noop', dependsOn: ['a'] },
      ],
    });
  });
  afterAll(() => f.close());

  it('cancels unstarted tasks at once and asks agents to stop running attempts', async () => {
    const run = await f.start('ops');
    const { a } = await f.startTasks(run.id, ['a']);
    const fx = await f.db.tx(async (m) =>
      f.operator.cancelRun(m, (await f.r.lockRun(m, f.scope, run.id))!, 'stop', Date.now()),
    );
    expect(fx.cancel).toEqual([a]);
    expect(await f.tasks(run.id)).toEqual({ a: 'cancelled', b: 'cancelled', c: 'cancelled' });
    expect(await f.runState(run.id)).toBe('cancelled');
  });

  it('marks a failed task succeeded so its downstream runs, and refuses moves the table forbids', async () => {
    const run = await f.start('ops');
    const { a } = await f.startTasks(run.id, ['a']);
    await f.finish(a!, { state: 'failed', exitCode: 1 });
    expect((await f.tasks(run.id)).c).toBe('upstream_failed');
    await expect(
      f.db.tx(async (m) =>
        f.operator.markTask(m, (await f.r.lockRun(m, f.scope, run.id))!, 'b', 'succeeded', Date.now()),
      ),
    ).rejects.toThrow('task b is queued and cannot be marked succeeded');
    const other = await f.start('ops');
    const ids = await f.startTasks(other.id, ['a']);
    await f.finish(ids.a!, { state: 'failed', exitCode: 1 });
    // upstream_failed may be overridden too: the operator declares the missing work done.
    await f.db.tx(async (m) =>
      f.operator.markTask(m, (await f.r.lockRun(m, f.scope, other.id))!, 'c', 'skipped', Date.now()),
    );
    expect((await f.tasks(other.id)).c).toBe('skipped');
  });
});
