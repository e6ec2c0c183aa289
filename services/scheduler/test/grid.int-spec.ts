import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, type Platform, startAgentProcess, startPlatform, waitFor } from '@baton/testing';

interface Grid {
  job: string;
  tasks: string[];
  states: string[];
  runs: Array<{ id: string; state: string; jobVersion: number; cells: number[]; attempts: number[] }>;
  nextCursor: string | null;
}

// The grid on the embedded default (SQLite): one real agent runs the tasks.
describe('GET /api/v1/jobs/{name}/grid', () => {
  let platform: Platform;
  let agent: AgentProcess;
  const work = mkdtempSync(join(tmpdir(), 'baton-grid-'));
  const grid = async (query = '', headers?: Record<string, string>) =>
    platform.api<Grid>('GET', `/api/v1/jobs/grid-job/grid${query}`, undefined, headers);
  const named = (g: Grid, run: number) =>
    Object.fromEntries(
      g.tasks.map((k, i) => [k, g.runs[run]!.cells[i] === -1 ? null : g.states[g.runs[run]!.cells[i]!]]),
    );

  beforeAll(async () => {
    platform = await startPlatform({ databaseUrl: null });
    agent = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name: 'grid-agent',
      workDir: work,
    });
    await waitFor('the agent to connect', async () => {
      const r = await platform.api('GET', '/api/v1/agents');
      return r.body.items?.some((a: { status: string }) => a.status === 'connected');
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await platform?.stop();
  });

  const runToEnd = async () => {
    const id = (await platform.api('POST', '/api/v1/jobs/grid-job/runs', {})).body.id as string;
    await waitFor(`run ${id} to end`, async () =>
      ['succeeded', 'failed'].includes((await platform.api('GET', `/api/v1/runs/${id}`)).body.state),
    );
    return id;
  };

  it('gives the task keys once, in DAG order, and per run the states and attempt numbers in that order', async () => {
    const v1 = {
      name: 'grid-job',
      tasks: [
        { key: 'load', type: 'noop', dependsOn: ['transform'] },
        {
          key: 'transform',
          type: 'shell',
          dependsOn: ['extract'],
          command: 'exit 3',
          retry: { maxAttempts: 2, delay: '100ms' },
        },
        { key: 'extract', type: 'shell', command: 'echo x' },
      ],
    };
    expect((await platform.api('PUT', '/api/v1/jobs/grid-job', v1)).status).toBe(201);
    const first = await runToEnd();
    // Version 2 drops "load" and adds "report": the grid keeps both columns.
    const v2 = {
      name: 'grid-job',
      tasks: [
        { key: 'extract', type: 'shell', command: 'echo x' },
        { key: 'report', type: 'noop', dependsOn: ['extract'] },
      ],
    };
    expect((await platform.api('PUT', '/api/v1/jobs/grid-job', v2)).status).toBe(200);
    const second = await runToEnd();

    const g = (await grid()).body;
    expect(g.job).toBe('grid-job');
    expect(g.tasks).toEqual(['extract', 'report', 'load', 'transform']);
    expect(g.runs.map((r) => [r.id, r.state, r.jobVersion])).toEqual([
      [second, 'succeeded', 2],
      [first, 'failed', 1],
    ]);
    expect(named(g, 0)).toEqual({ extract: 'succeeded', report: 'succeeded', load: null, transform: null });
    expect(named(g, 1)).toEqual({ extract: 'succeeded', report: null, load: 'upstream_failed', transform: 'failed' });
    expect(g.runs[1]!.attempts).toEqual([1, 0, 0, 2]); // transform failed twice
    expect(g.nextCursor).toBeNull();
  });

  it('pages to older runs with the cursor', async () => {
    await runToEnd();
    const page1 = (await grid('?limit=2')).body;
    expect(page1.runs).toHaveLength(2);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = (await grid(`?limit=2&cursor=${page1.nextCursor}`)).body;
    expect(page2.runs).toHaveLength(1);
    expect(page2.runs[0]!.jobVersion).toBe(1);
    expect(page2.nextCursor).toBeNull();
    expect((await grid('?limit=0')).body.errors[0].path).toBe('limit');
    expect((await grid('?cursor=nonsense')).status).toBe(400);
  });

  it("is readable by a viewer and does not show another tenant's job", async () => {
    const viewer = (await platform.api('POST', '/api/v1/api-keys', { name: 'grid viewer', role: 'viewer' })).body.token;
    expect((await grid('', { authorization: `Bearer ${viewer}` })).status).toBe(200);
    const other = (await platform.api('POST', '/api/v1/tenants', { name: 'grid-other' })).body.adminToken as string;
    const foreign = await grid('', { authorization: `Bearer ${other}` });
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.body)).not.toContain('extract');
    expect((await platform.api('GET', '/api/v1/jobs/no-such-job/grid')).status).toBe(404);
  });
});
