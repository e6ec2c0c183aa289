import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, type TestDatabase, createTestDatabase, startPlatform, testDatabaseKinds } from '@baton/testing';

const kinds = await testDatabaseKinds();

const good = {
  name: 'etl',
  triggers: [{ type: 'cron', cron: '0 0 2 * * *', timezone: 'Europe/Berlin' }],
  tasks: [
    { key: 'a', type: 'shell', command: 'echo a' },
    { key: 'b', type: 'noop', dependsOn: ['a'] },
  ],
};

describe.each(kinds)('job definitions over REST (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('creates, versions only on change, reads and deletes a job', async () => {
    const created = await platform.api('PUT', '/api/v1/jobs/etl', good);
    expect(created.status).toBe(201);
    expect(created.body.version).toBe(1);
    expect(created.body.triggers[0].nextFireAt).toMatch(/T(00|01):00:00.000Z$/); // 02:00 Berlin
    const same = await platform.api('PUT', '/api/v1/jobs/etl', good);
    expect([same.status, same.body.version, same.body.changed]).toEqual([200, 1, false]);
    const edited = await platform.api('PUT', '/api/v1/jobs/etl', { ...good, params: { day: 'mon' } });
    expect([edited.status, edited.body.version]).toEqual([200, 2]);
    expect((await platform.api('GET', '/api/v1/jobs/etl?version=1')).body.definition.params).toEqual({});
    expect((await platform.api('GET', '/api/v1/jobs/etl/versions')).body.items).toHaveLength(2);
    const list = await platform.api('GET', '/api/v1/jobs');
    expect(list.body.items.map((j: { name: string }) => j.name)).toContain('etl');
    expect((await platform.api('DELETE', '/api/v1/jobs/etl')).status).toBe(200);
    expect((await platform.api('GET', '/api/v1/jobs/etl')).status).toBe(404);
  });

  it('serves an OpenAPI document generated from the routes, without credentials', async () => {
    const res = await fetch(`${platform.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, any>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const [path, verb] of [
      ['/api/v1/jobs/{name}', 'put'],
      ['/api/v1/jobs/{name}/runs', 'post'],
      ['/api/v1/runs/{id}', 'get'],
      ['/api/v1/runs/{id}/tasks/{key}/logs', 'get'],
      ['/api/v1/agent-tokens', 'post'],
      ['/api/v1/schedule/preview', 'post'],
      ['/api/v1/jobs/{name}/slots', 'get'],
      ['/api/v1/audit/verify', 'get'],
      ['/hooks/{triggerId}', 'post'],
    ] as const) {
      expect(doc.paths[path]?.[verb], `${verb} ${path}`).toBeDefined();
    }
    const put = doc.paths['/api/v1/jobs/{name}']!.put;
    expect(put.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(put['x-baton-permission']).toBe('update Job');
    expect(Object.keys(put.requestBody.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['name', 'tasks', 'triggers']),
    );
    expect(doc.paths['/hooks/{triggerId}']!.post.security).toBeUndefined();
    expect(doc.paths['/api/v1/runs']!.get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['job', 'state']),
    );
  });

  it('accepts YAML', async () => {
    const yaml = 'name: from-yaml\ntasks:\n  - key: only\n    type: shell\n    command: echo hi\n';
    const r = await platform.api('PUT', '/api/v1/jobs/from-yaml', yaml, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(201);
    expect(r.body.definition.tasks[0].command).toBe('echo hi');
  });

  it.each([
    [
      'a cycle, named with its path',
      {
        tasks: [
          { key: 'a', type: 'noop', dependsOn: ['b'] },
          { key: 'b', type: 'noop', dependsOn: ['a'] },
        ],
      },
      'tasks[0].dependsOn',
      /a -> b -> a|b -> a -> b/,
    ],
    [
      'an unknown dependency',
      { tasks: [{ key: 'a', type: 'noop', dependsOn: ['zz'] }] },
      'tasks[0].dependsOn[0]',
      /zz/,
    ],
    [
      'a duplicate key',
      {
        tasks: [
          { key: 'a', type: 'noop' },
          { key: 'a', type: 'noop' },
        ],
      },
      'tasks[1].key',
      /duplicate/,
    ],
    ['an unknown task type', { tasks: [{ key: 'a', type: 'bogus' }] }, 'tasks[0].type', /shell/],
    ['a shell task without command', { tasks: [{ key: 'a', type: 'shell' }] }, 'tasks[0].command', /required/],
    [
      'a bad cron',
      { triggers: [{ type: 'cron', cron: '61 * * * * *' }], tasks: [{ key: 'a', type: 'noop' }] },
      'triggers[0].cron',
      /./,
    ],
    [
      'a bad time zone',
      {
        triggers: [{ type: 'cron', cron: '0 * * * * *', timezone: 'Mars/Olympus' }],
        tasks: [{ key: 'a', type: 'noop' }],
      },
      'triggers[0].timezone',
      /./,
    ],
    [
      'a bad backoff',
      { tasks: [{ key: 'a', type: 'noop', retry: { backoff: 'sometimes' } }] },
      'tasks[0].retry.backoff',
      /./,
    ],
    ['a bad timeout', { tasks: [{ key: 'a', type: 'noop', timeout: 'soon' }] }, 'tasks[0].timeout', /./],
    ['an unknown field', { tasks: [{ key: 'a', type: 'noop', dependson: ['x'] }] }, 'tasks[0].dependson', /unknown/],
    ['no tasks', { tasks: [] }, 'tasks', /./],
  ])('rejects %s with 400 naming the field', async (_what, body, path, message) => {
    const r = await platform.api('PUT', '/api/v1/jobs/bad', { name: 'bad', ...body });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    const err = (r.body.errors as Array<{ path: string; message: string }>).find((e) => e.path === path);
    expect(err, JSON.stringify(r.body.errors)).toBeDefined();
    expect(err!.message).toMatch(message);
    expect((await platform.api('GET', '/api/v1/jobs/bad')).status).toBe(404);
  });

  it('rejects malformed JSON and YAML with 400, and a name that differs from the URL', async () => {
    const json = await platform.api('PUT', '/api/v1/jobs/x', '{"name": ', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    const yaml = await platform.api('PUT', '/api/v1/jobs/x', 'name: x\ntasks: [\n', {
      'content-type': 'application/yaml',
    });
    expect(yaml.status).toBe(400);
    expect(yaml.body.detail).toMatch(/line \d+/);
    const mismatch = await platform.api('PUT', '/api/v1/jobs/x', { ...good, name: 'y' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.errors[0].path).toBe('name');
  });
});
