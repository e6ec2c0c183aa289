import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  type RawAgent,
  type TestDatabase,
  assigned,
  createTestDatabase,
  rawAgent,
  resultOf,
  runCli,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  waitFor,
  welcomed,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface TaskView {
  key: string;
  state: string;
  waitingReason: string | null;
  waitingUntil: string | null;
}

describe.each(kinds)('dispatch: fairness, limits and why a task waits (%s)', (kind) => {
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

  const agent = async (name: string, labels: string, token?: string) => {
    const a = startAgentProcess({
      server: platform.grpc,
      token: token ?? (await platform.agentToken()),
      name,
      labels,
      workDir: mkdtempSync(join(tmpdir(), `baton-${name}-`)),
    });
    agents.push(a);
    return a;
  };
  const put = async (def: Record<string, unknown>, headers?: Record<string, string>) => {
    const r = await platform.api('PUT', `/api/v1/jobs/${def.name as string}`, def, headers);
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  };
  const start = async (job: string, headers?: Record<string, string>) =>
    (await platform.api('POST', `/api/v1/jobs/${job}/runs`, {}, headers)).body.id as string;
  const run = async (id: string, headers?: Record<string, string>) =>
    (await platform.api('GET', `/api/v1/runs/${id}`, undefined, headers)).body as {
      state: string;
      tasks: TaskView[];
    };
  const task = async (id: string, key: string) => (await run(id)).tasks.find((t) => t.key === key)!;

  it("serves a tenant whose queue is small while another tenant's high-priority flood waits on its full agents", async () => {
    const flood = (await platform.api('POST', '/api/v1/tenants', { name: 'flood' })).body.adminToken as string;
    const asFlood = { authorization: `Bearer ${flood}` };
    const floodToken = (await platform.api('POST', '/api/v1/agent-tokens', { name: 'f' }, asFlood)).body.token;
    // The flood's only agent takes one task and keeps it: 299 high-priority tasks stay queued.
    const busy = rawAgent(platform.grpc, floodToken as string, 'busy');
    raws.push(busy);
    await welcomed(busy);
    await put(
      {
        name: 'flood',
        tasks: Array.from({ length: 300 }, (_, i) => ({
          key: `t${i}`,
          type: 'noop',
          priority: 100,
          agentSelector: { pool: 'busy' },
        })),
      },
      asFlood,
    );
    const floodRun = await start('flood', asFlood);
    const first = await assigned(busy);
    busy.send({ ack: { attemptId: first!.attemptId } });

    await agent('small', 'pool=small');
    await put({ name: 'small', tasks: [{ key: 'a', type: 'noop', agentSelector: { pool: 'small' } }] });
    const small = await start('small');
    await waitFor('the small tenant run', async () => (await run(small)).state === 'succeeded', 20_000);
    const f = await run(floodRun, asFlood);
    expect(f.tasks.filter((t) => t.state === 'queued')).toHaveLength(299);
    // And the flood says why it waits.
    expect(f.tasks.find((t) => t.state === 'queued')!.waitingReason).toBe('agents_full');
    expect((await platform.api('GET', '/api/v1/quota', undefined, asFlood)).body.dispatchWeight).toBe(1);
    await platform.api('POST', `/api/v1/runs/${floodRun}/cancel`, {}, asFlood);
  });

  it('enforces maxActiveRuns: runs beyond it wait their turn (job_max_active_runs) and start one after another', async () => {
    const gate = rawAgent(platform.grpc, await platform.agentToken(), 'gate', { slots: 5 });
    raws.push(gate);
    await welcomed(gate);
    await put({
      name: 'one-at-a-time',
      maxActiveRuns: 1,
      tasks: [{ key: 'a', type: 'noop', agentSelector: { pool: 'gate' } }],
    });
    const ids = [await start('one-at-a-time'), await start('one-at-a-time'), await start('one-at-a-time')];
    const firstOffer = await assigned(gate);
    expect((await run(ids[0]!)).state).toBe('running');
    for (const id of ids.slice(1)) {
      const r = await run(id);
      expect(r.state).toBe('queued');
      expect(r.tasks[0]!.waitingReason).toBe('job_max_active_runs');
    }
    // Five free slots, but only one offer: the second run has not started.
    await new Promise((r) => setTimeout(r, 300));
    expect(gate.of('assign')).toHaveLength(1);
    gate.send({ ack: { attemptId: firstOffer!.attemptId } });
    gate.send(resultOf(firstOffer!.attemptId));
    const second = await assigned(gate, 2);
    expect(second!.runId).toBe(ids[1]);
    expect((await run(ids[2]!)).state).toBe('queued');
    gate.send({ ack: { attemptId: second!.attemptId } });
    gate.send(resultOf(second!.attemptId));
    const third = await assigned(gate, 3);
    expect(third!.runId).toBe(ids[2]);
    gate.send({ ack: { attemptId: third!.attemptId } });
    gate.send(resultOf(third!.attemptId));
    await waitFor('the last run', async () => (await run(ids[2]!)).state === 'succeeded');
  });

  it('runs a task behind hundreds of queued tasks that no agent can take', async () => {
    const head = (await platform.api('POST', '/api/v1/tenants', { name: 'blocked-head' })).body.adminToken as string;
    const as = { authorization: `Bearer ${head}` };
    const token = (await platform.api('POST', '/api/v1/agent-tokens', { name: 'h' }, as)).body.token as string;
    await agent('head-agent', 'zone=here', token);
    // 300 tasks first in the queue (higher priority) that only an agent in zone=there could run: there is none.
    await put(
      {
        name: 'elsewhere',
        tasks: Array.from({ length: 300 }, (_, i) => ({
          key: `t${i}`,
          type: 'noop',
          priority: 9,
          agentSelector: { zone: 'there' },
        })),
      },
      as,
    );
    await put({ name: 'here', tasks: [{ key: 'go', type: 'noop' }] }, as);
    const stuck = await start('elsewhere', as);
    await waitFor('the unplaceable tasks queued', async () =>
      (await run(stuck, as)).tasks.every((t) => t.state === 'queued'),
    );
    const id = await start('here', as);
    await waitFor('the task behind them to succeed', async () => (await run(id, as)).state === 'succeeded', 30_000);
    const blocked = (await run(stuck, as)).tasks;
    expect(new Set(blocked.map((t) => t.waitingReason))).toEqual(new Set(['no_matching_agent']));
    await platform.api('POST', `/api/v1/runs/${stuck}/cancel`, {}, as);
  });

  it('says why each task waits, in the API and in `baton status`', async () => {
    await agent('narrow', 'pool=narrow');
    await put({
      name: 'backoff',
      tasks: [
        {
          key: 'flaky',
          type: 'shell',
          command: 'exit 1',
          retry: { maxAttempts: 2, backoff: 'fixed', delay: '1h' },
          agentSelector: { pool: 'narrow' },
        },
      ],
    });
    const retrying = await start('backoff');
    await waitFor('the retry to wait', async () => (await task(retrying, 'flaky')).state === 'up_for_retry');
    const flaky = await task(retrying, 'flaky');
    expect(flaky.waitingReason).toBe('retry_backoff');
    expect(Date.parse(flaky.waitingUntil!)).toBeGreaterThan(Date.now() + 3_000_000);

    await put({
      name: 'reasons',
      maxActiveTasks: 1,
      tasks: [
        { key: 'slow', type: 'shell', command: 'sleep 5', priority: 10, agentSelector: { pool: 'narrow' } },
        { key: 'capped', type: 'noop', agentSelector: { pool: 'narrow' } },
        { key: 'nowhere', type: 'noop', agentSelector: { pool: 'mars' } },
        { key: 'after', type: 'noop', dependsOn: ['slow'], agentSelector: { pool: 'narrow' } },
      ],
    });
    const id = await start('reasons');
    await waitFor('the slow task to run', async () => (await task(id, 'slow')).state === 'running');
    const why = Object.fromEntries((await run(id)).tasks.map((t) => [t.key, t.waitingReason]));
    expect(why).toEqual({
      slow: null,
      capped: 'run_max_active_tasks',
      nowhere: 'no_matching_agent',
      after: 'upstream',
    });

    const env = { BATON_SERVER: platform.url, BATON_TOKEN: platform.token };
    expect((await runCli(['status', id], env)).stdout).toMatch(/capped\s+queued\s+waiting: run_max_active_tasks/);
    expect((await runCli(['status', retrying], env)).stdout).toMatch(
      /flaky\s+up_for_retry.*waiting: retry_backoff until 20\d\d-/,
    );
    await platform.api('POST', `/api/v1/runs/${id}/cancel`, {});
    await platform.api('POST', `/api/v1/runs/${retrying}/cancel`, {});
  });

  it('shares a named pool of slots across runs, says pool_full, and keeps pools per tenant', async () => {
    expect((await platform.api('PUT', '/api/v1/pools/etl', { slots: 2, description: 'warehouse' })).status).toBe(201);
    expect((await platform.api('PUT', '/api/v1/pools/etl', { slots: 2 })).status).toBe(200);
    const bad = await platform.api('PUT', '/api/v1/pools/etl', { slots: -1 });
    expect([bad.status, bad.body.errors[0].path]).toEqual([400, 'slots']);
    expect((await platform.api('PUT', '/api/v1/pools/ETL', { slots: 1 })).body.errors[0].path).toBe('name');
    const viewer = (await platform.api('POST', '/api/v1/api-keys', { name: 'v', role: 'viewer' })).body.token as string;
    expect(
      (await platform.api('PUT', '/api/v1/pools/etl', { slots: 9 }, { authorization: `Bearer ${viewer}` })).status,
    ).toBe(403);
    const other = (await platform.api('POST', '/api/v1/tenants', { name: 'other-pools' })).body.adminToken as string;
    expect(
      (await platform.api('GET', '/api/v1/pools/etl', undefined, { authorization: `Bearer ${other}` })).status,
    ).toBe(404);

    const wide = rawAgent(platform.grpc, await platform.agentToken(), 'wide', { slots: 8 });
    raws.push(wide);
    await welcomed(wide);
    const task = (key: string) => ({ key, type: 'noop', pool: 'etl', agentSelector: { pool: 'wide' } });
    await put({ name: 'pooled-a', tasks: [task('a1'), task('a2'), task('a3')] });
    await put({ name: 'pooled-b', tasks: [task('b1')] });
    const a = await start('pooled-a');
    const b = await start('pooled-b');
    const first = [await assigned(wide, 1), await assigned(wide, 2)];
    await new Promise((r) => setTimeout(r, 300));
    // Eight free slots on the agent, two in the pool: two offers across both runs.
    expect(wide.of('assign')).toHaveLength(2);
    const view = (await platform.api('GET', '/api/v1/pools/etl')).body;
    expect(view).toMatchObject({ name: 'etl', slots: 2, usedSlots: 2, queuedTasks: 2, description: 'warehouse' });
    const waiting = [...(await run(a)).tasks, ...(await run(b)).tasks].filter((t) => t.state === 'queued');
    expect(waiting.map((t) => t.waitingReason)).toEqual(['pool_full', 'pool_full']);
    for (const o of first) {
      wide.send({ ack: { attemptId: o!.attemptId } });
      wide.send(resultOf(o!.attemptId));
    }
    for (let n = 3; n <= 4; n++) {
      const o = await assigned(wide, n);
      wide.send({ ack: { attemptId: o!.attemptId } });
      wide.send(resultOf(o!.attemptId));
    }
    await waitFor(
      'both pooled runs',
      async () => (await run(a)).state === 'succeeded' && (await run(b)).state === 'succeeded',
    );
    expect((await platform.api('GET', '/api/v1/pools')).body.items).toEqual([
      expect.objectContaining({ name: 'etl', usedSlots: 0, queuedTasks: 0 }),
    ]);
    const env = { BATON_SERVER: platform.url, BATON_TOKEN: platform.token };
    expect((await runCli(['pool', 'etl', '--slots', '3'], env)).stdout).toContain('pool etl: 0/3 slots in use');
    expect((await runCli(['pools'], env)).stdout).toMatch(/etl\s+0\/3\s+0\s+warehouse/);
    const wrong = await runCli(['pool', 'etl', '--slots', 'many'], env);
    expect([wrong.code, wrong.stderr]).toEqual([2, expect.stringContaining('--slots must be a whole number')]);
    expect((await platform.api('DELETE', '/api/v1/pools/etl')).status).toBe(200);
    expect((await platform.api('GET', '/api/v1/pools/etl')).status).toBe(404);
  });

  it('reports tenant_quota when the tenant runs as many tasks as its quota allows', async () => {
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'capped' });
    const as = { authorization: `Bearer ${t.body.adminToken as string}` };
    const set = await platform.api('PUT', `/api/v1/tenants/${t.body.id as string}/quota`, { maxRunningTasks: 1 });
    expect(set.body).toMatchObject({ maxRunningTasks: 1, dispatchWeight: 1 });
    // Omitted fields keep their value.
    const weight = await platform.api('PUT', `/api/v1/tenants/${t.body.id as string}/quota`, { dispatchWeight: 3 });
    expect(weight.body).toMatchObject({ maxRunningTasks: 1, dispatchWeight: 3 });
    const token = (await platform.api('POST', '/api/v1/agent-tokens', { name: 'c' }, as)).body.token as string;
    await agent('capped-agent', 'pool=capped', token);
    await put(
      {
        name: 'two',
        tasks: [
          { key: 'a', type: 'shell', command: 'sleep 2', agentSelector: { pool: 'capped' } },
          { key: 'b', type: 'shell', command: 'sleep 2', agentSelector: { pool: 'capped' } },
        ],
      },
      as,
    );
    const id = await start('two', as);
    const r = await waitFor('one running, one held by the quota', async () => {
      const v = await run(id, as);
      return v.tasks.some((x) => x.state === 'running') && v.tasks.some((x) => x.state === 'queued') ? v : null;
    });
    expect(r.tasks.find((x) => x.state === 'queued')!.waitingReason).toBe('tenant_quota');
    await waitFor('both to finish', async () => (await run(id, as)).state === 'succeeded', 20_000);
  });
});
