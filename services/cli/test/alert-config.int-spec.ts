import { type Server, createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  freePort,
  runCli,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

// `baton alert-channel(s)` and `baton alert-rule(s)` against a running
// platform, with a real HTTP receiver for the alert they set up.

describe.each(kinds)('baton alert-channel and alert-rule (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let receiver: Server;
  let port: number;
  const got: Array<{ headers: Record<string, unknown>; body: { event: string; job: string } }> = [];
  const baton = (args: string[], input?: string) =>
    runCli(args, { BATON_SERVER: platform.url, BATON_TOKEN: platform.token }, undefined, input);

  beforeAll(async () => {
    port = await freePort();
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        got.push({ headers: req.headers, body: JSON.parse(raw) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      localAgent: true,
      // the receiver is on 127.0.0.1
      env: { BATON_ALERTS_ALLOW_PRIVATE_URLS: 'true' },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    await new Promise((r) => receiver?.close(r));
  });

  it('creates, replaces, lists and deletes channels; a secret from standard input is never shown', async () => {
    const url = `http://127.0.0.1:${port}/hook`;
    const created = await baton(
      ['alert-channel', 'set', 'ops-hook', '--type', 'webhook', '--url', url, '--secret', '-'],
      'whsec-cli-0123456789abcdef\n',
    );
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe(`alert channel ops-hook created: webhook ${url} (signed)`);
    const slack = await baton(['alert-channel', 'set', 'chat', '--type', 'slack', '--url', `${url}?slack`]);
    expect(slack.stdout).toContain('alert channel chat created: slack');
    const replaced = await baton(['alert-channel', 'set', 'chat', '--type', 'slack', '--url', `${url}?slack2`]);
    expect(replaced.stdout).toContain('alert channel chat replaced: slack');

    const list = await baton(['alert-channels']);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CHANNEL\s+TYPE\s+SIGNED\s+UPDATED\s+WHERE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['chat', 'slack', 'no'],
      ['ops-hook', 'webhook', 'yes'],
    ]);
    expect(list.stdout).not.toContain('whsec-cli');

    expect((await baton(['alert-channel', 'delete', 'chat'])).stdout.trim()).toBe('alert channel chat deleted');
    expect((await baton(['alert-channels'])).stdout).not.toContain('chat');
  });

  it("prints the API's field errors and exits 1", async () => {
    const noUrl = await baton(['alert-channel', 'set', 'x', '--type', 'webhook']);
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toMatch(/PUT \/api\/v1\/alert-channels\/x: 400/);
    expect(noUrl.stderr).toMatch(/^ {2}url: required for a webhook channel$/m);
    // no SMTP server here: email channels are refused on `type`, saying what to set
    const mail = await baton(['alert-channel', 'set', 'mail', '--type', 'email', '--to', 'a@x.test,b@x.test']);
    expect(mail.code).toBe(1);
    expect(mail.stderr).toMatch(/^ {2}type: .*BATON_SMTP_URL/m);
    const badType = await baton(['alert-channel', 'set', 'x', '--type', 'pager']);
    expect(badType.code).not.toBe(0);
    expect(badType.stderr).toMatch(/--type.*webhook, slack, email/);
    const badRule = await baton([
      'alert-rule',
      'set',
      'r',
      '--events',
      'run_failed,run_exploded',
      '--channels',
      'ops-hook',
    ]);
    expect(badRule.code).toBe(1);
    expect(badRule.stderr).toMatch(/^ {2}events\[1\]: must be one of/m);
    const noChannel = await baton(['alert-rule', 'set', 'r', '--events', 'run_failed', '--channels', 'nope']);
    expect(noChannel.stderr).toMatch(/^ {2}channels\[0\]: no alert channel nope exists$/m);
    const inUse = await baton(['alert-rule', 'set', 'hold', '--events', 'task_lost', '--channels', 'ops-hook']);
    expect(inUse.code).toBe(0);
    const refused = await baton(['alert-channel', 'delete', 'ops-hook']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/409 .*used by rule\(s\) hold/);
    expect((await baton(['alert-rule', 'delete', 'hold'])).stdout.trim()).toBe('alert rule hold deleted');
  });

  it('sets a rule the platform alerts by, lists it, and shows the alert in `baton alerts`', async () => {
    const set = await baton([
      'alert-rule',
      'set',
      'failures',
      '--events',
      'run_failed,sla_missed',
      '--jobs',
      'cli-*',
      '--jobs',
      'billing',
      '--channels',
      'ops-hook',
      '--throttle',
      '10m',
    ]);
    expect(set.stderr).toBe('');
    expect(set.stdout.trim()).toBe(
      'alert rule failures created: run_failed,sla_missed of cli-*,billing to ops-hook, at most one per job every 10m',
    );
    const rules = await baton(['alert-rules']);
    expect(rules.stdout.trim().split('\n')[1]!.split(/\s+/)).toEqual([
      'failures',
      'run_failed,sla_missed',
      'cli-*,billing',
      'ops-hook',
      '10m',
      'yes',
    ]);
    expect(
      (
        await platform.api('PUT', '/api/v1/jobs/cli-breaks', {
          name: 'cli-breaks',
          tasks: [{ key: 'boom', type: 'shell', command: 'exit 3' }],
        })
      ).status,
    ).toBe(201);
    const run = await baton(['run', 'cli-breaks', '--wait']);
    expect(run.code).toBe(1);
    await waitFor('the webhook', async () =>
      got.some((g) => g.body.event === 'run_failed' && g.body.job === 'cli-breaks'),
    );
    expect(got.find((g) => g.body.event === 'run_failed')!.headers['x-baton-signature']).toMatch(
      /^t=\d+,v1=[0-9a-f]+$/,
    );
    const alerts = await waitFor('the history to say sent', async () => {
      const r = await baton(['alerts', '--rule', 'failures', '--state', 'sent']);
      return r.stdout.includes('run_failed') ? r.stdout : null;
    });
    expect(alerts).toMatch(/run_failed\s+failures\s+ops-hook\s+cli-breaks\s+sent/);

    const replaced = await baton(['alert-rule', 'set', 'failures', '--events', 'run_failed', '--channels', 'ops-hook']);
    expect(replaced.stdout.trim()).toBe('alert rule failures replaced: run_failed of every job to ops-hook');
    expect((await baton(['alert-rule', 'delete', 'failures'])).stdout.trim()).toBe('alert rule failures deleted');
    const none = await baton(['alert-rule', 'delete', 'failures']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/404/);
  });
});
