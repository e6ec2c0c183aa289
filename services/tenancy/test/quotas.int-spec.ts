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

describe.each(kinds)('tenant quotas (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let agent: AgentProcess | null = null;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await agent?.stop();
    await platform?.stop();
    await db?.drop();
  });

  it('runs no more of a tenant’s tasks at once than its quota, whatever its agents could take', async () => {
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'quota' });
    const as = { authorization: `Bearer ${t.body.adminToken}` };
    const set = await platform.api('PUT', `/api/v1/tenants/${t.body.id}/quota`, { maxRunningTasks: 1 });
    expect(set.status).toBe(200);
    expect((await platform.api('GET', '/api/v1/quota', undefined, as)).body).toMatchObject({
      maxRunningTasks: 1,
      usage: { runningTasks: 0 },
    });
    // Only platform admins set quotas; values are checked.
    expect((await platform.api('PUT', `/api/v1/tenants/${t.body.id}/quota`, { maxRunningTasks: 9 }, as)).status).toBe(
      403,
    );
    const bad = await platform.api('PUT', `/api/v1/tenants/${t.body.id}/quota`, { maxRunningTasks: 0 });
    expect([bad.status, bad.body.errors[0].path]).toEqual([400, 'maxRunningTasks']);

    const token = (await platform.api('POST', '/api/v1/agent-tokens', { name: 'q' }, as)).body.token;
    agent = startAgentProcess({
      server: platform.grpc,
      token,
      name: 'q-agent',
      slots: 4,
      workDir: mkdtempSync(join(tmpdir(), 'baton-q-')),
    });
    await platform.api(
      'PUT',
      '/api/v1/jobs/wide',
      { name: 'wide', tasks: ['a', 'b', 'c'].map((key) => ({ key, type: 'shell', command: 'sleep 0.4' })) },
      as,
    );
    const id = (await platform.api('POST', '/api/v1/jobs/wide/runs', {}, as)).body.id;
    const run = await waitFor(
      'the run',
      async () => {
        const r = await platform.api('GET', `/api/v1/runs/${id}`, undefined, as);
        return r.body.state === 'succeeded' ? r.body : null;
      },
      30_000,
    );
    const spans = run.tasks.map((x: any) => [
      Date.parse(x.attempts[0].startedAt),
      Date.parse(x.attempts[0].finishedAt),
    ]);
    spans.sort((x: number[], y: number[]) => x[0]! - y[0]!);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  });
});
