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
  trigger: { type: string };
}

describe.each(kinds)('cron triggers (%s)', (kind) => {
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

  it('creates exactly one run per due slot, on the bundled agent', async () => {
    const r = await platform.api('PUT', '/api/v1/jobs/ticker', {
      name: 'ticker',
      triggers: [{ type: 'cron', cron: '* * * * * *' }],
      tasks: [{ key: 'tick', type: 'shell', command: 'echo tick' }],
    });
    expect(r.status).toBe(201);
    const runs = await waitFor(
      'four cron runs',
      async () => {
        const l = await platform.api<{ items: RunSummary[] }>('GET', '/api/v1/runs?job=ticker&limit=100');
        return l.body.items.length >= 4 ? l.body.items : null;
      },
      15_000,
    );
    // Stop firing, then check the slots: each a whole second, none twice, none skipped.
    await platform.api('PUT', '/api/v1/jobs/ticker', {
      name: 'ticker',
      triggers: [{ type: 'cron', cron: '* * * * * *', enabled: false }],
      tasks: [{ key: 'tick', type: 'shell', command: 'echo tick' }],
    });
    const all = (await platform.api<{ items: RunSummary[] }>('GET', '/api/v1/runs?job=ticker&limit=100')).body.items;
    expect(all.length).toBeGreaterThanOrEqual(runs.length);
    const slots = all.map((x) => Date.parse(x.logicalDate)).sort((a, b) => a - b);
    expect(new Set(slots).size).toBe(slots.length);
    for (const s of slots) expect(s % 1000).toBe(0);
    expect((slots[slots.length - 1]! - slots[0]!) / 1000).toBe(slots.length - 1);
    expect(all.every((x) => x.trigger.type === 'cron')).toBe(true);
    await waitFor(
      'the cron runs to succeed',
      async () => {
        const l = await platform.api<{ items: RunSummary[] }>('GET', '/api/v1/runs?job=ticker&limit=100');
        return l.body.items.every((x) => x.state === 'succeeded');
      },
      15_000,
    );
  });

  it('creates a run ahead of its slot as scheduled, starts it at the slot, and lets it be cancelled before', async () => {
    const job = {
      name: 'early',
      triggers: [{ type: 'cron', cron: '*/4 * * * * *' }],
      tasks: [{ key: 'tick', type: 'shell', command: 'echo tick' }],
    };
    expect((await platform.api('PUT', '/api/v1/jobs/early', job)).status).toBe(201);
    interface RunView {
      id: string;
      state: string;
      logicalDate: string;
      createdAt: string;
      startedAt: string | null;
      tasks: Array<{ key: string; state: string; waitingReason: string | null; waitingUntil: string | null }>;
    }
    const scheduledRun = async () =>
      waitFor(
        'a scheduled run of early',
        async () => {
          const l = await platform.api<{ items: RunSummary[] }>('GET', '/api/v1/runs?job=early&state=scheduled');
          return l.body.items[0] ?? null;
        },
        15_000,
      );
    const first = await scheduledRun();
    const seen = (await platform.api<RunView>('GET', `/api/v1/runs/${first.id}`)).body;
    if (seen.state === 'scheduled') {
      // Every task waits for the slot, which the run names.
      expect(seen.startedAt).toBeNull();
      expect(seen.tasks).toEqual([
        expect.objectContaining({
          key: 'tick',
          state: 'pending',
          waitingReason: 'scheduled',
          waitingUntil: seen.logicalDate,
        }),
      ]);
    }
    const done = await waitFor(
      'the scheduled run to succeed',
      async () => {
        const r = (await platform.api<RunView>('GET', `/api/v1/runs/${first.id}`)).body;
        return r.state === 'succeeded' ? r : null;
      },
      15_000,
    );
    // Created before its slot, started at (never before) it.
    expect(Date.parse(done.createdAt)).toBeLessThan(Date.parse(done.logicalDate));
    expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done.logicalDate));

    // The next one is cancelled while it waits: its slot does not start it, nor another run in its place.
    const next = await waitFor(
      'the next scheduled run',
      async () => {
        const l = await platform.api<{ items: RunSummary[] }>('GET', '/api/v1/runs?job=early&state=scheduled');
        return l.body.items.find((x) => x.id !== first.id) ?? null;
      },
      15_000,
    );
    const cancelled = await platform.api<RunView>('POST', `/api/v1/runs/${next.id}/cancel`, { reason: 'not this one' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    expect(cancelled.body.tasks.map((t) => t.state)).toEqual(['cancelled']);
    // A run of a later slot succeeds: by then the cancelled slot has long passed.
    await waitFor(
      'a later run to succeed',
      async () => {
        const l = await platform.api<{ items: RunSummary[] }>('GET', '/api/v1/runs?job=early&limit=100');
        return l.body.items.some(
          (x) => x.state === 'succeeded' && Date.parse(x.logicalDate) > Date.parse(next.logicalDate),
        );
      },
      20_000,
    );
    await platform.api('PUT', '/api/v1/jobs/early', { ...job, triggers: [{ ...job.triggers[0], enabled: false }] });
    const all = (await platform.api<{ items: RunSummary[] }>('GET', '/api/v1/runs?job=early&limit=100')).body.items;
    expect(all.filter((x) => x.logicalDate === next.logicalDate).map((x) => x.state)).toEqual(['cancelled']);
  });

  it('previews fire times with the daylight-saving policy', async () => {
    const r = await platform.api('POST', '/api/v1/schedule/preview', {
      cron: '0 30 2 * * *',
      timezone: 'Europe/Berlin',
      from: '2026-03-28T00:00:00Z',
      count: 2,
    });
    expect(r.status).toBe(200);
    // 02:30 does not exist on 2026-03-29 in Berlin: it fires at 03:00 local (01:00Z).
    expect(r.body.fireTimes).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z']);
    const bad = await platform.api('POST', '/api/v1/schedule/preview', { cron: 'nope', count: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('count');
  });
});
