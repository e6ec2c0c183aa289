import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpReceiver,
  type Platform,
  type ServiceProcess,
  SmtpReceiver,
  type TestDatabase,
  createTestDatabase,
  freePort,
  runCli,
  startAgentProcess,
  startPlatform,
  startServiceProcess,
  testDatabaseKinds,
  testKafkaBrokers,
  verifyWebhookSignature,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

const SECRET = 'whsec-test-0123456789abcdef';
const verify = verifyWebhookSignature;

interface AlertItem {
  event: string;
  rule: string;
  channel: string;
  runId: string | null;
  taskKey: string | null;
  reason: string | null;
  state: string;
  attempts: number;
  lastError: string | null;
  resolved: boolean;
}

/** Runs SQL against the platform's database (MariaDB, or its SQLite file). */
async function sql(kind: string, db: TestDatabase, platform: Platform, text: string): Promise<unknown[]> {
  if (kind === 'mariadb') {
    const c = await createConnection({ uri: db.url! });
    const rows = (await c.query(text))[0] as unknown[];
    await c.end();
    return Array.isArray(rows) ? rows : [];
  }
  const s = new Sqlite(join(platform.dataDir, 'baton.db'));
  s.pragma('busy_timeout = 5000');
  const st = s.prepare(text);
  const rows = st.reader ? st.all() : (st.run(), []);
  s.close();
  return rows;
}

/** Long enough for another presence check (every 5 s) to have sent a duplicate, if it would. */
const AGENT_SETTLE_MS = 6_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(kinds)('alerts (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let hooks: HttpReceiver;
  let smtp: SmtpReceiver;

  beforeAll(async () => {
    hooks = await new HttpReceiver(await freePort()).start();
    smtp = await SmtpReceiver.start();
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      localAgent: true,
      env: {
        BATON_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        BATON_SMTP_FROM: 'baton@alerts.test',
        // the receivers listen on 127.0.0.1 (alert-urls.int-spec.ts shows the refusal)
        BATON_ALERTS_ALLOW_PRIVATE_URLS: 'true',
        BATON_PUBLIC_URL: 'http://portal.test',
      },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    await hooks?.stop();
    await smtp?.stop();
  });

  const api = <T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    platform.api<T>(method, path, body, headers);
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await api(method, path, body);
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    return r.body;
  };
  const failingJob = (name: string, extra: Record<string, unknown> = {}) =>
    ok('PUT', `/api/v1/jobs/${name}`, {
      name,
      tasks: [{ key: 'boom', type: 'shell', command: 'echo going down; exit 3', ...extra }],
    });
  const start = async (name: string) => (await ok('POST', `/api/v1/jobs/${name}/runs`, {})).id as string;
  const finished = (id: string) =>
    waitFor(`run ${id} to end`, async () => {
      const s = (await api('GET', `/api/v1/runs/${id}`)).body.state;
      return s === 'failed' || s === 'succeeded' ? s : null;
    });
  const history = async (q: string) => (await api<{ items: AlertItem[] }>('GET', `/api/v1/alerts?${q}`)).body.items;
  const webhooksAbout = (path: string, runId: string) => hooks.on(path).filter((g) => g.body.runId === runId);

  it('answers 400 naming the field for bad channels and rules', async () => {
    const bad = async (path: string, body: unknown, field: RegExp) => {
      const r = await api('PUT', path, body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(field);
    };
    await bad('/api/v1/alert-channels/x', { type: 'webhook' }, /"path":"url"/);
    await bad('/api/v1/alert-channels/x', { type: 'slack', url: 'not a url' }, /"path":"url"/);
    await bad('/api/v1/alert-channels/x', { type: 'email' }, /"path":"to"/);
    await bad('/api/v1/alert-channels/x', { type: 'email', to: ['nobody'] }, /"path":"to\[0\]"/);
    await bad('/api/v1/alert-channels/x', { type: 'pager', url: 'http://x.test' }, /"path":"type"/);
    await bad('/api/v1/alert-channels/bad%20name', { type: 'slack', url: 'http://x.test' }, /"path":"name"/);
    await bad('/api/v1/alert-rules/r', { events: ['run_failed'], channels: ['nope'] }, /"path":"channels\[0\]"/);
    await bad('/api/v1/alert-rules/r', { events: ['run_exploded'], channels: ['nope'] }, /"path":"events\[0\]"/);
    await bad('/api/v1/alert-rules/r', { events: ['run_failed'], channels: [] }, /"path":"channels"/);
    await ok('PUT', '/api/v1/alert-channels/x', { type: 'slack', url: hooks.url('/x') });
    await bad(
      '/api/v1/alert-rules/r',
      { events: ['run_failed'], channels: ['x'], throttle: 'soon' },
      /"path":"throttle"/,
    );
    expect((await api('DELETE', '/api/v1/alert-channels/x')).status).toBe(200);
  });

  it('stores a webhook secret sealed and never shows it', async () => {
    const put = await api('PUT', '/api/v1/alert-channels/hook', {
      type: 'webhook',
      url: hooks.url('/hook'),
      secret: SECRET,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const got = await api('GET', '/api/v1/alert-channels/hook');
    expect(got.body).toMatchObject({ name: 'hook', type: 'webhook', url: hooks.url('/hook'), hasSecret: true });
    expect(JSON.stringify(got.body)).not.toContain(SECRET);
    expect(JSON.stringify((await api('GET', '/api/v1/alert-channels')).body)).not.toContain(SECRET);
    const stored = (await sql(
      kind,
      db,
      platform,
      "SELECT secret_sealed FROM alert_channels WHERE name = 'hook'",
    )) as Array<{
      secret_sealed: string;
    }>;
    expect(stored[0]!.secret_sealed).toMatch(/^v2\./);
    expect(stored[0]!.secret_sealed).not.toContain(SECRET);
    expect((await api('PUT', '/api/v1/alert-channels/chat', { type: 'slack', url: hooks.url('/chat') })).status).toBe(
      201,
    );
    expect((await api('PUT', '/api/v1/alert-channels/mail', { type: 'email', to: ['ops@alerts.test'] })).status).toBe(
      201,
    );
  });

  it('sends one signed webhook, one Slack message and one email for a failed run, even when its events come twice', async () => {
    expect(
      (
        await api('PUT', '/api/v1/alert-rules/failures', {
          events: ['run_failed'],
          jobs: ['fail-*'],
          channels: ['hook', 'chat', 'mail'],
        })
      ).status,
    ).toBe(201);
    await failingJob('fail-once');
    const id = await start('fail-once');
    expect(await finished(id)).toBe('failed');
    const [hook] = await waitFor('the webhook', async () =>
      webhooksAbout('/hook', id).length ? webhooksAbout('/hook', id) : null,
    );
    await waitFor('the Slack message', async () => hooks.on('/chat').some((g) => g.body.text.includes(id)) || null);
    await waitFor('the email', async () => smtp.about(id).length > 0 || null);

    expect(verify(hook!, SECRET)).toBe(true);
    expect(verify({ ...hook!, raw: hook!.raw.replace('fail-once', 'fail-twice') }, SECRET)).toBe(false);
    expect(hook!.headers['x-baton-event']).toBe('run_failed');
    expect(hook!.body).toMatchObject({
      event: 'run_failed',
      resolved: false,
      rule: 'failures',
      job: 'fail-once',
      runId: id,
      taskKey: 'boom',
      runUrl: `http://portal.test/run/?id=${id}`,
      title: 'Run failed: job fail-once',
    });
    expect(hook!.body.reason).toMatch(/^task boom failed/);
    const slack = hooks.on('/chat').find((g) => g.body.text.includes(id))!;
    expect(slack.body.text.split('\n')[0]).toBe('Run failed: job fail-once');
    expect(slack.body.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'actions']);
    const [mail] = smtp.about(id);
    expect(mail!.to).toEqual(['ops@alerts.test']);
    expect(mail!.subject).toBe('Run failed: job fail-once');
    expect(mail!.text).toContain(`http://portal.test/run/?id=${id}`);
    expect(mail!.text).toContain('Task: boom');

    // The run's events delivered again (the relay publishes them once more): no second alert.
    const recorded = () =>
      platform
        .output()
        .split('\n')
        .filter((l) => l.includes('alerts recorded') && l.includes(id));
    expect(recorded()).toHaveLength(1);
    const again = (await sql(kind, db, platform, `SELECT seq FROM outbox WHERE payload LIKE '%${id}%'`)) as unknown[];
    expect(again.length).toBeGreaterThan(0);
    await sql(kind, db, platform, `UPDATE outbox SET published_at = NULL WHERE payload LIKE '%${id}%'`);
    await waitFor('the events published again', async () => {
      const rows = (await sql(kind, db, platform, `SELECT seq FROM outbox WHERE published_at IS NULL`)) as unknown[];
      return rows.length === 0 || null;
    });
    await waitFor('the run failure consumed again', async () => recorded().length >= 2 || null);
    await sleep(1_500);
    expect(webhooksAbout('/hook', id)).toHaveLength(1);
    expect(hooks.on('/chat').filter((g) => g.body.text.includes(id))).toHaveLength(1);
    expect(smtp.about(id)).toHaveLength(1);
    const items = (await history('rule=failures')).filter((a) => a.runId === id);
    expect(items.map((a) => [a.channel, a.state, a.attempts]).sort()).toEqual([
      ['chat', 'sent', 1],
      ['hook', 'sent', 1],
      ['mail', 'sent', 1],
    ]);
    expect(items.every((a) => a.event === 'run_failed' && a.taskKey === 'boom')).toBe(true);
  });

  it('throttles a rule per job: the second failure within the throttle is suppressed and counted', async () => {
    await ok('PUT', '/api/v1/alert-rules/throttled', {
      events: ['run_failed'],
      jobs: ['thr'],
      channels: ['hook'],
      throttle: '10m',
    });
    await failingJob('thr');
    const first = await start('thr');
    await finished(first);
    await waitFor('the first alert', async () => webhooksAbout('/hook', first).length > 0 || null);
    const second = await start('thr');
    await finished(second);
    const items = await waitFor('the second recorded', async () => {
      const all = await history('rule=throttled&job=thr');
      return all.length === 2 ? all : null;
    });
    // Newest first.
    expect(items.map((a) => [a.runId, a.state])).toEqual([
      [second, 'suppressed'],
      [first, 'sent'],
    ]);
    expect((await history('rule=throttled&state=suppressed')).map((a) => a.runId)).toEqual([second]);
    await sleep(1_000);
    expect(webhooksAbout('/hook', second)).toHaveLength(0);
  });

  it('retries a delivery while its receiver is down, then sends it', async () => {
    const late = new HttpReceiver(await freePort());
    await ok('PUT', '/api/v1/alert-channels/late', { type: 'webhook', url: late.url('/late') });
    await ok('PUT', '/api/v1/alert-rules/retrying', { events: ['run_failed'], jobs: ['down'], channels: ['late'] });
    await failingJob('down');
    const id = await start('down');
    const failed = await waitFor('a failed attempt', async () => {
      const [a] = await history('rule=retrying');
      return a && a.attempts >= 1 && a.lastError ? a : null;
    });
    expect(failed.state).toBe('pending');
    expect(failed.lastError).toMatch(/ECONNREFUSED/);
    await late.start();
    try {
      await waitFor('the retried delivery', async () => late.on('/late').length > 0 || null, 20_000);
      const [sent] = await waitFor('recorded sent', async () => {
        const all = await history('rule=retrying');
        return all[0]?.state === 'sent' ? all : null;
      });
      expect(sent).toMatchObject({ runId: id, state: 'sent', attempts: 2 });
      expect(late.on('/late')).toHaveLength(1);
    } finally {
      await late.stop();
    }
  });

  it('alerts a task that failed after its last attempt, once', async () => {
    await ok('PUT', '/api/v1/alert-rules/tasks', { events: ['task_failed'], jobs: ['retried'], channels: ['hook'] });
    await failingJob('retried', { retry: { maxAttempts: 2, backoff: 'immediate' } });
    const id = await start('retried');
    await finished(id);
    const [a] = await waitFor('the task alert', async () => {
      const got = webhooksAbout('/hook', id);
      return got.length > 0 ? got : null;
    });
    expect(a!.body).toMatchObject({
      event: 'task_failed',
      taskKey: 'boom',
      title: 'Task failed: task boom of job retried',
    });
    const attempts = (await api('GET', `/api/v1/runs/${id}`)).body.tasks[0].attempts;
    expect(attempts).toHaveLength(2);
    await sleep(1_000);
    expect(webhooksAbout('/hook', id)).toHaveLength(1);
  });

  it('alerts an SLA at risk, then sends its resolved notice when the run meets it', async () => {
    await ok('PUT', '/api/v1/alert-rules/deadlines', {
      events: ['sla_at_risk', 'sla_missed'],
      jobs: ['predicted'],
      channels: ['hook'],
    });
    const tasks = [{ key: 'slow', type: 'shell', command: 'sleep 1.5' }];
    await ok('PUT', '/api/v1/jobs/predicted', { name: 'predicted', tasks });
    for (let i = 0; i < 2; i++) await finished(await start('predicted'));
    await ok('PUT', '/api/v1/jobs/predicted', {
      name: 'predicted',
      sla: { maxDuration: '4s', warnBefore: '3s' },
      tasks,
    });
    const id = await start('predicted');
    const got = await waitFor(
      'the warning and its resolved notice',
      async () => {
        const all = webhooksAbout('/hook', id);
        return all.length >= 2 ? all : null;
      },
      20_000,
    );
    expect(got.map((g) => [g.body.event, g.body.resolved])).toEqual([
      ['sla_at_risk', false],
      ['sla_at_risk', true],
    ]);
    expect(got[0]!.body.title).toBe('SLA at risk: job predicted');
    expect(got[1]!.body.title).toBe('Resolved: SLA at risk: job predicted');
  });

  it("does not show or use another tenant's channels, rules or alerts; viewers read the history only", async () => {
    const t = await api('POST', '/api/v1/tenants', { name: 'acme' });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    const acme = { authorization: `Bearer ${t.body.adminToken as string}` };
    expect((await api('GET', '/api/v1/alert-channels/hook', undefined, acme)).status).toBe(404);
    expect((await api('DELETE', '/api/v1/alert-channels/hook', undefined, acme)).status).toBe(404);
    expect((await api('GET', '/api/v1/alert-rules/failures', undefined, acme)).status).toBe(404);
    expect((await api('GET', '/api/v1/alert-channels', undefined, acme)).body.items).toEqual([]);
    expect((await api('GET', '/api/v1/alerts', undefined, acme)).body.items).toEqual([]);
    const r = await api('PUT', '/api/v1/alert-rules/mine', { events: ['run_failed'], channels: ['hook'] }, acme);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/channels\[0\]/);
    // Still there for its own tenant.
    expect((await api('GET', '/api/v1/alert-channels/hook')).status).toBe(200);

    const key = async (role: string) => ({
      authorization: `Bearer ${(await ok('POST', '/api/v1/api-keys', { name: `k-${role}`, role })).token as string}`,
    });
    const viewer = await key('viewer');
    expect((await api('GET', '/api/v1/alerts', undefined, viewer)).status).toBe(200);
    expect((await api('GET', '/api/v1/alert-rules', undefined, viewer)).status).toBe(200);
    expect((await api('PUT', '/api/v1/alert-channels/v', { type: 'slack', url: hooks.url('/v') }, viewer)).status).toBe(
      403,
    );
    const operator = await key('operator');
    expect(
      (await api('PUT', '/api/v1/alert-channels/op', { type: 'slack', url: hooks.url('/op') }, operator)).status,
    ).toBe(201);
    expect((await api('DELETE', '/api/v1/alert-channels/op', undefined, operator)).status).toBe(200);
  });

  it('alerts an agent offline longer than the rule says, then resolves it when it is back', async () => {
    await ok('PUT', '/api/v1/alert-rules/agents', {
      events: ['agent_offline'],
      channels: ['hook'],
      agentOfflineAfter: '1s',
    });
    const token = await platform.agentToken();
    const work = mkdtempSync(join(tmpdir(), 'baton-alerts-agent-'));
    const agentUp = () => startAgentProcess({ server: platform.grpc, token, name: 'edge-1', workDir: work });
    const status = async () =>
      ((await api('GET', '/api/v1/agents')).body.items as Array<{ name: string; status: string }>).find(
        (a) => a.name === 'edge-1',
      )?.status;
    let agent = agentUp();
    try {
      await waitFor('the agent connected', async () => (await status()) === 'connected' || null);
      await agent.stop();
      const about = () => hooks.on('/hook').filter((g) => g.body.agent === 'edge-1');
      const [offline] = await waitFor('the offline alert', async () => (about().length > 0 ? about() : null), 20_000);
      expect(offline!.body).toMatchObject({
        event: 'agent_offline',
        resolved: false,
        title: 'Agent offline: agent edge-1',
      });
      expect(offline!.body.reason).toMatch(/^no connection since /);
      agent = agentUp();
      const both = await waitFor('the resolved notice', async () => (about().length >= 2 ? about() : null), 20_000);
      expect(both.map((g) => [g.body.event, g.body.resolved])).toEqual([
        ['agent_offline', false],
        ['agent_offline', true],
      ]);
      await sleep(AGENT_SETTLE_MS);
      expect(about()).toHaveLength(2);
    } finally {
      await agent.stop();
    }
  });

  it('alerts a task lost with its agent (not idempotent: held, not retried)', async () => {
    await ok('PUT', '/api/v1/alert-rules/lost', { events: ['task_lost'], jobs: ['held'], channels: ['hook'] });
    await ok('PUT', '/api/v1/jobs/held', {
      name: 'held',
      tasks: [{ key: 'charge', type: 'shell', command: 'sleep 30', agentSelector: { role: 'victim' } }],
    });
    const victim = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name: 'victim',
      labels: 'role=victim',
      workDir: mkdtempSync(join(tmpdir(), 'baton-alerts-victim-')),
    });
    try {
      const id = await start('held');
      await waitFor('the task to run', async () => {
        const r = await api('GET', `/api/v1/runs/${id}`);
        return r.body.tasks[0].state === 'running' || null;
      });
      await victim.kill('SIGKILL');
      const [lost] = await waitFor('the lost alert', async () => {
        const got = webhooksAbout('/hook', id);
        return got.length > 0 ? got : null;
      });
      expect(lost!.body).toMatchObject({
        event: 'task_lost',
        taskKey: 'charge',
        title: 'Task lost: task charge of job held',
      });
      await ok('POST', `/api/v1/runs/${id}/cancel`, {});
    } finally {
      await victim.stop();
    }
  });

  it('pages the history with a cursor', async () => {
    const first = await api<{ items: AlertItem[]; nextCursor: string | null }>('GET', '/api/v1/alerts?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).not.toBeNull();
    const next = await api<{ items: AlertItem[] }>('GET', `/api/v1/alerts?limit=2&cursor=${first.body.nextCursor!}`);
    expect(next.body.items.length).toBeGreaterThan(0);
    const ids = (x: { items: Array<{ id?: string }> }) => x.items.map((i) => i.id);
    expect(ids(next.body).some((i) => ids(first.body).includes(i))).toBe(false);
    expect((await api('GET', '/api/v1/alerts?state=lost')).status).toBe(400);
  });

  it('lists the history with `baton alerts`', async () => {
    const env = { BATON_SERVER: platform.url, BATON_TOKEN: platform.token };
    const r = await runCli(['alerts', '--rule', 'throttled'], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WHEN\s+EVENT\s+RULE\s+CHANNEL\s+JOB\s+STATE\s+TRIES/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 6))).toEqual([
      ['run_failed', 'throttled', 'hook', 'thr', 'suppressed'],
      ['run_failed', 'throttled', 'hook', 'thr', 'sent'],
    ]);
    const bad = await runCli(['alerts', '--state', 'lost'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/state/);
  });

  it('alerts a trigger that misfired while the platform was down', async () => {
    await ok('PUT', '/api/v1/alert-rules/misfires', { events: ['trigger_misfired'], jobs: ['mf'], channels: ['hook'] });
    const def = (enabled: boolean) => ({
      name: 'mf',
      triggers: [{ type: 'fixedRate', every: '1s', misfire: 'skip', enabled }],
      tasks: [{ key: 't', type: 'noop' }],
    });
    await ok('PUT', '/api/v1/jobs/mf', def(true));
    await waitFor(
      'a run of the trigger',
      async () => (await api('GET', '/api/v1/runs?job=mf')).body.items.length > 0 || null,
    );
    await platform.restart({ downMs: 5_000 });
    const about = () => hooks.on('/hook').filter((g) => g.body.event === 'trigger_misfired');
    const [hook] = await waitFor('the misfire alert', async () => (about().length > 0 ? about() : null), 20_000);
    await ok('PUT', '/api/v1/jobs/mf', def(false));
    expect(hook!.body).toMatchObject({ job: 'mf', title: 'Trigger misfired: job mf', runId: null });
    expect(hook!.body.reason).toMatch(/slot\(s\) from .* not run \(misfire policy skip\)/);
  });
});

describe('alerts without SMTP (sqlite)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ databaseUrl: null });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses an email channel with a 400 that says what to configure', async () => {
    const r = await platform.api('PUT', '/api/v1/alert-channels/mail', { type: 'email', to: ['ops@alerts.test'] });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([{ path: 'type', message: expect.stringMatching(/BATON_SMTP_URL/) }]);
    expect((await platform.api('GET', '/api/v1/alert-channels/mail')).status).toBe(404);
  });
});

const brokers = kinds.includes('mariadb') ? await testKafkaBrokers() : null;
const withKafka = brokers ? describe : describe.skip;

/** Two insight processes in one consumer group on MariaDB and Kafka: still one alert per channel. */
withKafka('alerts with two insight instances (mariadb, kafka)', () => {
  let db: TestDatabase;
  let platform: Platform;
  let second: ServiceProcess;
  let hooks: HttpReceiver;
  let smtp: SmtpReceiver;

  beforeAll(async () => {
    hooks = await new HttpReceiver(await freePort()).start();
    smtp = await SmtpReceiver.start();
    db = await createTestDatabase('mariadb');
    const env = {
      BATON_DATABASE_URL: db.url!,
      BATON_KAFKA_BROKERS: brokers!.join(','),
      BATON_KAFKA_TOPIC_PREFIX: `a${randomBytes(3).toString('hex')}.`,
      BATON_SECRETS_KEY: `k1:${randomBytes(32).toString('base64url')}`,
      BATON_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      BATON_PUBLIC_URL: 'http://portal.test',
      BATON_ALERTS_ALLOW_PRIVATE_URLS: 'true',
    };
    platform = await startPlatform({ databaseUrl: db.url, localAgent: true, env });
    second = await startServiceProcess({ service: 'insight', name: 'insight-2', env });
  });
  afterAll(async () => {
    await second?.stop();
    await platform?.stop();
    await db?.drop();
    await hooks?.stop();
    await smtp?.stop();
  });

  it('sends exactly one webhook and one email per failed run', async () => {
    const put = async (path: string, body: unknown) => {
      const r = await platform.api('PUT', path, body);
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
      return r.body;
    };
    await put('/api/v1/alert-channels/hook', { type: 'webhook', url: hooks.url('/hook'), secret: SECRET });
    await put('/api/v1/alert-channels/mail', { type: 'email', to: ['ops@alerts.test'] });
    await put('/api/v1/alert-rules/failures', { events: ['run_failed'], channels: ['hook', 'mail'] });
    await put('/api/v1/jobs/breaks', { name: 'breaks', tasks: [{ key: 'boom', type: 'shell', command: 'exit 1' }] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await platform.api('POST', '/api/v1/jobs/breaks/runs', {})).body.id);
    for (const id of ids) {
      await waitFor(`alerts of ${id}`, async () => {
        const h = hooks.on('/hook').filter((g) => g.body.runId === id);
        return h.length > 0 && smtp.about(id).length > 0 ? true : null;
      });
    }
    await sleep(2_000);
    for (const id of ids) {
      const h = hooks.on('/hook').filter((g) => g.body.runId === id);
      expect(h).toHaveLength(1);
      expect(verify(h[0]!, SECRET)).toBe(true);
      expect(smtp.about(id)).toHaveLength(1);
    }
  });
});
