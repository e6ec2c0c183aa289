import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
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

interface RunSummary {
  id: string;
  state: string;
  params: { file?: { name: string; size: number } };
  trigger: { type: string };
}

describe.each(kinds)('file-arrival triggers (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let agent: AgentProcess;
  const dir = mkdtempSync(join(tmpdir(), 'baton-drop-'));
  const work = mkdtempSync(join(tmpdir(), 'baton-files-'));
  const runs = async (): Promise<RunSummary[]> =>
    (await platform.api('GET', '/api/v1/runs?job=ingest&limit=100')).body.items;
  // One token for the agent's whole life: its name is bound to the token that first claimed it.
  let token: string | null = null;
  const startAgent = async () => {
    token ??= await platform.agentToken();
    agent = startAgentProcess({
      server: platform.grpc,
      token,
      name: 'watcher',
      labels: 'files=yes',
      workDir: join(work, 'watcher'),
    });
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await agent?.stop();
    await platform?.stop();
    await db?.drop();
  });

  it('runs once per new or changed file in the watched folder, across agent restarts', async () => {
    const put = await platform.api('PUT', '/api/v1/jobs/ingest', {
      name: 'ingest',
      triggers: [{ type: 'file', path: `${dir}/*.csv`, agentSelector: { files: 'yes' } }],
      tasks: [
        { key: 'load', type: 'shell', command: 'echo "got {{ params.file.name }} of {{ params.file.size }} bytes"' },
      ],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    await startAgent();
    writeFileSync(join(dir, 'a.csv'), 'id\n1\n');
    writeFileSync(join(dir, 'notes.txt'), 'not watched');
    const first = await waitFor(
      'a run for a.csv',
      async () => {
        const r = await runs();
        return r.length === 1 && r[0]!.state === 'succeeded' ? r[0]! : null;
      },
      20_000,
    );
    expect(first.trigger.type).toBe('file');
    expect(first.params.file).toMatchObject({ name: 'a.csv', size: 5 });
    const log = await platform.api('GET', `/api/v1/runs/${first.id}/tasks/load/logs`);
    expect(log.body).toContain('got a.csv of 5 bytes');

    writeFileSync(join(dir, 'b.csv'), 'id\n2\n');
    await waitFor('a run for b.csv', async () => (await runs()).length === 2, 20_000);

    // Unchanged files are not reported again, not even by a restarted agent.
    await agent.stop();
    await startAgent();
    await new Promise((r) => setTimeout(r, 3_500));
    expect((await runs()).length).toBe(2);

    appendFileSync(join(dir, 'a.csv'), '3\n');
    await waitFor('a run for the changed a.csv', async () => (await runs()).length === 3, 20_000);
    const names = (await runs()).map((r) => `${r.params.file!.name}:${r.params.file!.size}`).sort();
    expect(names).toEqual(['a.csv:5', 'a.csv:7', 'b.csv:5']);
  });
});
