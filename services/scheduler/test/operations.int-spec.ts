import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  runCli,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

describe.each(kinds)('operating runs: cancel, rerun, mark, lost, timeouts, backfill (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const agents: AgentProcess[] = [];
  const work = mkdtempSync(join(tmpdir(), 'baton-ops-'));

  const agent = async (name: string, slots = 4) => {
    const a = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name,
      slots,
      workDir: join(work, name),
    });
    agents.push(a);
    await waitFor(`agent ${name}`, async () => {
      const r = await platform.api('GET', '/api/v1/agents');
      return r.body.items.some((x: { name: string; status: string }) => x.name === name && x.status === 'connected');
    });
    return a;
  };
  const apply = async (def: Record<string, unknown>) => {
    const r = await platform.api('PUT', `/api/v1/jobs/${def.name as string}`, def);
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
  };
  const run = (id: string) => platform.api('GET', `/api/v1/runs/${id}`).then((r) => r.body);
  const until = (id: string, pred: (r: any) => boolean, what: string, ms = 20_000) =>
    waitFor(
      what,
      async () => {
        const r = await run(id);
        return pred(r) ? r : null;
      },
      ms,
    );
  const task = (r: any, key: string) => r.tasks.find((t: { key: string }) => t.key === key);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('cancels a run: the agent stops the process and nothing downstream runs', async () => {
    const a = await agent('canceller');
    await apply({
      name: 'long',
      tasks: [
        { key: 'sleep', type: 'shell', command: 'echo started; sleep 30' },
        { key: 'after', type: 'noop', dependsOn: ['sleep'] },
      ],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/long/runs', {})).body.id;
    await until(id, (r) => task(r, 'sleep').state === 'running', 'the task to start');
    const c = await platform.api('POST', `/api/v1/runs/${id}/cancel`, { reason: 'test over' });
    expect(c.status).toBe(200);
    expect(c.body.state).toBe('cancelled');
    expect(c.body.tasks.map((t: { state: string }) => t.state)).toEqual(['cancelled', 'cancelled']);
    await waitFor('the agent to report the kill', async () => /CANCELLED|cancelled/.test(a.output()), 10_000);
    expect((await platform.api('POST', `/api/v1/runs/${id}/cancel`, {})).status).toBe(409);
  });

  it("reruns a failed run's failed task and its downstream, keeping what succeeded", async () => {
    await agent('rerunner');
    const flag = join(work, 'fixed');
    await apply({
      name: 'fixable',
      tasks: [
        { key: 'first', type: 'shell', command: 'echo once' },
        { key: 'fragile', type: 'shell', command: `test -f ${flag}`, dependsOn: ['first'] },
        { key: 'last', type: 'noop', dependsOn: ['fragile'] },
      ],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/fixable/runs', {})).body.id;
    const failed = await until(id, (r) => r.state === 'failed', 'the run to fail');
    expect(task(failed, 'last').state).toBe('upstream_failed');
    writeFileSync(flag, '');
    const again = await platform.api('POST', `/api/v1/runs/${id}/rerun`, { mode: 'failed' });
    expect(again.status).toBe(201);
    expect(again.body.parentRunId).toBe(id);
    const done = await until(again.body.id, (x) => x.state !== 'running', 'the rerun');
    expect(done.state).toBe('succeeded');
    expect(task(done, 'first').attempts).toEqual([]); // carried over, not re-executed
    expect(task(done, 'first').state).toBe('succeeded');
    expect(task(done, 'fragile').attempts).toHaveLength(1);
    expect((await platform.api('POST', `/api/v1/runs/${again.body.id}/rerun`, { mode: 'failed' })).status).toBe(409);
  });

  it('holds a lost attempt of a non-idempotent task for an operator, who marks it succeeded', async () => {
    const victim = await agent('victim');
    await apply({
      name: 'payment',
      tasks: [
        { key: 'charge', type: 'shell', command: 'sleep 20', retry: { maxAttempts: 3 } },
        { key: 'receipt', type: 'noop', dependsOn: ['charge'] },
      ],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/payment/runs', {})).body.id;
    await until(id, (r) => task(r, 'charge').state === 'running', 'the charge to start');
    await victim.kill('SIGKILL');
    const held = await until(id, (r) => task(r, 'charge').state === 'lost', 'the attempt to be lost');
    expect(held.state).toBe('running');
    expect(task(held, 'charge').attempts).toHaveLength(1); // not re-run blindly
    expect(task(held, 'receipt').state).toBe('pending');
    await agent('rescuer');
    const marked = await platform.api('POST', `/api/v1/runs/${id}/tasks/charge/mark`, { state: 'succeeded' });
    expect(marked.status).toBe(200);
    const done = await until(id, (r) => r.state !== 'running', 'the run to finish');
    expect(done.state).toBe('succeeded');
    expect(task(done, 'receipt').state).toBe('succeeded');
    expect((await platform.api('POST', `/api/v1/runs/${id}/tasks/charge/mark`, { state: 'skipped' })).status).toBe(409);
  });

  it('times out a task on the agent (SIGTERM, then SIGKILL) and retries it', async () => {
    await agent('timer');
    await apply({
      name: 'slow',
      tasks: [
        {
          key: 'nap',
          type: 'shell',
          command: 'trap "" TERM; sleep 10',
          timeout: '500ms',
          retry: { maxAttempts: 2, backoff: 'immediate' },
        },
      ],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/slow/runs', {})).body.id;
    const done = await until(id, (r) => r.state !== 'running', 'the run to time out', 30_000);
    expect(done.state).toBe('failed');
    expect(task(done, 'nap').state).toBe('timed_out');
    expect(task(done, 'nap').attempts.map((a: { state: string }) => a.state)).toEqual(['timed_out', 'timed_out']);
  });

  it('backfills the slots of a cron trigger with a dry run first, at most maxActiveRuns at a time', async () => {
    await agent('filler');
    await apply({
      name: 'daily',
      triggers: [{ type: 'cron', cron: '0 0 3 * * *', timezone: 'UTC', enabled: false }],
      tasks: [{ key: 'load', type: 'shell', command: 'echo "loading $BATON_LOGICAL_DATE"; sleep 0.2' }],
    });
    const range = { from: '2026-01-01T00:00:00Z', to: '2026-01-04T12:00:00Z' };
    const dry = await platform.api('POST', '/api/v1/jobs/daily/backfills', { ...range, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.slots.map((s: { logicalDate: string }) => s.logicalDate)).toEqual([
      '2026-01-01T03:00:00.000Z',
      '2026-01-02T03:00:00.000Z',
      '2026-01-03T03:00:00.000Z',
      '2026-01-04T03:00:00.000Z',
    ]);
    expect(dry.body.slots.every((s: { existingRun: unknown }) => s.existingRun === null)).toBe(true);
    const b = await platform.api('POST', '/api/v1/jobs/daily/backfills', { ...range, maxActiveRuns: 2 });
    expect(b.status).toBe(201);
    const done = await waitFor(
      'the backfill',
      async () => {
        const g = await platform.api('GET', `/api/v1/backfills/${b.body.id}`);
        return g.body.state === 'succeeded' ? g.body : null;
      },
      30_000,
    );
    expect(done.runs).toEqual({ succeeded: 4 });
    const runs = (await platform.api('GET', '/api/v1/runs?job=daily')).body.items;
    expect(runs.map((r: { logicalDate: string }) => r.logicalDate).sort()).toEqual(
      dry.body.slots.map((s: { logicalDate: string }) => s.logicalDate),
    );
    // At most two ran at once.
    const spans = await Promise.all(runs.map((r: { id: string }) => run(r.id)));
    const edges = spans.flatMap((s) => [
      [Date.parse(s.startedAt), 1],
      [Date.parse(s.finishedAt), -1],
    ]);
    edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]); // an end before a start at the same instant
    let live = 0;
    let peak = 0;
    for (const [, d] of edges) peak = Math.max(peak, (live += d));
    expect(peak).toBe(2);
    // Slots that ran are listed with their runs, and are not run twice.
    const again = await platform.api('POST', '/api/v1/jobs/daily/backfills', { ...range, dryRun: true });
    expect(
      again.body.slots.every((s: { existingRun: { state: string } }) => s.existingRun?.state === 'succeeded'),
    ).toBe(true);
    const bad = await platform.api('POST', '/api/v1/jobs/daily/backfills', { from: range.to, to: range.from });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('to');
  });

  it('skips dates that already have a run unless rerunExisting, and puts backfill runs in the slot ledger', async () => {
    await agent('refiller');
    await apply({
      name: 'ledgered',
      triggers: [{ type: 'cron', cron: '0 0 3 * * *', timezone: 'UTC', enabled: false }],
      tasks: [{ key: 'load', type: 'shell', command: 'echo "loading $BATON_LOGICAL_DATE"' }],
    });
    const [d1, d2, d3] = ['2026-02-01T03:00:00.000Z', '2026-02-02T03:00:00.000Z', '2026-02-03T03:00:00.000Z'];
    const range = { from: '2026-02-01T00:00:00Z', to: '2026-02-03T12:00:00Z' };
    const backfill = (extra: Record<string, unknown>) =>
      platform.api('POST', '/api/v1/jobs/ledgered/backfills', { ...range, maxActiveRuns: 3, ...extra });
    const finished = (id: string) =>
      waitFor(
        `backfill ${id}`,
        async () => {
          const g = await platform.api('GET', `/api/v1/backfills/${id}`);
          return g.body.state === 'running' ? null : g.body;
        },
        30_000,
      );
    const runsByDate = async () => {
      const items = (await platform.api('GET', '/api/v1/runs?job=ledgered&limit=100')).body.items as Array<{
        id: string;
        logicalDate: string;
        trigger: { type: string };
      }>;
      const out: Record<string, string[]> = {};
      for (const r of [...items].reverse()) (out[r.logicalDate] ??= []).push(r.trigger.type);
      return { items, byDate: out };
    };
    const ledger = async () =>
      Object.fromEntries(
        (
          (await platform.api('GET', '/api/v1/jobs/ledgered/slots')).body.items as Array<{
            slot: string;
            outcome: string;
            runId: string;
          }>
        ).map((s) => [s.slot, { outcome: s.outcome, runId: s.runId }]),
      );

    // The 2nd of February already has a run (a manual one, not the trigger's).
    const manual = await platform.api('POST', '/api/v1/jobs/ledgered/runs', { logicalDate: d2 });
    expect(manual.status).toBe(201);
    await until(manual.body.id, (r) => r.state === 'succeeded', 'the manual run');

    const dry = await backfill({ dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ rerunExisting: false, toRun: 2, skipped: 1 });
    expect(dry.body.slots).toEqual([
      { logicalDate: d1, existingRun: null, action: 'run' },
      { logicalDate: d2, existingRun: { id: manual.body.id, state: 'succeeded' }, action: 'skip' },
      { logicalDate: d3, existingRun: null, action: 'run' },
    ]);

    const first = await backfill({});
    expect(first.status).toBe(201);
    const done = await finished(first.body.id);
    expect(done).toMatchObject({ state: 'succeeded', slots: 3, started: 2, skipped: 1, runs: { succeeded: 2 } });
    expect(done.skippedSlots).toEqual([d2]);
    let runs = await runsByDate();
    expect(runs.byDate).toEqual({ [d1]: ['backfill'], [d2]: ['manual'], [d3]: ['backfill'] });
    const idOf = (date: string, type: string) =>
      runs.items.find((r) => r.logicalDate === date && r.trigger.type === type)!.id;
    expect(await ledger()).toEqual({
      [d1]: { outcome: 'backfilled', runId: idOf(d1, 'backfill') },
      [d3]: { outcome: 'backfilled', runId: idOf(d3, 'backfill') },
    });

    // Again: every date has a run now, so nothing runs and the backfill is done at once.
    const again = await backfill({});
    expect(again.status).toBe(201);
    const none = await finished(again.body.id);
    expect(none).toMatchObject({ state: 'succeeded', started: 0, skipped: 3 });
    expect(none.runs).toEqual({});

    // With rerunExisting every date gets a new run, and the ledger points at it.
    const dryRerun = await backfill({ dryRun: true, rerunExisting: true });
    expect(dryRerun.body.slots.map((s: { action: string }) => s.action)).toEqual(['rerun', 'rerun', 'rerun']);
    expect(dryRerun.body).toMatchObject({ toRun: 3, skipped: 0 });
    const rerun = await backfill({ rerunExisting: true });
    expect(await finished(rerun.body.id)).toMatchObject({
      state: 'succeeded',
      rerunExisting: true,
      started: 3,
      skipped: 0,
      runs: { succeeded: 3 },
    });
    runs = await runsByDate();
    expect(runs.byDate).toEqual({
      [d1]: ['backfill', 'backfill'],
      [d2]: ['manual', 'backfill'],
      [d3]: ['backfill', 'backfill'],
    });
    const slots = await ledger();
    const rerunIds = new Set(
      (await platform.api('GET', '/api/v1/runs?job=ledgered&limit=100')).body.items
        .filter((r: { backfillId: string | null }) => r.backfillId === rerun.body.id)
        .map((r: { id: string }) => r.id),
    );
    expect(Object.keys(slots).sort()).toEqual([d1, d2, d3]);
    for (const s of Object.values(slots)) {
      expect(s.outcome).toBe('backfilled');
      expect(rerunIds.has(s.runId)).toBe(true);
    }

    // The CLI shows the same: skipped dates in the dry run, backfilled slots in the ledger.
    const env = { BATON_SERVER: platform.url, BATON_TOKEN: platform.token };
    const cliDry = await runCli(['backfill', 'ledgered', '--from', range.from, '--to', range.to, '--dry-run'], env);
    expect(cliDry.code, cliDry.stderr).toBe(0);
    expect(cliDry.stdout).toMatch(new RegExp(`${d2.replace(/\./g, '\\.')}\\s+skip\\s+\\S+ succeeded`));
    expect(cliDry.stdout).toContain('3 slots: 0 to run, 3 skipped');
    const cliSlots = await runCli(['slots', 'ledgered'], env);
    expect(cliSlots.stdout.match(/backfilled/g)).toHaveLength(3);
  });

  it('keeps the last 4 MiB of a long log and says the head was dropped', async () => {
    await agent('verbose');
    await platform.api('PUT', '/api/v1/jobs/verbose', {
      name: 'verbose',
      tasks: [{ key: 'spam', type: 'shell', command: 'seq 1 800000' }],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/verbose/runs', {})).body.id;
    // ~6 MB of output through the agent's log stream: generous under a loaded machine (CI), not a speed check.
    await until(id, (r) => r.state === 'succeeded', 'the verbose run', 100_000);
    const text = (await platform.api('GET', `/api/v1/runs/${id}/tasks/spam/logs`)).body as string;
    expect(text.startsWith('[baton: earlier output was dropped')).toBe(true);
    expect(text.endsWith('799999\n800000\n')).toBe(true);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4 * 1024 * 1024 + 200);
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 * 1024 * 1024);
  });

  it('follows a task log live with baton logs --follow', async () => {
    await agent('talker');
    await apply({
      name: 'chatty',
      tasks: [{ key: 'talk', type: 'shell', command: 'for i in 1 2 3; do echo line $i; sleep 0.3; done' }],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/chatty/runs', {})).body.id;
    const r = await runCli(['logs', id, 'talk', '--follow'], {
      BATON_SERVER: platform.url,
      BATON_TOKEN: platform.token,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('line 1\nline 2\nline 3\n');
  });
});
