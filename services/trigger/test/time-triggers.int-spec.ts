import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface RunSummary {
  id: string;
  logicalDate: string;
  state: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  trigger: { type: string };
}
interface Slot {
  slot: string;
  outcome: string;
  runId: string | null;
}

describe.each(kinds)('time triggers, misfire and overlap policies, the slot ledger (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;

  const apply = async (name: string, trigger: Record<string, unknown>, command = 'true') => {
    const r = await platform.api('PUT', `/api/v1/jobs/${name}`, {
      name,
      triggers: [trigger],
      tasks: [{ key: 't', type: 'shell', command }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  };
  const disable = async (name: string, trigger: Record<string, unknown>, command = 'true') => {
    await platform.api('PUT', `/api/v1/jobs/${name}`, {
      name,
      triggers: [{ ...trigger, enabled: false }],
      tasks: [{ key: 't', type: 'shell', command }],
    });
  };
  const runs = async (job: string): Promise<RunSummary[]> =>
    (await platform.api('GET', `/api/v1/runs?job=${job}&limit=500`)).body.items.sort(
      (a: RunSummary, b: RunSummary) => Date.parse(a.logicalDate) - Date.parse(b.logicalDate),
    );
  const slots = async (job: string): Promise<Slot[]> =>
    (await platform.api('GET', `/api/v1/jobs/${job}/slots?limit=500`)).body.items.reverse();

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, localAgent: true, env: { BATON_LOCAL_AGENT_SLOTS: '8' } });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('fires fixedRate slots on the grid of its start time, each once, and records them', async () => {
    const startAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 250).toISOString();
    const trig = { type: 'fixedRate', every: '1s', startAt };
    await apply('rate', trig);
    await waitFor('three fixed-rate runs', async () => (await runs('rate')).length >= 3, 10_000);
    await disable('rate', trig);
    const all = await runs('rate');
    const dates = all.map((r) => Date.parse(r.logicalDate));
    for (const d of dates) expect((d - Date.parse(startAt)) % 1000).toBe(0);
    expect(new Set(dates).size).toBe(dates.length);
    expect(dates[dates.length - 1]! - dates[0]!).toBe((dates.length - 1) * 1000);
    const ledger = await slots('rate');
    expect(ledger.map((s) => s.outcome)).toEqual(all.map(() => 'fired'));
    expect(ledger.map((s) => s.runId)).toEqual(all.map((r) => r.id));
  });

  it('starts a fixedDelay run exactly its delay after the previous run ended', async () => {
    const trig = { type: 'fixedDelay', delay: '400ms' };
    await apply('delay', trig, 'sleep 0.3');
    const done = await waitFor(
      'three finished fixed-delay runs',
      async () => {
        const r = await runs('delay');
        return r.filter((x) => x.state === 'succeeded').length >= 3 ? r : null;
      },
      15_000,
    );
    await disable('delay', trig, 'sleep 0.3');
    for (let i = 1; i < 3; i++) {
      expect(Date.parse(done[i]!.logicalDate) - Date.parse(done[i - 1]!.finishedAt!)).toBe(400);
    }
  });

  it('fires a once trigger one time', async () => {
    const at = new Date(Date.now() + 1_000).toISOString();
    await apply('once', { type: 'once', at });
    await waitFor('the one run', async () => (await runs('once')).length === 1, 10_000);
    await new Promise((r) => setTimeout(r, 1_200));
    const all = await runs('once');
    expect(all.map((r) => r.logicalDate)).toEqual([new Date(Date.parse(at)).toISOString()]);
    const job = await platform.api('GET', '/api/v1/jobs/once');
    expect(job.body.triggers[0].nextFireAt).toBeNull();
  });

  it('applies overlap policies: skip, queue and cancel_previous', async () => {
    const base = { type: 'fixedRate', every: '1s' };
    await apply('ov-skip', { ...base, overlap: 'skip' }, 'sleep 2.2');
    await apply('ov-queue', { ...base, overlap: 'queue' }, 'sleep 1.5');
    await apply('ov-cancel', { ...base, overlap: 'cancel_previous' }, 'sleep 5');
    await new Promise((r) => setTimeout(r, 4_500));
    await disable('ov-skip', { ...base, overlap: 'skip' }, 'sleep 2.2');
    await disable('ov-queue', { ...base, overlap: 'queue' }, 'sleep 1.5');
    await disable('ov-cancel', { ...base, overlap: 'cancel_previous' }, 'sleep 5');

    const skip = await slots('ov-skip');
    expect(skip.some((s) => s.outcome === 'skipped_overlap')).toBe(true);
    expect(skip.filter((s) => s.outcome === 'skipped_overlap').every((s) => s.runId === null)).toBe(true);
    const skipRuns = await runs('ov-skip');
    expect(skipRuns.length).toBe(skip.filter((s) => s.outcome === 'fired').length);

    const queue = await slots('ov-queue');
    expect(queue.some((s) => s.outcome === 'queued_overlap')).toBe(true);
    const queued = await waitFor(
      'the queued runs to finish one after another',
      async () => {
        const r = await runs('ov-queue');
        return r.every((x) => x.state === 'succeeded') ? r : null;
      },
      30_000,
    );
    const spans = queued
      .map((r) => [Date.parse(r.startedAt!), Date.parse(r.finishedAt!)] as const)
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);

    const cancel = await slots('ov-cancel');
    expect(cancel.some((s) => s.outcome === 'cancelled_previous')).toBe(true);
    const cancelled = await runs('ov-cancel');
    expect(cancelled.filter((r) => r.state === 'cancelled').length).toBeGreaterThanOrEqual(1);
  });

  it('after downtime, follows each misfire policy and ledgers the slots that did not run', async () => {
    const base = { type: 'fixedRate', every: '1s' };
    await apply('mf-once', { ...base, misfire: 'fire_once' });
    await apply('mf-catch', { ...base, misfire: 'catch_up', catchUpLimit: 3 });
    await apply('mf-skip', { ...base, misfire: 'skip' });
    await waitFor(
      'each job to run once',
      async () => {
        for (const j of ['mf-once', 'mf-catch', 'mf-skip']) if ((await runs(j)).length === 0) return false;
        return true;
      },
      10_000,
    );
    // Down for 6 s: about 7 slots of each trigger pass, most beyond the 2 s on-time tolerance of the tests.
    await platform.restart({ downMs: 6_000 });
    await new Promise((r) => setTimeout(r, 1_500));
    for (const j of ['mf-once', 'mf-catch', 'mf-skip']) await disable(j, { ...base });
    const count = async (job: string, outcome: string) =>
      (await slots(job)).filter((s) => s.outcome === outcome).length;
    expect(await count('mf-once', 'caught_up')).toBe(1);
    expect(await count('mf-catch', 'caught_up')).toBe(3);
    expect(await count('mf-skip', 'caught_up')).toBe(0);
    for (const j of ['mf-once', 'mf-catch', 'mf-skip']) {
      const ledger = await slots(j);
      expect(ledger.filter((s) => s.outcome === 'misfired').length).toBeGreaterThan(0);
      // Every slot of the grid is accounted for exactly once.
      const times = ledger.map((s) => Date.parse(s.slot));
      expect(new Set(times).size).toBe(times.length);
      expect(times[times.length - 1]! - times[0]!).toBe((times.length - 1) * 1000);
    }
  });
});
