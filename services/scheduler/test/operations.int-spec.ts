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

  it('keeps the last 4 MiB of a long log and says the head was dropped', async () => {
    await agent('verbose');
    await platform.api('PUT', '/api/v1/jobs/verbose', {
      name: 'verbose',
      tasks: [{ key: 'spam', type: 'shell', command: 'seq 1 800000' }],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/verbose/runs', {})).body.id;
    await until(id, (r) => r.state === 'succeeded', 'the verbose run', 30_000);
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
