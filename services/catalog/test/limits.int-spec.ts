import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

/** Nine levels of nine aliases: 9^9 (387 million) strings once expanded. */
const billionLaughs = [
  'name: laughs',
  'lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from({ length: 8 }, (_, i) => `lol${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(',')}]`),
  'tasks:',
  '  - key: a',
  '    type: noop',
  '',
].join('\n');

const job = (name: string, description = '') => ({ name, description, tasks: [{ key: 'a', type: 'noop' }] });

const expectProblem = (r: ApiResponse, status: number) => {
  expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(status);
  expect(r.headers.get('content-type')).toContain('application/problem+json');
  expect(r.body.status).toBe(status);
};

describe.each(kinds)('hostile input to the job API (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const yaml = (name: string, text: string) =>
    platform.api('PUT', `/api/v1/jobs/${name}`, text, { 'content-type': 'application/yaml' });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('refuses YAML whose aliases expand past the limit with a 400 naming the problem', async () => {
    const r = await yaml('laughs', billionLaughs);
    expectProblem(r, 400);
    expect(r.body.errors).toEqual([
      { path: '(body)', message: 'YAML: aliases expand to more than 100 nodes; such a document is refused' },
    ]);
    // A few aliases are fine, and the platform is still serving.
    const few = await yaml(
      'aliased',
      'name: aliased\nparams: &p { region: eu }\ntasks:\n  - key: a\n    type: noop\ndescription: x\n',
    );
    expect(few.status, JSON.stringify(few.body)).toBe(201);
    expect((await platform.api('GET', '/api/v1/jobs/laughs')).status).toBe(404);
  });

  it('refuses an alias without its anchor with a 400', async () => {
    const r = await yaml('dangling', 'name: dangling\nparams: *nowhere\ntasks:\n  - key: a\n    type: noop\n');
    expectProblem(r, 400);
    expect(r.body.errors[0].path).toBe('(body)');
    expect(r.body.errors[0].message).toMatch(/^YAML: Unresolved alias.*nowhere/);
  });

  it('refuses a body nested deeper than 64 levels with a 400 (JSON.parse takes it; what follows would overflow)', async () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const json = await platform.api('PUT', '/api/v1/jobs/deep', `{"name":"deep","params":{"x":${nested(5000)}}}`, {
      'content-type': 'application/json',
    });
    expectProblem(json, 400);
    expect(json.body.errors).toEqual([
      { path: '(body)', message: 'nests objects and arrays more than 64 levels deep' },
    ]);
    const asYaml = await yaml(
      'deep',
      `name: deep
params:
  x: ${nested(100)}
`,
    );
    expectProblem(asYaml, 400);
    expect(asYaml.body.errors[0].message).toBe('nests objects and arrays more than 64 levels deep');
    const run = await platform.api('POST', '/api/v1/jobs/deep/runs', `{"params":{"x":${nested(5000)}}}`, {
      'content-type': 'application/json',
    });
    expectProblem(run, 400);
  });

  it('answers a JSON or YAML body over 1 MiB with 413 problem+json, and takes one under it', async () => {
    const big = 'x'.repeat(1_100_000);
    const json = await platform.api('PUT', '/api/v1/jobs/big', job('big', big));
    expectProblem(json, 413);
    expect(json.body.code).toBe('payload_too_large');
    expect(json.body.detail).toMatch(/^the request body \(\d+ bytes\) is larger than 1 MiB/);
    const asYaml = await yaml('big', `name: big\ndescription: ${big}\ntasks:\n  - key: a\n    type: noop\n`);
    expectProblem(asYaml, 413);
    expect(asYaml.body.detail).toMatch(/larger than 1 MiB/);
    const fits = await platform.api('PUT', '/api/v1/jobs/big', job('big', 'x'.repeat(900_000)));
    expect(fits.status).toBe(201);
  });
});

describe('a smaller BATON_MAX_BODY_BYTES', () => {
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform({ databaseUrl: null, env: { BATON_MAX_BODY_BYTES: '4096' } });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('limits JSON and YAML bodies, and signed webhooks keep their own 1 MiB limit', async () => {
    const tooBig = await platform.api('PUT', '/api/v1/jobs/small', job('small', 'x'.repeat(5_000)));
    expectProblem(tooBig, 413);
    expect(tooBig.body.detail).toMatch(/larger than 4 KiB/);
    expect((await platform.api('PUT', '/api/v1/jobs/small', job('small', 'x'.repeat(3_000)))).status).toBe(201);

    const put = await platform.api('PUT', '/api/v1/jobs/hooked', {
      name: 'hooked',
      triggers: [{ type: 'webhook', params: { size: '{{ body.size }}' } }],
      tasks: [{ key: 'a', type: 'noop' }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const { triggerId, secret } = (await platform.api('POST', '/api/v1/jobs/hooked/triggers/0/secret')).body as {
      triggerId: string;
      secret: string;
    };
    const body = JSON.stringify({ size: 'large', padding: 'x'.repeat(100_000) });
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${platform.url}/hooks/${triggerId}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-baton-timestamp': String(ts),
        'x-baton-signature': `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`,
      },
    });
    expect(res.status, await res.text()).toBe(202);
    const runs = await waitFor('the webhook run', async () => {
      const items = (await platform.api('GET', '/api/v1/runs?job=hooked')).body.items as Array<{ params: unknown }>;
      return items.length > 0 ? items : null;
    });
    expect(runs.map((r) => r.params)).toEqual([{ size: 'large' }]);
  });
});
