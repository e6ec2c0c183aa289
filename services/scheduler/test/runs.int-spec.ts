import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface Attempt {
  number: number;
  state: string;
  agent: string;
  startedAt: string | null;
  finishedAt: string | null;
}
interface Task {
  key: string;
  state: string;
  attemptsUsed: number;
  exitCode: number | null;
  output: unknown;
  attempts: Attempt[];
  startedAt: string | null;
  finishedAt: string | null;
}
interface Run {
  id: string;
  state: string;
  tasks: Task[];
}

describe.each(kinds)('runs on real agents over gRPC (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const agents: AgentProcess[] = [];
  const work = mkdtempSync(join(tmpdir(), 'baton-agents-'));

  const agent = async (name: string, labels?: string) => {
    const a = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name,
      labels,
      workDir: join(work, name),
    });
    agents.push(a);
    await waitFor(`agent ${name} connected`, async () => {
      const r = await platform.api<{ items: Array<{ name: string; status: string }> }>('GET', '/api/v1/agents');
      return r.body.items.some((x) => x.name === name && x.status === 'connected');
    });
    return a;
  };

  const apply = async (def: Record<string, unknown>) => {
    const r = await platform.api('PUT', `/api/v1/jobs/${def.name as string}`, def);
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
  };

  const runAndWait = async (job: string, timeoutMs = 30_000): Promise<Run> => {
    const r = await platform.api<Run>('POST', `/api/v1/jobs/${job}/runs`, {});
    expect(r.status).toBe(201);
    return waitFor(
      `run of ${job} to finish`,
      async () => {
        const g = await platform.api<Run>('GET', `/api/v1/runs/${r.body.id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(g.body.state) ? g.body : null;
      },
      timeoutMs,
    );
  };

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

  it('runs a 3-task chain in order and keeps each task output and log', async () => {
    await agent('chain-a');
    await apply({
      name: 'chain',
      tasks: [
        { key: 'extract', type: 'shell', command: 'echo extracting; echo \'{"rows": 3}\' > "$BATON_OUTPUT"' },
        { key: 'transform', type: 'shell', command: 'sleep 0.2; echo transforming', dependsOn: ['extract'] },
        { key: 'load', type: 'shell', command: 'echo loading', dependsOn: ['transform'] },
      ],
    });
    const run = await runAndWait('chain');
    expect(run.state).toBe('succeeded');
    expect(run.tasks.map((t) => [t.key, t.state])).toEqual([
      ['extract', 'succeeded'],
      ['transform', 'succeeded'],
      ['load', 'succeeded'],
    ]);
    const [e, t, l] = run.tasks as [Task, Task, Task];
    expect(Date.parse(t.startedAt!)).toBeGreaterThanOrEqual(Date.parse(e.finishedAt!));
    expect(Date.parse(l.startedAt!)).toBeGreaterThanOrEqual(Date.parse(t.finishedAt!));
    expect(e.output).toEqual({ rows: 3 });
    const log = await platform.api<string>('GET', `/api/v1/runs/${run.id}/tasks/transform/logs`);
    expect(log.status).toBe(200);
    expect(log.body).toContain('transforming');
  });

  it('retries a failing task per its policy and fails the run after the last attempt', async () => {
    await agent('retry-a');
    await apply({
      name: 'flaky',
      tasks: [
        {
          key: 'boom',
          type: 'shell',
          command: 'echo "try $BATON_ATTEMPT"; exit 3',
          retry: { maxAttempts: 3, backoff: 'fixed', delay: '200ms' },
        },
        { key: 'after', type: 'noop', dependsOn: ['boom'] },
      ],
    });
    const run = await runAndWait('flaky');
    expect(run.state).toBe('failed');
    const boom = run.tasks.find((t) => t.key === 'boom')!;
    expect(boom.state).toBe('failed');
    expect(boom.exitCode).toBe(3);
    expect(boom.attempts.map((a) => [a.number, a.state])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
    ]);
    // The fixed delay separates the attempts.
    for (let i = 1; i < 3; i++) {
      expect(
        Date.parse(boom.attempts[i]!.startedAt!) - Date.parse(boom.attempts[i - 1]!.finishedAt!),
      ).toBeGreaterThanOrEqual(150);
    }
    expect(run.tasks.find((t) => t.key === 'after')!.state).toBe('upstream_failed');
    const log2 = await platform.api<string>('GET', `/api/v1/runs/${run.id}/tasks/boom/logs?attempt=2`);
    expect(log2.body).toContain('try 2');
  });

  it('marks the attempt lost when its agent is SIGKILLed and finishes the idempotent task on a second agent', async () => {
    const first = await agent('victim');
    await apply({
      name: 'survivor',
      tasks: [
        {
          key: 'work',
          type: 'shell',
          command: 'sleep 2; echo done on $BATON_ATTEMPT',
          idempotent: true,
          retry: { maxAttempts: 2, backoff: 'immediate' },
        },
      ],
    });
    const started = await platform.api<Run>('POST', '/api/v1/jobs/survivor/runs', {});
    await waitFor('the task to run on the first agent', async () => {
      const g = await platform.api<Run>('GET', `/api/v1/runs/${started.body.id}`);
      return g.body.tasks[0]!.state === 'running';
    });
    await first.kill('SIGKILL');
    await agent('rescuer');
    const run = await waitFor(
      'the run to finish',
      async () => {
        const g = await platform.api<Run>('GET', `/api/v1/runs/${started.body.id}`);
        return g.body.state === 'succeeded' || g.body.state === 'failed' ? g.body : null;
      },
      30_000,
    );
    expect(run.state).toBe('succeeded');
    expect(run.tasks[0]!.attempts.map((a) => [a.agent, a.state])).toEqual([
      ['victim', 'lost'],
      ['rescuer', 'succeeded'],
    ]);
  });

  it('returns the same run for a reused idempotency key', async () => {
    await apply({ name: 'idem', tasks: [{ key: 'a', type: 'noop' }] });
    const body = { idempotencyKey: 'order-42', params: { order: 42 } };
    const a = await platform.api<Run>('POST', '/api/v1/jobs/idem/runs', body);
    const b = await platform.api<Run>('POST', '/api/v1/jobs/idem/runs', body);
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    const list = await platform.api<{ items: Run[] }>('GET', '/api/v1/runs?job=idem');
    expect(list.body.items).toHaveLength(1);
    const c = await platform.api<Run>('POST', '/api/v1/jobs/idem/runs', { idempotencyKey: 'order-43' });
    expect(c.status).toBe(201);
    expect(c.body.id).not.toBe(a.body.id);
  });

  it('routes tasks by agent labels', async () => {
    await agent('zone-a', 'zone=a');
    await agent('zone-b', 'zone=b');
    await apply({
      name: 'placed',
      tasks: [
        { key: 'on-b', type: 'shell', command: 'true', agentSelector: { zone: 'b' } },
        { key: 'on-a', type: 'shell', command: 'true', agentSelector: { zone: 'a' }, dependsOn: ['on-b'] },
      ],
    });
    const run = await runAndWait('placed');
    expect(run.state).toBe('succeeded');
    expect(run.tasks.map((t) => [t.key, t.attempts[0]!.agent])).toEqual([
      ['on-b', 'zone-b'],
      ['on-a', 'zone-a'],
    ]);
  });

  it('rejects an agent with a bad token and lists the connected ones', async () => {
    const bad = startAgentProcess({
      server: platform.grpc,
      token: 'bat_agt_not-a-real-token',
      name: 'intruder',
      workDir: join(work, 'intruder'),
    });
    agents.push(bad);
    await waitFor(
      'the rejection to be logged',
      async () => /rejected|UNAUTHENTICATED|unknown or revoked/i.test(bad.output()),
      10_000,
    );
    const list = await platform.api<{ items: Array<{ name: string }> }>('GET', '/api/v1/agents');
    expect(list.body.items.map((a) => a.name)).not.toContain('intruder');
  });

  it('exports Prometheus metrics of tasks, runs, agents and this process', async () => {
    const res = await fetch(`${platform.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('baton_tasks{state="succeeded"}')).toBeGreaterThanOrEqual(3);
    expect(value('baton_runs{state="failed"}')).toBeGreaterThanOrEqual(1);
    // Counters are labelled by tenant now: the platform's total is their sum.
    const assigned = [...text.matchAll(/^baton_assigned_total\{tenant="[^"]+"\} (\S+)$/gm)].map((m) => Number(m[1]));
    expect(assigned.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(value('baton_attempts_total{outcome="succeeded"}')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE baton_agents_connected gauge');
  });

  it('measures schedule delay over time-triggered runs only: a dependency run for an 11-day-old date does not count', async () => {
    await agent('delay-agent');
    const elevenDaysAgo = new Date(Date.now() - 11 * 86_400_000).toISOString();
    await apply({ name: 'delay-upstream', tasks: [{ key: 'n', type: 'noop' }] });
    await apply({
      name: 'delay-downstream',
      triggers: [{ type: 'dependency', jobs: ['delay-upstream'] }],
      tasks: [{ key: 'n', type: 'noop' }],
    });
    await apply({
      name: 'delay-once',
      triggers: [{ type: 'once', at: new Date(Date.now() + 1_500).toISOString() }],
      tasks: [{ key: 'n', type: 'noop' }],
    });
    const up = await platform.api('POST', '/api/v1/jobs/delay-upstream/runs', { logicalDate: elevenDaysAgo });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const runsOf = async (job: string) =>
      (await platform.api('GET', `/api/v1/runs?job=${job}`)).body.items as Array<{
        logicalDate: string;
        state: string;
        trigger: { type: string };
      }>;
    const [dependent] = await waitFor('the dependency run', async () => {
      const items = await runsOf('delay-downstream');
      return items.length > 0 ? items : null;
    });
    expect([dependent!.trigger.type, dependent!.logicalDate]).toEqual(['dependency', elevenDaysAgo]);
    // Created ahead of its slot (scheduled), its delay counts once it starts.
    await waitFor('the once run to start', async () =>
      (await runsOf('delay-once')).some((r) => r.trigger.type === 'once' && r.state !== 'scheduled'),
    );

    const text = await (await fetch(`${platform.url}/metrics`)).text();
    const sample = (series: string) =>
      Number(
        new RegExp(`^baton_schedule_delay_seconds_${series.replace(/[{}".]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1],
      );
    const once = (await platform.api('GET', '/api/v1/runs?job=delay-once')).body.items.length as number;
    // The once run was on time (a histogram by tenant and job); the dependency run (delay ~950,400 s) and the
    // manual one are no schedule delay and have no series.
    const tenant = /^baton_schedule_delay_seconds_count\{tenant="([^"]+)",job_name="delay-once"\}/m.exec(text)?.[1];
    expect(tenant, text).toBeDefined();
    expect(sample(`count{tenant="${tenant}",job_name="delay-once"}`)).toBe(once);
    expect(sample(`bucket{tenant="${tenant}",job_name="delay-once",le="60"}`)).toBe(once);
    expect(text).not.toMatch(/^baton_schedule_delay_seconds_count\{[^}]*job_name="delay-(downstream|upstream)"/m);
  });

  it('answers 404 for unknown runs and 401 without a token', async () => {
    expect((await platform.api('GET', '/api/v1/runs/01a20000-0000-7000-8000-000000000000')).status).toBe(404);
    const anon = await fetch(`${platform.url}/api/v1/runs`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('content-type')).toContain('application/problem+json');
  });
});
