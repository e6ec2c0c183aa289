import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '@baton/testing';

// The embedded default (SQLite, one process) serves the schema on the API's port.
describe('GET /api/v1/schemas/job.json', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ databaseUrl: null });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('is readable by every signed-in role and by nobody signed out', async () => {
    const url = `${platform.url}/api/v1/schemas/job.json`;
    expect((await fetch(url)).status).toBe(401);
    for (const role of ['viewer', 'auditor', 'operator', 'developer']) {
      const key = await platform.api('POST', '/api/v1/api-keys', { name: `schema ${role}`, role });
      expect(key.status).toBe(201);
      const res = await fetch(url, { headers: { authorization: `Bearer ${key.body.token}` } });
      expect(res.status, role).toBe(200);
    }
  });

  it('validates examples/hello.yaml and refuses a broken definition, as PUT /api/v1/jobs does', async () => {
    const schema = (await platform.api('GET', '/api/v1/schemas/job.json')).body;
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    const hello = parse(readFileSync(resolve(__dirname, '../../../examples/hello.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(validate(hello), JSON.stringify(validate.errors)).toBe(true);
    expect((await platform.api('PUT', '/api/v1/jobs/hello', hello)).status).toBe(201);

    const broken = { ...hello, tasks: [{ key: 'extract', type: 'shel', command: 'echo' }] };
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain('/tasks/0/type');
    const refused = await platform.api('PUT', '/api/v1/jobs/hello', broken);
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].path).toBe('tasks[0].type');
  });

  it('lists the route in the OpenAPI document with the permission it needs', async () => {
    const doc = (await platform.api('GET', '/api/v1/openapi.json')).body;
    expect(doc.paths['/api/v1/schemas/job.json'].get['x-baton-permission']).toBe('read Job');
  });
});
