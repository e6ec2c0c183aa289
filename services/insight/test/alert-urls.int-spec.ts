import { lookup } from 'node:dns/promises';
import { type Server, createServer } from 'node:http';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  freePort,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

// Webhook and Slack channels may not reach loopback, link-local or private
// addresses when BATON_ALERTS_ALLOW_PRIVATE_URLS is off (production's
// default): a literal address is a 400 at PUT, a host name that resolves to
// one is refused when the delivery connects. A real receiver on 127.0.0.1
// shows that nothing reaches it.

describe.each(kinds)('alert channel URLs with private addresses refused (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let receiver: Server;
  let port: number;
  const hits: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    receiver = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      localAgent: true,
      env: { BATON_ALERTS_ALLOW_PRIVATE_URLS: 'false' },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    await new Promise((r) => receiver?.close(r));
  });

  it.each([
    ['webhook', `http://127.0.0.1:PORT/hook`, '127.0.0.1'],
    ['webhook', 'http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['slack', 'http://10.0.0.5/services/T/B/x', '10.0.0.5'],
    ['webhook', 'http://[::1]:PORT/hook', '::1'],
    ['webhook', 'http://2130706433/hook', '127.0.0.1'],
    ['slack', 'http://localhost:PORT/hook', 'localhost'],
  ])('refuses a %s channel at %s with a 400 on url', async (type, url, shown) => {
    const r = await platform.api('PUT', '/api/v1/alert-channels/inside', {
      type,
      url: url.replace('PORT', String(port)),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.errors).toEqual([
      expect.objectContaining({ path: 'url', message: expect.stringContaining(`(${shown})`) }),
    ]);
    expect(r.body.errors[0].message).toContain('BATON_ALERTS_ALLOW_PRIVATE_URLS=true');
    expect((await platform.api('GET', '/api/v1/alert-channels/inside')).status).toBe(404);
  });

  it('accepts a public address, and refuses at send time a host name that resolves to a private one', async () => {
    expect(
      (
        await platform.api('PUT', '/api/v1/alert-channels/public', {
          type: 'webhook',
          url: 'https://hooks.example.com/x',
        })
      ).status,
    ).toBe(201);
    // This machine's own name resolves to a loopback or private address (127.0.0.1 here, 127.0.1.1 on Debian).
    const host = hostname();
    const { address } = await lookup(host);
    const put = await platform.api('PUT', '/api/v1/alert-channels/by-name', {
      type: 'webhook',
      url: `http://${host}:${port}/by-name`,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(
      (await platform.api('PUT', '/api/v1/alert-rules/failures', { events: ['run_failed'], channels: ['by-name'] }))
        .status,
    ).toBe(201);
    expect(
      (
        await platform.api('PUT', '/api/v1/jobs/breaks', {
          name: 'breaks',
          tasks: [{ key: 'boom', type: 'shell', command: 'exit 3' }],
        })
      ).status,
    ).toBe(201);
    const run = (await platform.api('POST', '/api/v1/jobs/breaks/runs', {})).body.id as string;
    const alert = await waitFor('the delivery to be given up', async () => {
      const items = (await platform.api('GET', '/api/v1/alerts?rule=failures')).body.items as Array<{
        runId: string;
        state: string;
        attempts: number;
        lastError: string | null;
      }>;
      return items.find((a) => a.runId === run && a.state === 'failed');
    });
    // Refused for good at the first attempt: retrying would not change the address.
    expect(alert.attempts).toBe(1);
    expect(alert.lastError).toContain(`${host} resolves to ${address}, which is a loopback, link-local or private`);
    expect(hits).toEqual([]);
  });
});
