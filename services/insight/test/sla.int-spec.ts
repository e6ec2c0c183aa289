import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_HISTORY_DEFAULT_MS } from '@baton/domain';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  queryPlatformDatabase,
  runCli,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface SlaView {
  state: string;
  reason: string | null;
  finishBy: string | null;
  warnAt: string | null;
  predicted: { finishP50: string; finishP90: string; keyTask: string | null; criticalPath: string[] } | null;
  atRiskAt: string | null;
  decidedAt: string | null;
}

describe.each(kinds)('SLA states of runs (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, localAgent: true });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  const put = async (name: string, def: Record<string, unknown>) => {
    const r = await platform.api('PUT', `/api/v1/jobs/${name}`, { name, ...def });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  };
  const start = async (name: string) => {
    const r = await platform.api<{ id: string }>('POST', `/api/v1/jobs/${name}/runs`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id;
  };
  const sla = (runId: string) => platform.api<SlaView>('GET', `/api/v1/runs/${runId}/sla`);
  /** The run's SLA once it is in `state`. */
  const slaIn = (runId: string, state: string, timeoutMs?: number) =>
    waitFor(
      `the SLA ${state}`,
      async () => {
        const r = await sla(runId);
        return r.status === 200 && r.body.state === state ? r.body : null;
      },
      timeoutMs,
    );
  /** The SLA events the insight service wrote to the outbox for a run, in order. */
  const slaEvents = async (runId: string): Promise<Array<{ type: string; state: string; from: string }>> => {
    const sql = "SELECT type, payload FROM outbox WHERE topic LIKE '%sla-events' ORDER BY seq";
    const rows = await queryPlatformDatabase<{ type: string; payload: string }>(db, platform.dataDir, sql);
    return rows
      .map((r) => ({ type: r.type, ...(JSON.parse(r.payload) as { runId: string; state: string; from: string }) }))
      .filter((e) => e.runId === runId)
      .map(({ type, state, from }) => ({ type, state, from }));
  };
  const runState = async (runId: string) =>
    (await platform.api<{ state: string }>('GET', `/api/v1/runs/${runId}`)).body.state;

  it('misses a run that is still running at its deadline, without waiting for it to end', async () => {
    await put('hangs', { sla: { maxDuration: '1s' }, tasks: [{ key: 'wait', type: 'shell', command: 'sleep 4' }] });
    const id = await start('hangs');
    const missed = await waitFor('the SLA missed', async () => {
      const r = await sla(id);
      return r.status === 200 && r.body.state === 'missed' ? r.body : null;
    });
    expect(missed.reason).toBe('not finished by the deadline');
    // Its task has no history: predicted at the default duration, past the deadline, so at risk first (unless
    // the first look came after the deadline already), then missed; each once.
    const events = await slaEvents(id);
    expect([
      [{ type: 'sla.missed', state: 'missed', from: 'pending' }],
      [
        { type: 'sla.at_risk', state: 'at_risk', from: 'pending' },
        { type: 'sla.missed', state: 'missed', from: 'at_risk' },
      ],
    ]).toContainEqual(events);
    expect(await runState(id)).toBe('running');
    expect(Date.parse(missed.decidedAt!) - Date.parse(missed.finishBy!)).toBeLessThan(3_000);
  });

  it('reports a task past its own maxDuration once, which misses a job without an SLA of its own', async () => {
    await put('slow-task', { tasks: [{ key: 'w', type: 'shell', command: 'sleep 3', maxDuration: '1s' }] });
    const id = await start('slow-task');
    const missed = await waitFor('the task breach', async () => {
      const r = await sla(id);
      return r.status === 200 && r.body.state === 'missed' ? r.body : null;
    });
    expect(missed.reason).toBe('task w ran past its maxDuration');
    expect((missed as unknown as { taskBreaches: Array<{ task: string }> }).taskBreaches.map((b) => b.task)).toEqual([
      'w',
    ]);
    expect(await runState(id)).toBe('running');
    await waitFor('the run to end', async () => ((await runState(id)) === 'succeeded' ? true : null));
    await waitFor('the last look', async () => {
      const events = await slaEvents(id);
      return events.length >= 2 ? events : null;
    });
    expect(await slaEvents(id)).toEqual([
      { type: 'sla.task_overdue', state: undefined, from: undefined },
      { type: 'sla.missed', state: 'missed', from: 'pending' },
    ]);
  });

  it('meets the SLA of a run that ends in time', async () => {
    await put('quick', { sla: { maxDuration: '1h', finishBy: '23:59+2d' }, tasks: [{ key: 'a', type: 'noop' }] });
    const id = await start('quick');
    const met = await waitFor('the SLA met', async () => {
      const r = await sla(id);
      return r.status === 200 && r.body.state === 'met' ? r.body : null;
    });
    expect(met.reason).toBeNull();
    expect(met.atRiskAt).toBeNull();
  });

  it('predicts tasks without history at their timeout or maxDuration (else the default) and names them', async () => {
    await put('fresh', {
      sla: { maxDuration: '2m' },
      tasks: [
        { key: 'a', type: 'shell', command: 'sleep 1', timeout: '20m' },
        { key: 'b', type: 'noop', dependsOn: ['a'], maxDuration: '30m' },
        { key: 'c', type: 'noop', dependsOn: ['a'] },
      ],
    });
    const id = await start('fresh');
    const atRisk = await slaIn(id, 'at_risk');
    const predicted = atRisk.predicted as SlaView['predicted'] & { assumed: unknown[] };
    expect(predicted.assumed).toEqual([
      { task: 'a', ms: 20 * 60_000, from: 'timeout' },
      { task: 'b', ms: 30 * 60_000, from: 'maxDuration' },
      { task: 'c', ms: NO_HISTORY_DEFAULT_MS, from: 'default' },
    ]);
    // 20 min of a, then the longer of b (30 min) and c (the default): along a → b.
    expect(predicted.criticalPath).toEqual(['a', 'b']);
    const started = Date.parse((await platform.api<{ startedAt: string }>('GET', `/api/v1/runs/${id}`)).body.startedAt);
    expect(Date.parse(predicted.finishP90) - started).toBeGreaterThanOrEqual(50 * 60_000);
    // It ends in a second: met, the warning kept.
    const met = await slaIn(id, 'met', 20_000);
    expect(met.atRiskAt).toBe(atRisk.atRiskAt);
  });

  it('warns of a breach its tasks’ history predicts, names the key task, then meets it when the run ends in time', async () => {
    // History first: two runs of the same job without an SLA, its task taking about 1.5 s.
    const tasks = [
      { key: 'prepare', type: 'noop' },
      { key: 'slow', type: 'shell', command: 'sleep 1.5', dependsOn: ['prepare'] },
    ];
    await put('predicted', { tasks });
    for (let i = 0; i < 2; i++) {
      const id = await start('predicted');
      await waitFor('a run of history', async () => ((await runState(id)) === 'succeeded' ? true : null), 20_000);
    }
    // Deadline 4 s after the start, warning 3 s before it: the 1.5 s the task takes passes the warning time.
    await put('predicted', { sla: { maxDuration: '4s', warnBefore: '3s' }, tasks });
    const id = await start('predicted');
    const atRisk = await slaIn(id, 'at_risk');
    expect(atRisk.reason).toBe('the predicted finish (p90) is past the warning time');
    expect(atRisk.predicted?.criticalPath).toEqual(['prepare', 'slow']);
    expect(atRisk.predicted?.keyTask).toMatch(/^(prepare|slow)$/);
    expect(Date.parse(atRisk.predicted!.finishP90)).toBeGreaterThan(Date.parse(atRisk.warnAt!));
    const met = await slaIn(id, 'met', 20_000);
    expect(met.atRiskAt).toBe(atRisk.atRiskAt);
    // The run's own view carries it too.
    const view = await platform.api<{ sla: SlaView | null }>('GET', `/api/v1/runs/${id}`);
    expect(view.body.sla).toMatchObject({ state: 'met', atRiskAt: atRisk.atRiskAt, finishBy: met.finishBy });
    // Each change is one event, written with it: the warning, then the outcome.
    expect(await slaEvents(id)).toEqual([
      { type: 'sla.at_risk', state: 'at_risk', from: 'pending' },
      { type: 'sla.met', state: 'met', from: 'at_risk' },
    ]);
  });

  it('backtests a proposed SLA against the job’s finished runs, through the API and `baton sla backtest`', async () => {
    // The job 'predicted' has three finished runs of about 1.5 s each (the test above).
    const bt = (sla: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      platform.api<{
        runs: number;
        met: number;
        missed: number;
        metRatio: number;
        misses: Array<{ reason: string; lateByMs: number }>;
      }>('POST', '/api/v1/jobs/predicted/sla/backtest', { sla, ...extra });
    const generous = await bt({ maxDuration: '1h' });
    expect(generous.status, JSON.stringify(generous.body)).toBe(200);
    expect(generous.body).toMatchObject({ runs: 3, met: 3, missed: 0, metRatio: 1, misses: [] });
    const tight = await bt({ maxDuration: '1s' });
    expect(tight.body).toMatchObject({ runs: 3, met: 0, missed: 3, metRatio: 0 });
    expect(tight.body.misses.map((m) => m.reason)).toEqual(Array(3).fill('finished after the deadline'));
    expect(tight.body.misses.every((m) => m.lateByMs > 0)).toBe(true);
    expect((await bt({ maxDuration: '1h' }, { runs: 2 })).body.runs).toBe(2);
    // Bad input names the field; an unknown job is a 404.
    const bad = await bt({ finishBy: '25:00' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/sla\.finishBy/);
    expect((await platform.api('POST', '/api/v1/jobs/nope/sla/backtest', { sla: { maxDuration: '1h' } })).status).toBe(
      404,
    );
    const cli = await runCli(['sla', 'backtest', 'predicted', '--max-duration', '1s'], {
      BATON_SERVER: platform.url,
      BATON_TOKEN: platform.token,
    });
    expect(cli.code, cli.stderr).toBe(1);
    expect(cli.stdout).toMatch(/0 of 3 runs \(0\.0 %\) would have met it/);
    expect(cli.stdout).toMatch(/finished after the deadline \(\d+\.\d s late\)/);
    const ok = await runCli(['sla', 'backtest', 'predicted', '--max-duration', '1h'], {
      BATON_SERVER: platform.url,
      BATON_TOKEN: platform.token,
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/3 of 3 runs \(100\.0 %\)/);
  });

  it('answers 404 for a run without an SLA and for a run that does not exist', async () => {
    await put('plain', { tasks: [{ key: 'a', type: 'noop' }] });
    const id = await start('plain');
    expect((await platform.api<{ sla: unknown }>('GET', `/api/v1/runs/${id}`)).body.sla).toBeNull();
    const none = await sla(id);
    expect(none.status).toBe(404);
    expect(JSON.stringify(none.body)).toMatch(/declares none/);
    expect((await sla('01900000-0000-7000-8000-000000000000')).status).toBe(404);
  });
});
