import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kafka, logLevel } from 'kafkajs';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type ApiResponse,
  HttpReceiver,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  freePort,
  runCli,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  testKafkaBrokers,
  verifyWebhookSignature,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();
// With a broker the platform's bus is Kafka and its topics are searched too (skipped visibly without one).
const brokers = await testKafkaBrokers();

interface Task {
  key: string;
  state: string;
  error: string | null;
  output: unknown;
}
interface Run {
  id: string;
  state: string;
  tasks: Task[];
}

const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');

describe.each(kinds)('secrets (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let agent: AgentProcess;
  let hook: Server;
  let hookUrl = '';
  /** The Authorization headers the HTTP task sent. */
  const received: string[] = [];
  /** Every response body and header this test got from the API: searched for the canaries at the end. */
  const responses: string[] = [];
  // Canaries: random, so that only a leak can put them anywhere.
  const canary = {
    CANARY_ENV: `cnryenv${randomBytes(12).toString('hex')}`,
    CANARY_CMD: `cnrycmd${randomBytes(12).toString('hex')}`,
    CANARY_HDR: `cnryhdr${randomBytes(12).toString('hex')}`,
  };
  const values = Object.values(canary);
  const topicPrefix = `canary-${randomBytes(4).toString('hex')}.`;

  const api = async <T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>> => {
    const r = await platform.api<T>(method, path, body, headers);
    responses.push(JSON.stringify(r.body), JSON.stringify([...r.headers.entries()]));
    return r;
  };
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  const runAndWait = async (job: string): Promise<Run> => {
    const r = await api<Run>('POST', `/api/v1/jobs/${job}/runs`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return waitFor(
      `run of ${job} to finish`,
      async () => {
        const g = await api<Run>('GET', `/api/v1/runs/${r.body.id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(g.body.state) ? g.body : null;
      },
      30_000,
    );
  };

  beforeAll(async () => {
    hook = createServer((req, res) => {
      received.push(String(req.headers.authorization ?? ''));
      // Echoes the header: the task's output would carry the value if the agent did not mask it.
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ seen: req.headers.authorization ?? null }));
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      env: {
        BATON_SECRETS_KEY: `k1:${randomBytes(32).toString('base64url')}`,
        ...(brokers ? { BATON_KAFKA_BROKERS: brokers.join(','), BATON_KAFKA_TOPIC_PREFIX: topicPrefix } : {}),
      },
    });
    const token = (await api<{ token: string }>('POST', '/api/v1/agent-tokens', { name: 'canary' })).body.token;
    agent = startAgentProcess({
      server: platform.grpc,
      token,
      name: 'canary-agent',
      workDir: mkdtempSync(join(tmpdir(), 'baton-secrets-agent-')),
    });
    await waitFor('the agent to connect', async () => {
      const r = await api<{ items: Array<{ name: string; status: string }> }>('GET', '/api/v1/agents');
      return r.body.items.some((a) => a.name === 'canary-agent' && a.status === 'connected');
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await platform?.stop();
    await db?.drop();
    await new Promise((r) => hook?.close(r));
  });

  it('stores, replaces, lists and deletes secrets without ever returning a value', async () => {
    for (const [name, value] of Object.entries(canary)) {
      const r = await api('PUT', `/api/v1/secrets/${name}`, { value: `old-${value}` });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const again = await api('PUT', `/api/v1/secrets/${name}`, { value });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ name, keyId: 'k1' });
    }
    const list = await api<{ items: Array<Record<string, unknown>> }>('GET', '/api/v1/secrets');
    expect(list.body.items.map((s) => s.name)).toEqual(['CANARY_CMD', 'CANARY_ENV', 'CANARY_HDR']);
    expect(Object.keys(list.body.items[0]!).sort()).toEqual(['createdAt', 'keyId', 'name', 'updatedAt', 'updatedBy']);
    expect((await api('PUT', '/api/v1/secrets/TEMP', { value: 'x' })).status).toBe(201);
    expect((await api('DELETE', '/api/v1/secrets/TEMP')).status).toBe(200);
    expect((await api('DELETE', '/api/v1/secrets/TEMP')).status).toBe(404);
  });

  it.each([
    ['a bad name', '/api/v1/secrets/1bad-name', { value: 'v' }, 'name'],
    ['a missing value', '/api/v1/secrets/OK_NAME', {}, 'value'],
    ['an empty value', '/api/v1/secrets/OK_NAME', { value: '' }, 'value'],
    ['a value too large', '/api/v1/secrets/OK_NAME', { value: 'x'.repeat(16 * 1024 + 1) }, 'value'],
    ['an unknown field', '/api/v1/secrets/OK_NAME', { value: 'v', extra: 1 }, ''],
  ])('answers 400 naming the field for %s', async (_what, path, body, field) => {
    const r = await api<{ detail: string }>('PUT', path, body);
    expect(r.status).toBe(400);
    expect(r.body.detail).toContain(field);
  });

  it('lets each role do what the table says, and another tenant sees nothing', async () => {
    const keys: Record<string, string> = {};
    for (const role of ['developer', 'operator', 'viewer', 'auditor']) {
      keys[role] = (await api('POST', '/api/v1/api-keys', { name: `k-${role}`, role })).body.token;
    }
    const rows: Array<[string, string, string, number]> = [
      ['developer', 'PUT', '/api/v1/secrets/DEV_ONE', 201],
      ['developer', 'DELETE', '/api/v1/secrets/DEV_ONE', 200],
      ['developer', 'GET', '/api/v1/secrets', 200],
      ['developer', 'POST', '/api/v1/secrets/rotate-key', 403],
      ['operator', 'GET', '/api/v1/secrets', 200],
      ['operator', 'PUT', '/api/v1/secrets/OP_ONE', 403],
      ['operator', 'DELETE', '/api/v1/secrets/CANARY_ENV', 403],
      ['viewer', 'GET', '/api/v1/secrets', 200],
      ['viewer', 'PUT', '/api/v1/secrets/VIEW_ONE', 403],
      ['auditor', 'GET', '/api/v1/secrets', 200],
      ['auditor', 'DELETE', '/api/v1/secrets/CANARY_ENV', 403],
    ];
    for (const [role, method, path, status] of rows) {
      const body = method === 'PUT' ? { value: 'role-test' } : undefined;
      const r = await api(method, path, body, as(keys[role]!));
      expect(r.status, `${role} ${method} ${path}`).toBe(status);
    }
    const acme = (await api('POST', '/api/v1/tenants', { name: 'acme-secrets' })).body.adminToken as string;
    expect((await api('GET', '/api/v1/secrets', undefined, as(acme))).body.items).toEqual([]);
    expect((await api('DELETE', '/api/v1/secrets/CANARY_ENV', undefined, as(acme))).status).toBe(404);
    // The same name in another tenant is another secret; the first tenant's value is untouched (the run below).
    expect((await api('PUT', '/api/v1/secrets/CANARY_ENV', { value: 'acme-value' }, as(acme))).status).toBe(201);
  });

  it('resolves secrets only into the Assign; no plaintext anywhere else', async () => {
    const h = sha256(canary.CANARY_ENV);
    // Split across output chunks: the first half, a pause longer than the agent's 50 ms flush, the second half.
    const command = [
      `test "$(printf %s "$CANARY" | sha256sum | cut -d" " -f1)" = "${h}" || exit 7`,
      'printf %s "$CANARY" | head -c 12; sleep 0.4; printf %s "$CANARY" | tail -c +13; echo',
      'echo "whole: $CANARY" >&2',
      'echo cmd {{ secrets.CANARY_CMD }}',
      `printf '{"echo": "%s", "hash": "%s"}' "$CANARY" "${h}" > "$BATON_OUTPUT"`,
    ].join('\n');
    const def = {
      name: 'canary',
      tasks: [
        { key: 'shell', type: 'shell', command, env: { CANARY: '{{ secrets.CANARY_ENV }}' } },
        {
          key: 'http',
          type: 'http',
          http: {
            method: 'GET',
            url: `${hookUrl}/hook`,
            headers: { Authorization: 'Bearer {{ secrets.CANARY_HDR }}' },
          },
        },
        { key: 'missing', type: 'shell', command: 'echo "{{ secrets.NOT_THERE }}"' },
      ],
    };
    const put = await api('PUT', '/api/v1/jobs/canary', def);
    expect([200, 201], JSON.stringify(put.body)).toContain(put.status);
    // The stored definition keeps the reference.
    expect(JSON.stringify((await api('GET', '/api/v1/jobs/canary')).body)).toContain('{{ secrets.CANARY_ENV }}');

    const run = await runAndWait('canary');
    const task = (key: string) => run.tasks.find((t) => t.key === key)!;
    // The task really got the value: it exits 0 only if the hash matches.
    expect(task('shell').state, JSON.stringify(task('shell'))).toBe('succeeded');
    expect(task('shell').output).toEqual({ echo: '***', hash: h });
    expect(received).toEqual([`Bearer ${canary.CANARY_HDR}`]);
    expect(task('http').state).toBe('succeeded');
    expect(JSON.stringify(task('http').output)).toContain('Bearer ***');
    // Only the task that refers to a missing secret fails, naming it.
    expect(task('missing').state).toBe('failed');
    expect(task('missing').error).toContain('secret NOT_THERE does not exist');

    const log = await api<string>('GET', `/api/v1/runs/${run.id}/tasks/shell/logs`);
    expect(log.body).toContain('***');
    expect(log.body).toContain('whole: ***');
    expect(log.body).toContain('cmd ***');
    await api('GET', `/api/v1/runs/${run.id}/tasks/http/logs`);
    await api('GET', `/api/v1/runs/${run.id}/tasks/missing/logs`);
    await api('GET', `/api/v1/runs/${run.id}`);
    await api('GET', '/api/v1/runs');
    await api('GET', '/api/v1/jobs/canary');

    // The audit log has the writes (names, never values).
    const audit = await waitFor('the secret writes in the audit log', async () => {
      const r = await api<{ items: Array<{ action: string; target: string }> }>('GET', '/api/v1/audit?limit=500');
      const actions = r.body.items.map((i) => i.action);
      return actions.includes('secret.created') && actions.includes('secret.deleted') ? r.body.items : null;
    });
    expect(audit.some((i) => i.action === 'secret.updated' && i.target === 'secret CANARY_ENV')).toBe(true);

    // Now search everything for a plaintext canary.
    const places: Record<string, string> = {
      'server log': platform.output(),
      'agent log': agent.output(),
      'API responses': responses.join('\n'),
      database: await databaseText(),
      ...(brokers ? { 'Kafka topics': await kafkaText() } : {}),
    };
    for (const [where, text] of Object.entries(places)) {
      for (const v of values) expect(text.includes(v), `${v} found in the ${where}`).toBe(false);
    }
    // The search can fail: the database holds the sealed rows and the log the masked output.
    expect(places.database).toContain('v2.k1.');
    expect(places['API responses']).toContain('CANARY_ENV');
    if (brokers) expect(places['Kafka topics']).toContain('secret.created');
  });

  /** Every record (key, value, headers) of every topic of this platform, from the beginning. */
  async function kafkaText(): Promise<string> {
    const kafka = new Kafka({ clientId: 'secrets-canary', brokers: brokers!, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    let expected = 0;
    for (const t of topics) {
      for (const o of await admin.fetchTopicOffsets(t)) expected += Number(o.high) - Number(o.low);
    }
    await admin.disconnect();
    expect(topics.length).toBeGreaterThan(0);
    const consumer = kafka.consumer({ groupId: `secrets-canary-${randomBytes(4).toString('hex')}` });
    const seen: string[] = [];
    let records = 0;
    await consumer.connect();
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          records++;
          const headers = Object.entries(message.headers ?? {}).map(([k, v]) => `${k}=${String(v)}`);
          seen.push(topic, message.key?.toString('latin1') ?? '', message.value?.toString('latin1') ?? '', ...headers);
        },
      });
      await waitFor('every Kafka record', async () => records >= expected, 60_000);
    } finally {
      await consumer.disconnect();
    }
    return seen.join('\n');
  }

  /** Every byte of the database: the SQLite files, or every row of every MariaDB table. */
  async function databaseText(): Promise<string> {
    if (kind === 'sqlite') {
      const files = readdirSync(platform.dataDir).filter((f) => f.startsWith('baton.db'));
      expect(files).toContain('baton.db');
      return files.map((f) => readFileSync(join(platform.dataDir, f)).toString('latin1')).join('\n');
    }
    const c = await createConnection({ uri: db.url! });
    try {
      const [tables] = (await c.query('SHOW TABLES')) as unknown as [Array<Record<string, string>>];
      const out: string[] = [];
      for (const t of tables) {
        const name = Object.values(t)[0]!;
        const [rows] = await c.query(`SELECT * FROM \`${name}\``);
        out.push(name, JSON.stringify(rows));
      }
      expect(out).toContain('secrets');
      return out.join('\n');
    } finally {
      await c.end();
    }
  }
});

describe.each(kinds)('secrets from the CLI, across a key rotation (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform | null = null;
  // One data dir (the SQLite file, the local agent's work) for the three starts with different key rings.
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-secrets-rotate-'));
  const key1 = `k1:${randomBytes(32).toString('base64url')}`;
  const key2 = `k2:${randomBytes(32).toString('base64url')}`;
  const value = `rot${randomBytes(16).toString('hex')}\nsecond line`;
  const hookSecret = `whsec-${randomBytes(16).toString('hex')}`;
  let hooks: HttpReceiver;

  const start = async (ring: string) => {
    await platform?.stop();
    platform = await startPlatform({
      databaseUrl: db.url,
      localAgent: true,
      // the webhook receiver listens on 127.0.0.1
      env: { BATON_DATA_DIR: dataDir, BATON_SECRETS_KEY: ring, BATON_ALERTS_ALLOW_PRIVATE_URLS: 'true' },
    });
    return platform;
  };
  /** The key id an alert channel's sealed secret names, read behind the API's back. */
  const channelKeyId = async (name: string): Promise<string> => {
    let sealed: string;
    if (kind === 'mariadb') {
      const c = await createConnection({ uri: db.url! });
      const [rows] = await c.query('SELECT secret_sealed AS s FROM alert_channels WHERE name = ?', [name]);
      await c.end();
      sealed = (rows as Array<{ s: string }>)[0]!.s;
    } else {
      const f = new Sqlite(join(dataDir, 'baton.db'), { readonly: true });
      sealed = (f.prepare('SELECT secret_sealed AS s FROM alert_channels WHERE name = ?').get(name) as { s: string }).s;
      f.close();
    }
    return sealed.split('.')[1]!;
  };
  const cli = (p: Platform, args: string[], input?: string) =>
    runCli(args, { BATON_SERVER: p.url, BATON_TOKEN: p.token }, undefined, input);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    hooks = await new HttpReceiver(await freePort()).start();
  });

  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    await hooks?.stop();
  });

  it('sets from stdin, lists, rotates to a new key and still hands the value to a task', async () => {
    let p = await start(key1);
    // An alert webhook channel signs with a secret sealed under the same ring.
    const channel = { type: 'webhook', url: hooks.url('/rotated'), secret: hookSecret };
    expect((await p.api('PUT', '/api/v1/alert-channels/rotated', channel)).status).toBe(201);
    const rule = { events: ['run_failed'], jobs: ['doomed'], channels: ['rotated'] };
    expect((await p.api('PUT', '/api/v1/alert-rules/rotated', rule)).status).toBe(201);
    expect(await channelKeyId('rotated')).toBe('k1');
    const set = await cli(p, ['secret', 'set', 'ROTATED'], `${value}\n`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('{{ secrets.ROTATED }}');
    expect((await cli(p, ['secret', 'set', 'GONE', '--value', 'bye'])).code).toBe(0);
    expect((await cli(p, ['secret', 'delete', 'GONE'])).code).toBe(0);
    const listed = await cli(p, ['secrets']);
    expect(listed.stdout).toMatch(/ROTATED\s+k1\s/);
    expect(listed.stdout).not.toContain('GONE');
    expect(listed.stdout + set.stdout).not.toContain(value.split('\n')[0]);

    // The new key first, the old one kept: everything opens, then is sealed again under k2.
    p = await start(`${key2},${key1}`);
    const rotated = await cli(p, ['secrets', 'rotate-key']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('1 secret(s) and 1 alert channel secret(s) sealed again under key k2');
    expect((await cli(p, ['secrets'])).stdout).toMatch(/ROTATED\s+k2\s/);
    expect(await channelKeyId('rotated')).toBe('k2');
    expect((await cli(p, ['secrets', 'rotate-key'])).stdout).toContain('0 secret(s) and 0 alert channel secret(s)');

    // Without the old key the value still reaches a task, intact (two lines).
    p = await start(key2);
    const h = sha256(value);
    const put = await p.api('PUT', '/api/v1/jobs/rotated', {
      name: 'rotated',
      tasks: [
        {
          key: 'check',
          type: 'shell',
          env: { V: '{{ secrets.ROTATED }}' },
          command: `test "$(printf %s "$V" | sha256sum | cut -d" " -f1)" = "${h}"`,
        },
      ],
    });
    expect([200, 201]).toContain(put.status);
    const runId = (await p.api('POST', '/api/v1/jobs/rotated/runs', {})).body.id as string;
    const run = await waitFor('the rotated run', async () => {
      const r = await p.api<Run>('GET', `/api/v1/runs/${runId}`);
      return ['succeeded', 'failed'].includes(r.body.state) ? r.body : null;
    });
    expect(run.state, JSON.stringify(run.tasks)).toBe('succeeded');

    // Without the old key the channel still opens its secret: a failed run's webhook arrives, correctly signed.
    const doomed = { name: 'doomed', tasks: [{ key: 'boom', type: 'shell', command: 'exit 3' }] };
    expect([200, 201]).toContain((await p.api('PUT', '/api/v1/jobs/doomed', doomed)).status);
    const failedId = (await p.api('POST', '/api/v1/jobs/doomed/runs', {})).body.id as string;
    const hook = await waitFor(
      'the webhook of the failed run',
      async () => hooks.on('/rotated').find((h) => h.body.runId === failedId) ?? null,
      30_000,
    );
    expect(verifyWebhookSignature(hook, hookSecret)).toBe(true);
    expect(verifyWebhookSignature(hook, 'another secret')).toBe(false);
  });
});
