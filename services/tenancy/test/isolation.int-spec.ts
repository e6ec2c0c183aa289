import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe.each(kinds)('tenant isolation (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let acme: string;
  let acmeAgent: AgentProcess | null = null;
  let runA: string;
  let tokenIdA: string;
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, localAgent: true });
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'acme' });
    expect(t.status).toBe(201);
    acme = t.body.adminToken;
    // Tenant "default" owns a job, a finished run with logs, and an agent token.
    await platform.api('PUT', '/api/v1/jobs/secret', {
      name: 'secret',
      tasks: [{ key: 'a', type: 'shell', command: 'echo classified' }],
    });
    runA = (await platform.api('POST', '/api/v1/jobs/secret/runs', {})).body.id;
    await waitFor(
      'the default tenant run',
      async () => (await platform.api('GET', `/api/v1/runs/${runA}`)).body.state === 'succeeded',
    );
    tokenIdA = (await platform.api('POST', '/api/v1/agent-tokens', { name: 'a-token' })).body.id;
  });

  afterAll(async () => {
    await acmeAgent?.stop();
    await platform?.stop();
    await db?.drop();
  });

  it("does not see another tenant's jobs, runs, logs, agents or tokens", async () => {
    const h = as(acme);
    expect((await platform.api('GET', '/api/v1/whoami', undefined, h)).body.tenant.name).toBe('acme');
    expect((await platform.api('GET', '/api/v1/jobs', undefined, h)).body.items).toEqual([]);
    expect((await platform.api('GET', '/api/v1/jobs/secret', undefined, h)).status).toBe(404);
    expect((await platform.api('GET', '/api/v1/runs', undefined, h)).body.items).toEqual([]);
    expect((await platform.api('GET', `/api/v1/runs/${runA}`, undefined, h)).status).toBe(404);
    expect((await platform.api('GET', `/api/v1/runs/${runA}/tasks/a/logs`, undefined, h)).status).toBe(404);
    expect((await platform.api('GET', '/api/v1/agents', undefined, h)).body.items).toEqual([]);
    expect((await platform.api('GET', '/api/v1/agent-tokens', undefined, h)).body.items).toEqual([]);
    expect((await platform.api('DELETE', `/api/v1/agent-tokens/${tokenIdA}`, undefined, h)).status).toBe(404);
    expect((await platform.api('POST', '/api/v1/jobs/secret/runs', {}, h)).status).toBe(404);
    expect((await platform.api('DELETE', '/api/v1/jobs/secret', undefined, h)).status).toBe(404);
    // The owner still sees everything.
    expect((await platform.api('GET', `/api/v1/runs/${runA}/tasks/a/logs`)).body).toContain('classified');
    expect((await platform.api('GET', '/api/v1/agent-tokens')).body.items.map((t: { id: string }) => t.id)).toContain(
      tokenIdA,
    );
  });

  it("keeps job names per tenant and runs a tenant's tasks only on its own agents", async () => {
    const h = as(acme);
    const put = await platform.api(
      'PUT',
      '/api/v1/jobs/secret',
      { name: 'secret', tasks: [{ key: 'a', type: 'shell', command: 'echo acme' }] },
      h,
    );
    expect([put.status, put.body.version]).toEqual([201, 1]);
    expect((await platform.api('GET', '/api/v1/jobs/secret')).body.definition.tasks[0].command).toBe('echo classified');
    const run = (await platform.api('POST', '/api/v1/jobs/secret/runs', {}, h)).body.id as string;
    // The default tenant's local agent is idle, yet acme's task waits for an acme agent.
    const queued = await platform.api('GET', `/api/v1/runs/${run}`, undefined, h);
    expect(queued.body.tasks[0].state).toBe('queued');
    const token = (await platform.api('POST', '/api/v1/agent-tokens', { name: 'acme-agent' }, h)).body.token as string;
    acmeAgent = startAgentProcess({
      server: platform.grpc,
      token,
      name: 'acme-1',
      workDir: mkdtempSync(join(tmpdir(), 'baton-acme-')),
    });
    const done = await waitFor('acme run', async () => {
      const g = await platform.api('GET', `/api/v1/runs/${run}`, undefined, h);
      return g.body.state === 'succeeded' ? g.body : null;
    });
    expect(done.tasks[0].attempts.map((a: { agent: string }) => a.agent)).toEqual(['acme-1']);
    expect((await platform.api('GET', '/api/v1/agents')).body.items.map((a: { name: string }) => a.name)).toEqual([
      'local',
    ]);
  });

  it('lets only platform admins create tenants', async () => {
    expect((await platform.api('POST', '/api/v1/tenants', { name: 'evil' }, as(acme))).status).toBe(403);
    expect((await platform.api('POST', '/api/v1/tenants', { name: 'acme' })).status).toBe(409);
    expect((await platform.api('POST', '/api/v1/tenants', { name: 'Bad Name' })).body.errors[0].path).toBe('name');
  });
});
