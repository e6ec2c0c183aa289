import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  type RawAgent,
  type TestDatabase,
  createTestDatabase,
  rawAgent,
  runCli,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  waitFor,
  welcomed,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

describe.each(kinds)('tenant quotas and usage (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const agents: AgentProcess[] = [];
  const raws: RawAgent[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
  });
  afterAll(async () => {
    for (const r of raws) r.close();
    for (const a of agents) await a.stop();
    await platform?.stop();
    await db?.drop();
  });

  /** A new tenant with the given quotas (set by the platform admin), its admin key's headers and agent. */
  const tenant = async (name: string, quota: Record<string, number | null>, agentSlots = 0) => {
    const t = await platform.api('POST', '/api/v1/tenants', { name });
    expect(t.status).toBe(201);
    const as = { authorization: `Bearer ${t.body.adminToken}` };
    const set = await platform.api('PUT', `/api/v1/tenants/${t.body.id}/quota`, quota);
    expect(set.status).toBe(200);
    let token = '';
    if (agentSlots > 0 || quota.maxAgents !== undefined) {
      token = (await platform.api('POST', '/api/v1/agent-tokens', { name }, as)).body.token;
    }
    if (agentSlots > 0) {
      agents.push(
        startAgentProcess({
          server: platform.grpc,
          token,
          name: `${name}-agent`,
          slots: agentSlots,
          workDir: mkdtempSync(join(tmpdir(), 'baton-q-')),
        }),
      );
    }
    return { id: t.body.id as string, as, token };
  };
  const runOf = async (as: Record<string, string>, id: string, done: (r: any) => boolean, what: string) =>
    waitFor(
      what,
      async () => {
        const r = await platform.api('GET', `/api/v1/runs/${id}`, undefined, as);
        return done(r.body) ? r.body : null;
      },
      30_000,
    );
  const spansOf = (runs: any[]) =>
    runs
      .flatMap((r) =>
        r.tasks.map((x: any) => [Date.parse(x.attempts[0].startedAt), Date.parse(x.attempts[0].finishedAt)]),
      )
      .sort((x: number[], y: number[]) => x[0]! - y[0]!);

  it('shows each quota against current use; only platform admins set them (audited); values are checked', async () => {
    const t = await tenant('quota-view', { maxRunningTasks: 1, maxJobs: 10, runsPerMinute: 100 });
    const view = await platform.api('GET', '/api/v1/quota', undefined, t.as);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ maxRunningTasks: 1, maxJobs: 10, usage: { runningTasks: 0, jobs: 0 } });
    expect(view.body.quotas.map((q: any) => q.name)).toEqual([
      'maxJobs',
      'runsPerMinute',
      'maxConcurrentRuns',
      'maxRunningTasks',
      'maxCpuMillis',
      'maxMemoryMb',
      'maxAgents',
      'maxBackfillSize',
    ]);
    expect(view.body.quotas.find((q: any) => q.name === 'maxAgents')).toMatchObject({ limit: null, used: 0 });

    // Only platform admins set quotas; the tenant's own admin may not, for itself or another tenant.
    expect((await platform.api('PUT', `/api/v1/tenants/${t.id}/quota`, { maxJobs: 99 }, t.as)).status).toBe(403);
    const bad = await platform.api('PUT', `/api/v1/tenants/${t.id}/quota`, { maxRunningTasks: 0 });
    expect([bad.status, bad.body.errors[0].path]).toEqual([400, 'maxRunningTasks']);
    const unknown = await platform.api('PUT', `/api/v1/tenants/${t.id}/quota`, { maxWidgets: 3 });
    expect(unknown.status).toBe(400);
    expect((await platform.api('PUT', '/api/v1/tenants/nope/quota', { maxJobs: 1 })).status).toBe(404);

    // A field left out keeps its value; null lifts it. The change is in the tenant's audit log.
    const lifted = await platform.api('PUT', `/api/v1/tenants/quota-view/quota`, { maxJobs: null });
    expect(lifted.body).toMatchObject({ maxJobs: null, maxRunningTasks: 1, runsPerMinute: 100 });
    const audit = await waitFor('the audit record', async () => {
      const r = await platform.api('GET', '/api/v1/audit?action=quota.changed', undefined, t.as);
      return r.body.items?.length >= 2 ? r.body.items : null;
    });
    expect(audit[0]).toMatchObject({
      action: 'quota.changed',
      detail: { changed: { maxJobs: { from: 10, to: null } } },
    });

    // Another tenant sees its own quota only.
    const other = await tenant('quota-other', {});
    expect((await platform.api('GET', '/api/v1/quota', undefined, other.as)).body).toMatchObject({
      tenantId: other.id,
      maxRunningTasks: null,
    });
  });

  it('runs no more of a tenant’s tasks at once than its quota, whatever its agents could take', async () => {
    const t = await tenant('quota-tasks', { maxRunningTasks: 1 }, 4);
    await platform.api(
      'PUT',
      '/api/v1/jobs/wide',
      { name: 'wide', tasks: ['a', 'b', 'c'].map((key) => ({ key, type: 'shell', command: 'sleep 0.4' })) },
      t.as,
    );
    const id = (await platform.api('POST', '/api/v1/jobs/wide/runs', {}, t.as)).body.id;
    const run = await runOf(t.as, id, (r) => r.state === 'succeeded', 'the run');
    const spans = spansOf([run]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  });

  it('holds tasks to the CPU quota, counting what each declares', async () => {
    const t = await tenant('quota-cpu', { maxCpuMillis: 1500 }, 4);
    await platform.api(
      'PUT',
      '/api/v1/jobs/heavy',
      {
        name: 'heavy',
        tasks: ['a', 'b'].map((key) => ({
          key,
          type: 'shell',
          command: 'sleep 0.4',
          resources: { cpuMillis: 1000 },
        })),
      },
      t.as,
    );
    const id = (await platform.api('POST', '/api/v1/jobs/heavy/runs', {}, t.as)).body.id;
    // While one holds 1000 of the 1500 millis, the other waits for the tenant's quota, and says so.
    await runOf(
      t.as,
      id,
      (r) => r.tasks.some((x: any) => x.state === 'queued' && x.waitingReason === 'tenant_quota'),
      'a task waiting for the CPU quota',
    );
    const run = await runOf(t.as, id, (r) => r.state === 'succeeded', 'the run');
    const [first, second] = spansOf([run]);
    expect(second![0]).toBeGreaterThanOrEqual(first![1]);
  });

  it('refuses the job past maxJobs with 409 naming the quota; editing a job is not creating one', async () => {
    const t = await tenant('quota-jobs', { maxJobs: 2 });
    const job = (name: string, command = 'true') => ({ name, tasks: [{ key: 'a', type: 'shell', command }] });
    expect((await platform.api('PUT', '/api/v1/jobs/one', job('one'), t.as)).status).toBe(201);
    expect((await platform.api('PUT', '/api/v1/jobs/two', job('two'), t.as)).status).toBe(201);
    const third = await platform.api('PUT', '/api/v1/jobs/three', job('three'), t.as);
    expect(third.status).toBe(409);
    expect(third.body).toMatchObject({ code: 'quota_exceeded', quota: 'maxJobs', limit: 2 });
    expect(third.body.detail).toContain('maxJobs');
    expect((await platform.api('PUT', '/api/v1/jobs/two', job('two', 'echo v2'), t.as)).status).toBe(200);
    expect((await platform.api('GET', '/api/v1/quota', undefined, t.as)).body.usage.jobs).toBe(2);
  });

  it('refuses a manual run over runsPerMinute with 429 and Retry-After; a trigger’s run waits and is never dropped', async () => {
    const t = await tenant('quota-rate', { runsPerMinute: 6 }, 2);
    await platform.api('PUT', '/api/v1/jobs/tick', { name: 'tick', tasks: [{ key: 'a', type: 'noop' }] }, t.as);
    // The bucket holds 6 (and refills one every 10 s): spend them all.
    const firstRun = await platform.api('POST', '/api/v1/jobs/tick/runs', { idempotencyKey: 'k1' }, t.as);
    expect(firstRun.status).toBe(201);
    for (let i = 1; i < 6; i++) {
      expect((await platform.api('POST', '/api/v1/jobs/tick/runs', {}, t.as)).status).toBe(201);
    }
    const over = await platform.api('POST', '/api/v1/jobs/tick/runs', {}, t.as);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ code: 'quota_exceeded', quota: 'runsPerMinute', limit: 6 });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The same idempotency key again finds its run: it costs no token and is not refused.
    const same = await platform.api('POST', '/api/v1/jobs/tick/runs', { idempotencyKey: 'k1' }, t.as);
    expect([same.status, same.body.id]).toEqual([200, firstRun.body.id]);
    const listed = await platform.api('GET', '/api/v1/runs?job=tick&limit=100', undefined, t.as);
    expect(listed.body.items).toHaveLength(6);

    // A trigger fires with the bucket empty: its request waits for a token and then becomes a run.
    const firedAt = Date.now() + 300;
    await platform.api(
      'PUT',
      '/api/v1/jobs/later',
      {
        name: 'later',
        triggers: [{ type: 'once', at: new Date(firedAt).toISOString() }],
        tasks: [{ key: 'a', type: 'noop' }],
      },
      t.as,
    );
    const run = await waitFor(
      'the trigger’s run',
      async () => {
        const r = await platform.api('GET', '/api/v1/runs?job=later', undefined, t.as);
        return r.body.items[0] ?? null;
      },
      30_000,
    );
    expect(run.trigger.type).toBe('once');
    // It waited for its token: created seconds after its slot (the next token was most of 10 s away).
    expect(Date.parse(run.createdAt) - firedAt).toBeGreaterThanOrEqual(3_000);
    await runOf(t.as, run.id, (r) => r.state === 'succeeded', 'the trigger’s run to succeed');
  });

  it('queues runs past maxConcurrentRuns with reason tenant_quota and starts them as others end', async () => {
    const t = await tenant('quota-runs', { maxConcurrentRuns: 1 }, 4);
    await platform.api(
      'PUT',
      '/api/v1/jobs/nap',
      { name: 'nap', tasks: [{ key: 'a', type: 'shell', command: 'sleep 0.5' }] },
      t.as,
    );
    await platform.api(
      'PUT',
      '/api/v1/jobs/doze',
      { name: 'doze', tasks: [{ key: 'a', type: 'shell', command: 'sleep 0.2' }] },
      t.as,
    );
    const first = (await platform.api('POST', '/api/v1/jobs/nap/runs', {}, t.as)).body;
    const second = (await platform.api('POST', '/api/v1/jobs/doze/runs', {}, t.as)).body;
    const third = (await platform.api('POST', '/api/v1/jobs/nap/runs', {}, t.as)).body;
    expect(first.state).toBe('running');
    expect(second.state).toBe('queued');
    expect(third.state).toBe('queued');
    expect(second.tasks[0].waitingReason).toBe('tenant_quota');
    const done = [];
    for (const r of [first, second, third]) done.push(await runOf(t.as, r.id, (x) => x.state === 'succeeded', 'runs'));
    // One at a time, oldest first.
    const spans = done.map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt)]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]!);
  });

  it('refuses the agent past maxAgents at Hello with RESOURCE_EXHAUSTED naming the quota; a reconnect is not refused', async () => {
    const t = await tenant('quota-agents', { maxAgents: 1 });
    const one = rawAgent(platform.grpc, t.token, 'quota-a1');
    raws.push(one);
    await welcomed(one);
    const two = rawAgent(platform.grpc, t.token, 'quota-a2');
    raws.push(two);
    const err = await waitFor('the refusal', async () => two.error);
    expect(err.code).toBe(8); // RESOURCE_EXHAUSTED
    expect(err.details).toContain('maxAgents');
    expect((await platform.api('GET', '/api/v1/quota', undefined, t.as)).body.usage.agents).toBe(1);
    // The connected agent itself may reconnect.
    one.close();
    const again = rawAgent(platform.grpc, t.token, 'quota-a1');
    raws.push(again);
    await welcomed(again);
  });

  it('refuses a backfill larger than maxBackfillSize with 400 naming the quota', async () => {
    const t = await tenant('quota-backfill', { maxBackfillSize: 3 });
    await platform.api(
      'PUT',
      '/api/v1/jobs/daily',
      {
        name: 'daily',
        triggers: [{ type: 'cron', cron: '0 0 3 * * *', timezone: 'UTC', enabled: false }],
        tasks: [{ key: 'a', type: 'noop' }],
      },
      t.as,
    );
    const range = (to: string) => ({ from: '2026-01-01T00:00:00Z', to, dryRun: true });
    const big = await platform.api('POST', '/api/v1/jobs/daily/backfills', range('2026-01-05T12:00:00Z'), t.as);
    expect(big.status).toBe(400);
    expect(big.body).toMatchObject({ code: 'quota_exceeded', quota: 'maxBackfillSize', limit: 3 });
    const fits = await platform.api('POST', '/api/v1/jobs/daily/backfills', range('2026-01-03T12:00:00Z'), t.as);
    expect(fits.status).toBe(200);
  });

  it('counts usage per day: runs, task-seconds, CPU-seconds measured on the agent, agent-hours; JSON and CSV', async () => {
    const t = await tenant('quota-usage', {}, 2);
    // About half a second of CPU in the shell itself (no sleep: wall time is CPU time here).
    const burn = 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done';
    await platform.api(
      'PUT',
      '/api/v1/jobs/burn',
      { name: 'burn', tasks: [{ key: 'a', type: 'shell', command: burn }] },
      t.as,
    );
    await platform.api(
      'PUT',
      '/api/v1/jobs/fail',
      { name: 'fail', tasks: [{ key: 'a', type: 'shell', command: 'exit 3' }] },
      t.as,
    );
    const ok = (await platform.api('POST', '/api/v1/jobs/burn/runs', {}, t.as)).body.id;
    const bad = (await platform.api('POST', '/api/v1/jobs/fail/runs', {}, t.as)).body.id;
    await runOf(t.as, ok, (r) => r.state === 'succeeded', 'the busy run');
    await runOf(t.as, bad, (r) => r.state === 'failed', 'the failing run');
    const today = new Date().toISOString().slice(0, 10);
    const usage = await waitFor('the CPU time in the usage', async () => {
      const r = await platform.api('GET', `/api/v1/usage?from=${today}&to=${today}`, undefined, t.as);
      return r.body.days?.[0]?.cpuSeconds > 0 ? r.body : null;
    });
    expect(usage.days).toHaveLength(1);
    const day = usage.days[0];
    expect(day).toMatchObject({ day: today, runsStarted: 2, runsSucceeded: 1, runsFailed: 1 });
    expect(day.taskSeconds).toBeGreaterThan(0.05);
    // Measured CPU of the task's process: real, and no more than the wall time it ran.
    expect(day.cpuSeconds).toBeGreaterThan(0.05);
    expect(day.cpuSeconds).toBeLessThanOrEqual(day.taskSeconds + 0.2);
    expect(day.agentHours).toBeGreaterThan(0);
    expect(usage.totals).toMatchObject({ runsStarted: 2, runsSucceeded: 1, runsFailed: 1 });

    const csv = await platform.api('GET', `/api/v1/usage?from=${today}&to=${today}&format=csv`, undefined, t.as);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = String(csv.body).trim().split(/\r?\n/);
    expect(lines[0]).toBe('day,runsStarted,runsSucceeded,runsFailed,taskSeconds,cpuSeconds,agentHours');
    expect(lines[1]).toMatch(new RegExp(`^${today},2,1,1,`));
    const accept = await platform.api('GET', `/api/v1/usage?from=${today}&to=${today}`, undefined, {
      ...t.as,
      accept: 'text/csv',
    });
    expect(accept.headers.get('content-type')).toContain('text/csv');

    // Another tenant's runs are not in this tenant's usage, nor the other way round.
    const other = await tenant('quota-usage-other', {});
    const theirs = await platform.api('GET', `/api/v1/usage?from=${today}&to=${today}`, undefined, other.as);
    expect(theirs.body.totals).toMatchObject({ runsStarted: 0, taskSeconds: 0, cpuSeconds: 0 });

    // Bad ranges are 400s naming the field.
    const backwards = await platform.api('GET', '/api/v1/usage?from=2026-02-01&to=2026-01-01', undefined, t.as);
    expect([backwards.status, backwards.body.errors[0].path]).toEqual([400, 'to']);
    const long = await platform.api('GET', '/api/v1/usage?from=2020-01-01&to=2026-01-01', undefined, t.as);
    expect([long.status, long.body.errors[0].path]).toEqual([400, 'from']);
    const junk = await platform.api('GET', '/api/v1/usage?from=yesterday', undefined, t.as);
    expect([junk.status, junk.body.errors[0].path]).toEqual([400, 'from']);
  });
  it('sets and shows quotas and usage from the CLI', async () => {
    const t = await tenant('quota-cli', {});
    const dir = mkdtempSync(join(tmpdir(), 'baton-q-cli-'));
    const admin = { BATON_SERVER: platform.url, BATON_TOKEN: platform.token, HOME: dir };
    const set = await runCli(['quota', 'set', 'quota-cli', '--max-jobs', '3', '--runs-per-minute', 'none'], admin, dir);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/maxJobs\s+3\s+0/);
    const bad = await runCli(['quota', 'set', 'quota-cli', '--max-agents', 'lots'], admin, dir);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--max-agents')]);
    const own = { ...admin, BATON_TOKEN: t.as.authorization.slice('Bearer '.length) };
    const shown = await runCli(['quota'], own, dir);
    expect(shown.stdout).toMatch(/maxJobs\s+3\s+0/);
    expect(shown.stdout).toMatch(/maxAgents\s+none/);
    // A tenant may not set its own quotas.
    expect((await runCli(['quota', 'set', 'quota-cli', '--max-jobs', '99'], own, dir)).code).not.toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    const csv = await runCli(['usage', '--from', today, '--to', today, '--csv'], own, dir);
    expect(csv.stdout.trim().split('\n')).toEqual([
      'day,runsStarted,runsSucceeded,runsFailed,taskSeconds,cpuSeconds,agentHours',
      `${today},0,0,0,0,0,0`,
    ]);
    const table = await runCli(['usage', '--from', today, '--to', today], own, dir);
    expect(table.stdout).toContain('total');
  });
});
