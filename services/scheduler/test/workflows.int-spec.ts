import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
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

describe.each(kinds)('workflow semantics on real agents (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let http: Server;
  let httpUrl = '';
  const agents: AgentProcess[] = [];
  const work = mkdtempSync(join(tmpdir(), 'baton-wf-'));

  const agent = async (name: string, opts: { slots?: number; labels?: string } = {}) => {
    const a = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name,
      workDir: join(work, name),
      ...opts,
    });
    agents.push(a);
    await waitFor(`agent ${name}`, async () => {
      const r = await platform.api('GET', '/api/v1/agents');
      return r.body.items.some((x: { name: string; status: string }) => x.name === name && x.status === 'connected');
    });
    return a;
  };
  const runJob = async (def: Record<string, unknown>, body: Record<string, unknown> = {}) => {
    const put = await platform.api('PUT', `/api/v1/jobs/${def.name as string}`, def);
    expect([200, 201], JSON.stringify(put.body)).toContain(put.status);
    const r = await platform.api('POST', `/api/v1/jobs/${def.name as string}/runs`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return waitFor(
      `run of ${def.name as string}`,
      async () => {
        const g = await platform.api('GET', `/api/v1/runs/${r.body.id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(g.body.state) ? g.body : null;
      },
      30_000,
    );
  };
  const states = (run: any) =>
    Object.fromEntries(run.tasks.map((t: { key: string; state: string }) => [t.key, t.state]));
  const log = async (run: any, key: string) =>
    (await platform.api('GET', `/api/v1/runs/${run.id}/tasks/${key}/logs`)).body as string;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
    http = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, path: req.url, auth: req.headers['x-day'] ?? null, echo: body }));
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const addr = http.address();
    httpUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    http?.close();
  });

  it('applies every trigger rule the way Airflow does', async () => {
    await agent('rules');
    const run = await runJob({
      name: 'rules',
      tasks: [
        { key: 'ok', type: 'shell', command: 'true' },
        { key: 'bad', type: 'shell', command: 'exit 1' },
        { key: 'all_success', type: 'noop', dependsOn: ['ok', 'bad'] },
        { key: 'all_done', type: 'noop', dependsOn: ['ok', 'bad'], triggerRule: 'all_done' },
        { key: 'one_success', type: 'noop', dependsOn: ['ok', 'bad'], triggerRule: 'one_success' },
        { key: 'one_failed', type: 'noop', dependsOn: ['ok', 'bad'], triggerRule: 'one_failed' },
        { key: 'all_failed', type: 'noop', dependsOn: ['ok', 'bad'], triggerRule: 'all_failed' },
        { key: 'none_failed', type: 'noop', dependsOn: ['ok', 'bad'], triggerRule: 'none_failed' },
        { key: 'after_skip', type: 'noop', dependsOn: ['all_failed'] },
      ],
    });
    expect(states(run)).toEqual({
      ok: 'succeeded',
      bad: 'failed',
      all_success: 'upstream_failed',
      all_done: 'succeeded',
      one_success: 'succeeded',
      one_failed: 'succeeded',
      all_failed: 'skipped',
      none_failed: 'upstream_failed',
      after_skip: 'skipped',
    });
  });

  it('skips tasks whose when: condition is false, reading params and upstream outputs', async () => {
    await agent('cond');
    const run = await runJob(
      {
        name: 'cond',
        params: { region: 'eu' },
        tasks: [
          { key: 'count', type: 'shell', command: 'echo \'{"rows": 7}\' > "$BATON_OUTPUT"' },
          { key: 'big', type: 'noop', dependsOn: ['count'], when: 'tasks.count.output.rows > 5' },
          { key: 'small', type: 'noop', dependsOn: ['count'], when: 'tasks.count.output.rows <= 5' },
          { key: 'eu_only', type: 'noop', when: "params.region == 'eu'" },
          { key: 'us_only', type: 'noop', when: "params.region == 'us'" },
          { key: 'after_small', type: 'noop', dependsOn: ['small'] },
          { key: 'broken', type: 'noop', when: 'params.missing > 1' },
        ],
      },
      { params: { region: 'eu' } },
    );
    expect(states(run)).toMatchObject({
      big: 'succeeded',
      small: 'skipped',
      eu_only: 'succeeded',
      us_only: 'skipped',
      after_small: 'skipped',
      broken: 'failed',
    });
    expect(run.tasks.find((t: { key: string }) => t.key === 'broken').error).toMatch(/params.missing/);
  });

  it('renders templates and passes values to shell tasks as data, never as code', async () => {
    await agent('tpl');
    const evil = '$(touch /tmp/baton-pwned); `id`; rm -rf /nonexistent';
    const run = await runJob(
      {
        name: 'tpl',
        bizDateOffset: '1d',
        tasks: [
          { key: 'make', type: 'shell', command: 'echo \'{"file": "part-0001.csv"}\' > "$BATON_OUTPUT"' },
          {
            key: 'use',
            type: 'shell',
            dependsOn: ['make'],
            command:
              'echo "day={{ biz_date }} next={{ execution_date | add_days(1) | date(\'YYYY-MM-DD\') }} file={{ tasks.make.output.file }}"; echo "name={{ params.name }}"; echo "env=$BATON_PARAM_NAME"',
          },
        ],
      },
      { params: { name: evil }, logicalDate: '2026-03-10T05:00:00Z' },
    );
    expect(run.state).toBe('succeeded');
    const out = await log(run, 'use');
    expect(out).toContain('day=2026-03-09 next=2026-03-11 file=part-0001.csv');
    expect(out).toContain(`name=${evil}`);
    expect(out).toContain(`env=${evil}`);
  });

  it('runs script, http and sql tasks', async () => {
    await agent('kinds');
    const mysql = kind === 'mariadb' ? (db.url as string) : 'mysql://root@127.0.0.1:3306/test';
    const run = await runJob({
      name: 'kinds',
      tasks: [
        {
          key: 'py',
          type: 'script',
          script: {
            interpreter: 'python3',
            body: 'import json, os\nprint("hi from python")\njson.dump({"n": 2}, open(os.environ["BATON_OUTPUT"], "w"))',
          },
        },
        {
          key: 'node',
          type: 'script',
          script: { interpreter: 'node', body: 'console.log("job", process.env.BATON_JOB)' },
        },
        {
          key: 'call',
          type: 'http',
          http: {
            method: 'POST',
            url: `${httpUrl}/hook/{{ job }}`,
            headers: { 'X-Day': '{{ biz_date }}' },
            body: '{"n": {{ tasks.py.output.n }}}',
          },
          dependsOn: ['py'],
        },
        {
          key: 'query',
          type: 'sql',
          sql: {
            driver: 'mysql',
            url: mysql,
            statement: 'SELECT ? + 1 AS answer',
            params: ['{{ tasks.py.output.n }}'],
          },
          dependsOn: ['py'],
        },
      ],
    });
    expect(states(run)).toEqual({ py: 'succeeded', node: 'succeeded', call: 'succeeded', query: 'succeeded' });
    const byKey = Object.fromEntries(run.tasks.map((t: { key: string; output: unknown }) => [t.key, t.output]));
    expect(byKey.py).toEqual({ n: 2 });
    expect(byKey.call).toMatchObject({ method: 'POST', path: '/hook/kinds', echo: '{"n": 2}' });
    expect((byKey.call as { auth: string }).auth).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(byKey.query).toMatchObject({ rows: [{ answer: 3 }] });
    expect(await log(run, 'py')).toContain('hi from python');
    expect(await log(run, 'node')).toContain('job kinds');
  });

  it("carries the caller's trace context to the run and each task's TRACEPARENT", async () => {
    await agent('tracer');
    await platform.api('PUT', '/api/v1/jobs/traced', {
      name: 'traced',
      tasks: [
        { key: 'a', type: 'shell', command: 'echo "tp=$TRACEPARENT"' },
        { key: 'b', type: 'shell', command: 'echo "tp=$TRACEPARENT"', dependsOn: ['a'] },
      ],
    });
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await platform.api(
      'POST',
      '/api/v1/jobs/traced/runs',
      {},
      { traceparent: `00-${trace}-00f067aa0ba902b7-01` },
    );
    expect(r.body.traceId).toBe(trace);
    const run = await waitFor('the traced run', async () => {
      const g = await platform.api('GET', `/api/v1/runs/${r.body.id}`);
      return g.body.state === 'succeeded' ? g.body : null;
    });
    const spans = new Set<string>();
    for (const key of ['a', 'b']) {
      const line = /tp=(\S+)/.exec(await log(run, key))![1]!;
      expect(line).toMatch(new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
      spans.add(line);
    }
    expect(spans.size).toBe(2); // each attempt is its own span
    const untraced = await platform.api('POST', '/api/v1/jobs/traced/runs', {});
    expect(untraced.body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(untraced.body.traceId).not.toBe(trace);
  });

  it('compensates succeeded tasks in reverse order when a run fails (SAGA)', async () => {
    await agent('saga');
    const run = await runJob({
      name: 'saga',
      tasks: [
        {
          key: 'reserve',
          type: 'shell',
          command: 'echo reserved',
          compensate: { type: 'shell', command: 'echo release-reservation' },
        },
        {
          key: 'charge',
          type: 'shell',
          command: 'echo charged',
          dependsOn: ['reserve'],
          compensate: { type: 'shell', command: 'echo refund' },
        },
        { key: 'ship', type: 'shell', command: 'exit 9', dependsOn: ['charge'] },
      ],
    });
    expect(run.state).toBe('failed');
    expect(states(run)).toEqual({ reserve: 'compensated', charge: 'compensated', ship: 'failed' });
    const comp = (key: string) =>
      run.tasks
        .find((t: { key: string }) => t.key === key)
        .attempts.find((a: { kind: string }) => a.kind === 'compensation');
    expect(Date.parse(comp('charge').finishedAt)).toBeLessThanOrEqual(Date.parse(comp('reserve').startedAt));
    expect(await log(run, 'charge')).toContain('refund');
  });

  it('limits a run to maxActiveTasks at once and places tasks by CPU and memory', async () => {
    await agent('wide', { slots: 10 });
    const run = await runJob({
      name: 'wide',
      maxActiveTasks: 2,
      tasks: Array.from({ length: 6 }, (_, i) => ({ key: `t${i}`, type: 'shell', command: 'sleep 0.3' })),
    });
    expect(run.state).toBe('succeeded');
    const edges = run.tasks.flatMap((t: any) => [
      [Date.parse(t.attempts[0].startedAt), 1],
      [Date.parse(t.attempts[0].finishedAt), -1],
    ]);
    edges.sort((a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]!);
    let live = 0;
    let peak = 0;
    for (const [, d] of edges) peak = Math.max(peak, (live += d));
    expect(peak).toBeLessThanOrEqual(2);

    await platform.api('PUT', '/api/v1/jobs/heavy', {
      name: 'heavy',
      tasks: [
        { key: 'huge', type: 'noop', resources: { memoryMb: 10_000_000 } },
        { key: 'small', type: 'noop', resources: { memoryMb: 1 } },
      ],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/heavy/runs', {})).body.id;
    // No agent has 10 TB of memory: the huge task waits while the small one runs.
    const heavy = await waitFor('the small task', async () => {
      const g = await platform.api('GET', `/api/v1/runs/${id}`);
      return states(g.body).small === 'succeeded' ? g.body : null;
    });
    expect(states(heavy)).toEqual({ huge: 'queued', small: 'succeeded' });
    await platform.api('POST', `/api/v1/runs/${id}/cancel`, {});
  });
});
