import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type ServiceProcess,
  type TestDatabase,
  callApi,
  createTestDatabase,
  freePort,
  runCli,
  startAgentProcess,
  startServiceProcess,
  testDatabaseKinds,
  testKafkaBrokers,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();
const brokers = await testKafkaBrokers();
const run = kinds.includes('mariadb') && brokers ? describe : describe.skip;

interface RunView {
  id: string;
  state: string;
  logicalDate: string;
  tasks: Array<{ key: string; state: string; attempts: Array<{ state: string; agent: string }> }>;
}

/**
 * The production topology: every service its own process on MariaDB and
 * Kafka, two replicas of scheduler and of trigger, two agents that each know
 * both scheduler replicas.
 */
run('separate services on MariaDB and Kafka, with replicas', () => {
  let db: TestDatabase;
  const services: ServiceProcess[] = [];
  const agents: AgentProcess[] = [];
  const token = `bat_key_${randomBytes(24).toString('hex')}`;
  let env: Record<string, string>;
  let tenancy: ServiceProcess;
  let catalog: ServiceProcess;
  let s1: ServiceProcess;
  let s2: ServiceProcess;
  let trigger1: ServiceProcess;
  let edge: ServiceProcess;
  let insights: ServiceProcess[] = [];
  const api = <T = any>(svc: ServiceProcess, method: string, path: string, body?: unknown) =>
    callApi<T>(svc.url, token, method, path, body);

  beforeAll(async () => {
    db = await createTestDatabase('mariadb');
    env = {
      BATON_MODE: 'production',
      BATON_DATABASE_URL: db.url!,
      BATON_KAFKA_BROKERS: brokers!.join(','),
      BATON_KAFKA_TOPIC_PREFIX: `t${randomBytes(3).toString('hex')}.`,
      BATON_BOOTSTRAP_TOKEN: token,
      BATON_TRIGGER_SECRETS_KEY: randomBytes(32).toString('base64url'),
      BATON_SECRETS_KEY: `k1:${randomBytes(32).toString('base64url')}`,
      BATON_AUDIT_KEY: `a1:${randomBytes(32).toString('base64url')}`,
      BATON_LOG_LEVEL: 'info',
      // The scheduler replicas' gateways on loopback: plaintext, said explicitly (production refuses it otherwise).
      BATON_GRPC_ALLOW_PLAINTEXT: 'true',
    };
    // Tenancy first: it migrates the schema and creates the admin key.
    tenancy = await startServiceProcess({ service: 'tenancy', env });
    services.push(tenancy);
    const grpc = [await freePort(), await freePort()];
    const started = await Promise.all([
      startServiceProcess({ service: 'catalog', env }),
      startServiceProcess({ service: 'trigger', name: 'trigger-1', env }),
      startServiceProcess({ service: 'trigger', name: 'trigger-2', env }),
      startServiceProcess({
        service: 'scheduler',
        name: 'scheduler-1',
        env: { ...env, BATON_GRPC_HOST: '127.0.0.1', BATON_GRPC_PORT: String(grpc[0]) },
      }),
      startServiceProcess({
        service: 'scheduler',
        name: 'scheduler-2',
        env: { ...env, BATON_GRPC_HOST: '127.0.0.1', BATON_GRPC_PORT: String(grpc[1]) },
      }),
    ]);
    services.push(...started);
    [catalog, trigger1, , s1, s2] = started as [
      ServiceProcess,
      ServiceProcess,
      ServiceProcess,
      ServiceProcess,
      ServiceProcess,
    ];
    const audit = await startServiceProcess({ service: 'audit', env });
    services.push(audit);
    // Two insight replicas: each run's SLA is still decided once.
    insights = await Promise.all(
      ['insight-1', 'insight-2'].map((name) => startServiceProcess({ service: 'insight', name, env })),
    );
    services.push(...insights);
    const insight = insights[0]!;
    // The HTTP edge in front of them all, as users and the CLI reach the topology.
    const edgePort = await freePort();
    edge = await startServiceProcess({
      service: 'edge',
      httpPort: edgePort,
      env: {
        BATON_EDGE_HOST: '127.0.0.1',
        BATON_EDGE_PORT: String(edgePort),
        BATON_CATALOG_URL: catalog.url,
        BATON_TRIGGER_URL: trigger1.url,
        BATON_SCHEDULER_URL: s2.url,
        BATON_TENANCY_URL: tenancy.url,
        BATON_AUDIT_URL: audit.url,
        BATON_INSIGHT_URL: insight.url,
      },
    });
    services.push(edge);
    const work = mkdtempSync(join(tmpdir(), 'baton-topology-'));
    for (const [name, servers] of [
      ['agent-a', `127.0.0.1:${grpc[0]},127.0.0.1:${grpc[1]}`],
      ['agent-b', `127.0.0.1:${grpc[1]},127.0.0.1:${grpc[0]}`],
    ] as const) {
      const t = await api<{ token: string }>(tenancy, 'POST', '/api/v1/agent-tokens', { name });
      agents.push(startAgentProcess({ server: servers, token: t.body.token, name, workDir: join(work, name) }));
    }
    await waitFor('both agents', async () => {
      const r = await api<{ items: Array<{ status: string }> }>(s1, 'GET', '/api/v1/agents');
      return r.body.items.filter((a) => a.status === 'connected').length === 2;
    });
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(services.map((s) => s.stop()));
    await db?.drop();
  });

  it('runs a cron job exactly once per slot with two trigger and two scheduler replicas', async () => {
    const def = {
      name: 'tick',
      triggers: [{ type: 'cron', cron: '* * * * * *' }],
      tasks: [
        { key: 'a', type: 'shell', command: 'echo a' },
        { key: 'b', type: 'shell', command: 'echo b', dependsOn: ['a'] },
      ],
    };
    expect((await api(catalog, 'PUT', '/api/v1/jobs/tick', def)).status).toBe(201);
    await waitFor(
      'five succeeded cron runs',
      async () => {
        const r = await api<{ items: RunView[] }>(s2, 'GET', '/api/v1/runs?job=tick&state=succeeded&limit=100');
        return r.body.items.length >= 5;
      },
      30_000,
    );
    await api(catalog, 'PUT', '/api/v1/jobs/tick', {
      ...def,
      triggers: [{ type: 'cron', cron: '* * * * * *', enabled: false }],
    });
    const all = (await api<{ items: RunView[] }>(s1, 'GET', '/api/v1/runs?job=tick&limit=200')).body.items;
    const slots = all.map((r) => Date.parse(r.logicalDate)).sort((x, y) => x - y);
    expect(new Set(slots).size).toBe(slots.length);
    expect((slots[slots.length - 1]! - slots[0]!) / 1000).toBe(slots.length - 1);
    // Each task of a finished run ran once (the newest runs may still wait for their slot: created ahead).
    const finished = all.filter((r) => r.state === 'succeeded').slice(0, 5);
    expect(finished).toHaveLength(5);
    const details = await Promise.all(finished.map((r) => api<RunView>(s2, 'GET', `/api/v1/runs/${r.id}`)));
    for (const d of details) {
      for (const t of d.body.tasks) expect(t.attempts.filter((x) => x.state === 'succeeded')).toHaveLength(1);
    }
  });

  it('decides each run’s SLA once with two insight replicas, and serves it through the edge', async () => {
    const def = {
      name: 'deadline',
      sla: { maxDuration: '1s' },
      tasks: [{ key: 'w', type: 'shell', command: 'sleep 3' }],
    };
    expect((await api(catalog, 'PUT', '/api/v1/jobs/deadline', def)).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await api<{ id: string }>(s1, 'POST', '/api/v1/jobs/deadline/runs', {})).body.id);
    for (const id of ids) {
      await waitFor(`the SLA of run ${id} missed`, async () => {
        const r = await callApi<{ state: string }>(edge.url, token, 'GET', `/api/v1/runs/${id}/sla`);
        return r.status === 200 && r.body.state === 'missed';
      });
    }
    // Each state change once per run, whichever replica made it: missed, and before it at most one warning (a
    // task without history is predicted at the default duration, past the 1 s deadline).
    const logs = insights.map((x) => x.output()).join('\n');
    for (const id of ids) {
      const changes = logs.split('\n').filter((l) => l.includes('SLA state changed') && l.includes(id));
      expect(changes.filter((l) => /"to":"missed"|\bto=missed\b/.test(l))).toHaveLength(1);
      expect(changes.filter((l) => /"to":"at_risk"|\bto=at_risk\b/.test(l)).length).toBeLessThanOrEqual(1);
      expect(changes.length).toBeLessThanOrEqual(2);
    }
  });

  it('serves the baton CLI through the HTTP edge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-topology-cli-'));
    const file = join(dir, 'greet.yaml');
    writeFileSync(
      file,
      'name: greet\ntasks:\n  - key: hi\n    type: shell\n    command: echo hello through the edge\n',
    );
    const cli = (...args: string[]) => runCli(args, { BATON_SERVER: edge.url, BATON_TOKEN: token }, dir);
    const applied = await cli('apply', '-f', file);
    expect(applied.stdout, applied.stderr).toMatch(/job greet: created \(version 1\)/);
    const run = await cli('run', 'greet', '--wait');
    expect(run.code, run.stderr).toBe(0);
    const id = /^run (\S+)/.exec(run.stdout)![1]!;
    expect((await cli('logs', id, 'hi')).stdout).toContain('hello through the edge');
    // The portal's job views through the edge: the definition schema (catalog) and the grid (scheduler).
    const schema = await callApi<{ $id: string }>(edge.url, token, 'GET', '/api/v1/schemas/job.json');
    expect(schema.body.$id).toBe('/api/v1/schemas/job.json');
    const grid = await callApi<{ tasks: string[]; runs: Array<{ id: string }> }>(
      edge.url,
      token,
      'GET',
      '/api/v1/jobs/greet/grid',
    );
    expect([grid.body.tasks, grid.body.runs.map((r) => r.id)]).toEqual([['hi'], [id]]);
    expect((await cli('agents')).stdout).toMatch(/agent-a\s+connected/);
    // Every mutating call went to the audit log, across services.
    await waitFor('the audit records', async () => {
      const r = await callApi<{ items: Array<{ action: string }> }>(edge.url, token, 'GET', '/api/v1/audit');
      const actions = r.body.items.map((a) => a.action);
      return actions.includes('PUT /api/v1/jobs/:name') && actions.includes('POST /api/v1/jobs/:name/runs');
    });
    // The filtered CSV export through the edge (its own route: /api/v1/audit* does not cover it).
    const csv = await callApi<string>(edge.url, token, 'GET', '/api/v1/audit.csv?action=PUT%20%2Fapi%2Fv1%2Fjobs');
    expect(csv.status).toBe(200);
    const lines = csv.body.trimEnd().split('\n');
    expect(lines[0]).toBe('seq,occurredAt,actor,action,target,status,detail,hash');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.includes(',PUT /api/v1/jobs/:name,'))).toBe(true);
  });

  it('opens a secret sealed by tenancy in another scheduler process, and the agents mask it', async () => {
    const value = `topo${randomBytes(12).toString('hex')}`;
    const put = await callApi(edge.url, token, 'PUT', '/api/v1/secrets/TOPO_SECRET', { value });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const h = createHash('sha256').update(value).digest('hex');
    await callApi(edge.url, token, 'PUT', '/api/v1/jobs/secretive', {
      name: 'secretive',
      tasks: [
        {
          key: 's',
          type: 'shell',
          env: { V: '{{ secrets.TOPO_SECRET }}' },
          command: `test "$(printf %s "$V" | sha256sum | cut -d" " -f1)" = "${h}" && echo "got $V"`,
        },
      ],
    });
    const id = (await callApi<RunView>(edge.url, token, 'POST', '/api/v1/jobs/secretive/runs', {})).body.id;
    const done = await waitFor('the secretive run', async () => {
      const r = await callApi<RunView>(edge.url, token, 'GET', `/api/v1/runs/${id}`);
      return ['succeeded', 'failed'].includes(r.body.state) ? r.body : null;
    });
    expect(done.state, JSON.stringify(done.tasks)).toBe('succeeded');
    const log = await callApi<string>(edge.url, token, 'GET', `/api/v1/runs/${id}/tasks/s/logs`);
    expect(log.body).toContain('got ***');
    expect(JSON.stringify(log.body)).not.toContain(value);
  });

  it('makes one run per signed webhook delivery through the edge, and answers 401 to a bad signature', async () => {
    await callApi(edge.url, token, 'PUT', '/api/v1/jobs/hooked', {
      name: 'hooked',
      triggers: [{ type: 'webhook', params: { order: '{{ body.order }}' } }],
      tasks: [{ key: 't', type: 'noop' }],
    });
    const sec = await waitFor('the webhook secret', async () => {
      const r = await callApi<{ triggerId: string; secret: string }>(
        edge.url,
        token,
        'POST',
        '/api/v1/jobs/hooked/triggers/0/secret',
      );
      return r.status === 200 || r.status === 201 ? r.body : null;
    });
    const body = JSON.stringify({ order: 42 });
    const post = (secret: string) => {
      const ts = Math.floor(Date.now() / 1000);
      const sig = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
      return fetch(`${edge.url}/hooks/${sec.triggerId}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-baton-timestamp': String(ts),
          'x-baton-signature': `sha256=${sig}`,
          'idempotency-key': 'd-1',
        },
        body,
      });
    };
    expect((await post('wrong-secret')).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await post(sec.secret)).status).toBe(202);
    const runs = await waitFor('the webhook run', async () => {
      const r = await api<{ items: Array<RunView & { params: { order?: number } }> }>(
        s1,
        'GET',
        '/api/v1/runs?job=hooked',
      );
      return r.body.items.length > 0 ? r.body.items : null;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await api<{ items: RunView[] }>(s1, 'GET', '/api/v1/runs?job=hooked')).body.items).toHaveLength(1);
    expect(runs[0]!.params.order).toBe(42);
  });

  it('makes one run per Kafka record for an event trigger, however often the record is delivered', async () => {
    const topicName = `tenant.default.topo-${randomBytes(3).toString('hex')}`;
    const kafka = new Kafka({ clientId: 'topology-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topicName, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await callApi(edge.url, token, 'PUT', '/api/v1/jobs/on-record', {
      name: 'on-record',
      triggers: [
        { type: 'event', topic: topicName, filter: "value.kind == 'order'", params: { order: '{{ value.id }}' } },
      ],
      tasks: [{ key: 't', type: 'noop' }],
    });
    const producer = kafka.producer();
    await producer.connect();
    const send = (id: number, kind: string, eventId: string) =>
      producer.send({
        topic: topicName,
        messages: [{ value: JSON.stringify({ id, kind }), headers: { 'event-id': eventId } }],
      });
    try {
      // The trigger replicas' consumers start at the end of the topic: deliver until one has joined.
      await waitFor(
        'a run for the record',
        async () => {
          await send(7, 'order', 'order-7');
          await send(8, 'refund', 'refund-8');
          const r = await api<{ items: RunView[] }>(s2, 'GET', '/api/v1/runs?job=on-record');
          return r.body.items.length > 0;
        },
        60_000,
        1_000,
      );
      for (let i = 0; i < 3; i++) await send(7, 'order', 'order-7');
      await new Promise((r) => setTimeout(r, 2_000));
      const runs = (
        await api<{ items: Array<RunView & { params: { order?: number } }> }>(s2, 'GET', '/api/v1/runs?job=on-record')
      ).body.items;
      expect(runs.map((r) => r.params.order)).toEqual([7]);
    } finally {
      await producer.disconnect();
    }
  });

  it('takes a run request whose event was never published, and publishes the event once a relay runs', async () => {
    // The state a crash between commit and publish leaves behind: the request's row and an unpublished outbox row.
    const me = await api<{ tenant: { id: string } }>(tenancy, 'GET', '/api/v1/whoami');
    const job = await api<{ name: string }>(catalog, 'GET', '/api/v1/jobs/tick');
    expect(job.status).toBe(200);
    const jobs = await callApi<any>(catalog.url, token, 'GET', '/api/v1/jobs');
    expect(jobs.body.items.map((j: { name: string }) => j.name)).toContain('tick');
    const c = await createConnection({ uri: db.url! });
    const [rows] = (await c.query('SELECT id FROM jobs WHERE name = ?', ['tick'])) as unknown as [
      Array<{ id: string }>,
    ];
    const payload = {
      tenantId: me.body.tenant.id,
      jobId: rows[0]!.id,
      jobName: 'tick',
      logicalDate: Date.parse('2030-01-01T00:00:00Z'),
      dedupeKey: 'crash-test:1',
      triggerType: 'manual',
      triggerId: null,
      params: {},
    };
    await c.query(
      'INSERT INTO outbox (id, topic, `key`, type, tenant_id, payload, headers, created_at, published_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL)',
      [
        '01a20000-0000-7000-8000-00000000c4a5',
        `${env.BATON_KAFKA_TOPIC_PREFIX}run-requests`,
        payload.tenantId,
        'run.requested',
        payload.tenantId,
        JSON.stringify(payload),
        Date.now(),
      ],
    );
    await c.query('INSERT INTO run_requests (tenant_id, payload, created_at, failures) VALUES (?, ?, ?, 0)', [
      payload.tenantId,
      JSON.stringify(payload),
      Date.now(),
    ]);
    const published = await waitFor(
      'the outbox row published',
      async () => {
        const [o] = (await c.query('SELECT published_at FROM outbox WHERE id = ?', [
          '01a20000-0000-7000-8000-00000000c4a5',
        ])) as unknown as [Array<{ published_at: number | null }>];
        return o[0]?.published_at ?? null;
      },
      20_000,
    );
    expect(Number(published)).toBeGreaterThan(0);
    await c.end();
    const r = await waitFor(
      'the run of the recovered request',
      async () => {
        const l = await api<{ items: RunView[] }>(s2, 'GET', '/api/v1/runs?job=tick&limit=500');
        return l.body.items.find((x) => x.logicalDate === '2030-01-01T00:00:00.000Z') ?? null;
      },
      20_000,
    );
    expect(r.id).toBeTruthy();
  });

  it('makes one run for a file dropped in a folder both agents watch', async () => {
    const drop = mkdtempSync(join(tmpdir(), 'baton-topology-drop-'));
    await api(catalog, 'PUT', '/api/v1/jobs/dropped', {
      name: 'dropped',
      triggers: [{ type: 'file', path: `${drop}/*.json` }],
      tasks: [{ key: 'read', type: 'shell', command: 'echo "{{ params.file.path }}"' }],
    });
    // Both agents learn the watch through the catalog event on their replicas.
    await new Promise((r) => setTimeout(r, 1_500));
    writeFileSync(join(drop, 'order-1.json'), '{"id": 1}');
    await waitFor(
      'the run for the dropped file',
      async () => {
        const r = await api<{ items: RunView[] }>(s1, 'GET', '/api/v1/runs?job=dropped');
        return r.body.items.length === 1 && r.body.items[0]!.state === 'succeeded';
      },
      30_000,
    );
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await api<{ items: RunView[] }>(s2, 'GET', '/api/v1/runs?job=dropped')).body.items).toHaveLength(1);
  });

  it('re-runs an idempotent task on the other agent when its agent is SIGKILLed', async () => {
    await api(catalog, 'PUT', '/api/v1/jobs/hop', {
      name: 'hop',
      tasks: [
        {
          key: 'work',
          type: 'shell',
          command: 'sleep 2; echo done',
          idempotent: true,
          retry: { maxAttempts: 2, backoff: 'immediate' },
        },
      ],
    });
    const id = (await api<RunView>(s2, 'POST', '/api/v1/jobs/hop/runs', {})).body.id;
    const running = await waitFor('the task to run', async () => {
      const r = await api<RunView>(s1, 'GET', `/api/v1/runs/${id}`);
      return r.body.tasks[0]!.state === 'running' ? r.body : null;
    });
    const victim = running.tasks[0]!.attempts[0]!.agent;
    await agents.find((a) => a.name === victim)!.kill('SIGKILL');
    const done = await waitFor(
      'the task on the other agent',
      async () => {
        const r = await api<RunView>(s2, 'GET', `/api/v1/runs/${id}`);
        return r.body.state === 'running' ? null : r.body;
      },
      30_000,
    );
    expect(done.state).toBe('succeeded');
    expect(done.tasks[0]!.attempts.map((a) => [a.agent, a.state])).toEqual([
      [victim, 'lost'],
      [victim === 'agent-a' ? 'agent-b' : 'agent-a', 'succeeded'],
    ]);
  });

  it('loses and doubles nothing when a scheduler replica is SIGKILLed mid-run', async () => {
    await api(catalog, 'PUT', '/api/v1/jobs/steady', {
      name: 'steady',
      tasks: Array.from({ length: 6 }, (_, i) => ({
        key: `w${i}`,
        type: 'shell',
        command: 'sleep 1.5',
        idempotent: true,
        retry: { maxAttempts: 3, backoff: 'immediate' },
      })),
    });
    const created = await api<RunView>(s2, 'POST', '/api/v1/jobs/steady/runs', {});
    expect(created.status).toBe(201);
    await waitFor('tasks running', async () => {
      const r = await api<RunView>(s2, 'GET', `/api/v1/runs/${created.body.id}`);
      return r.body.tasks.some((t) => t.state === 'running');
    });
    await s1.kill('SIGKILL');
    const done = await waitFor(
      'the run to finish on the surviving replica',
      async () => {
        const r = await api<RunView>(s2, 'GET', `/api/v1/runs/${created.body.id}`);
        return r.body.state === 'running' ? null : r.body;
      },
      60_000,
    );
    expect(done.state).toBe('succeeded');
    for (const t of done.tasks) {
      expect(t.state).toBe('succeeded');
      expect(t.attempts.filter((a) => a.state === 'succeeded')).toHaveLength(1);
    }
    const agentsNow = await api<{ items: Array<{ name: string; status: string }> }>(s2, 'GET', '/api/v1/agents');
    expect(agentsNow.body.items.some((a) => a.status === 'connected')).toBe(true);
  });
});
