import { createHmac, randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startPlatform,
  testDatabaseKinds,
  testKafkaBrokers,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface RunSummary {
  id: string;
  job: string;
  state: string;
  logicalDate: string;
  params: Record<string, unknown>;
  trigger: { type: string; id: string | null };
  traceId: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The headers a webhook sender sets: HMAC-SHA256 over `<timestamp>.<raw body>`. */
function signed(secret: string, body: string, timestamp = nowSeconds()): Record<string, string> {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return {
    'content-type': 'application/json',
    'x-baton-timestamp': String(timestamp),
    'x-baton-signature': `sha256=${digest}`,
  };
}

async function runsOf(platform: Platform, job: string): Promise<RunSummary[]> {
  const r = await platform.api('GET', `/api/v1/runs?job=${job}&limit=500`);
  expect(r.status).toBe(200);
  return r.body.items as RunSummary[];
}

describe.each(kinds)('webhook and dependency triggers (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;

  /** Unauthenticated, as a webhook sender is: the signature is the only credential. */
  const hook = (triggerId: string, body: string, headers: Record<string, string>) =>
    fetch(`${platform.url}/hooks/${triggerId}`, { method: 'POST', body, headers });

  const createWebhookJob = async (name: string) => {
    const put = await platform.api('PUT', `/api/v1/jobs/${name}`, {
      name,
      triggers: [{ type: 'webhook', params: { order: '{{ body.order.id }}', source: '{{ headers.x-source }}' } }],
      tasks: [{ key: 't', type: 'shell', command: 'true' }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const rotated = await platform.api('POST', `/api/v1/jobs/${name}/triggers/0/secret`);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    return rotated.body as { triggerId: string; secret: string; url: string };
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, localAgent: true });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('makes one run with mapped params from a signed delivery, however often it is delivered', async () => {
    const { triggerId, secret, url } = await createWebhookJob('orders');
    expect(url).toBe(`${platform.url}/hooks/${triggerId}`);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const view = await platform.api('GET', '/api/v1/jobs/orders/triggers');
    expect(view.body.items[0]).toMatchObject({ type: 'webhook', active: true, webhook: { hasSecret: true } });
    expect(JSON.stringify(view.body)).not.toContain(secret);

    const body = JSON.stringify({ order: { id: 4711, total: 12.5 } });
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await hook(triggerId, body, {
        ...signed(secret, body),
        'idempotency-key': 'delivery-1',
        'x-source': 'shop',
      });
      answers.push({ status: res.status, body: await res.json() });
    }
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(answers[0]!.body).toEqual({
      runRequested: true,
      duplicate: false,
      dedupeKey: `hook:${triggerId}:delivery-1`,
    });
    expect(answers[2]!.body).toMatchObject({ duplicate: true, dedupeKey: `hook:${triggerId}:delivery-1` });

    const done = await waitFor('the webhook run to succeed', async () => {
      const r = await runsOf(platform, 'orders');
      return r.length === 1 && r[0]!.state === 'succeeded' ? r : null;
    });
    expect(done[0]!.params).toMatchObject({ order: 4711, source: 'shop' });
    expect(done[0]!.trigger).toEqual({ type: 'webhook', id: triggerId });
    await sleep(500);
    expect(await runsOf(platform, 'orders')).toHaveLength(1);

    // Without an Idempotency-Key the body's hash is the key: the same body again is the same delivery.
    const other = JSON.stringify({ order: { id: 4712 } });
    const first = await hook(triggerId, other, { ...signed(secret, other), 'x-source': 'shop' });
    const again = await hook(triggerId, other, { ...signed(secret, other), 'x-source': 'shop' });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect((await again.json()).duplicate).toBe(true);
    await waitFor('the second webhook run', async () => (await runsOf(platform, 'orders')).length === 2);
  });

  it('answers 401 problem+json to a bad signature, a stale timestamp or an unknown trigger', async () => {
    const { triggerId, secret } = await createWebhookJob('guarded');
    const body = JSON.stringify({ order: { id: 1 } });
    const cases: Array<[string, string, Record<string, string>]> = [
      ['bad signature', triggerId, signed('not-the-secret', body)],
      ['signature over another body', triggerId, signed(secret, body + ' ')],
      ['stale timestamp', triggerId, signed(secret, body, nowSeconds() - 301)],
      // Well past the tolerance: a slow request must not bring a future timestamp back inside it.
      ['future timestamp', triggerId, signed(secret, body, nowSeconds() + 360)],
      ['no signature', triggerId, { 'content-type': 'application/json', 'x-baton-timestamp': String(nowSeconds()) }],
      ['no timestamp', triggerId, { ...signed(secret, body), 'x-baton-timestamp': '' }],
      ['unknown trigger', '0190a0a0-0000-7000-8000-000000000000', signed(secret, body)],
    ];
    for (const [what, id, headers] of cases) {
      const res = await hook(id, body, headers);
      expect(res.status, what).toBe(401);
      expect(res.headers.get('content-type'), what).toContain('application/problem+json');
    }
    await sleep(300);
    expect(await runsOf(platform, 'guarded')).toHaveLength(0);
  });

  it('rejects the old secret after a rotation and accepts the new one', async () => {
    const { triggerId, secret: old } = await createWebhookJob('rotating');
    const rotated = await platform.api('POST', '/api/v1/jobs/rotating/triggers/0/secret');
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(old);
    const body = JSON.stringify({ order: { id: 9 } });
    expect((await hook(triggerId, body, signed(old, body))).status).toBe(401);
    expect((await hook(triggerId, body, { ...signed(fresh, body), 'x-source': 'crm' })).status).toBe(202);
    await waitFor('the run of the new secret', async () => (await runsOf(platform, 'rotating')).length === 1);
  });

  it("does not rotate another tenant's webhook secret", async () => {
    await createWebhookJob('private-hook');
    const t = await platform.api('POST', '/api/v1/tenants', { name: `other${randomBytes(3).toString('hex')}` });
    expect(t.status).toBe(201);
    const asOther = { authorization: `Bearer ${t.body.adminToken as string}` };
    const r = await platform.api('POST', '/api/v1/jobs/private-hook/triggers/0/secret', undefined, asOther);
    expect(r.status).toBe(404);
    expect((await platform.api('GET', '/api/v1/jobs/private-hook/triggers', undefined, asOther)).status).toBe(404);
  });

  it('maps params strictly: a field the mapping needs is missing -> 400, no run', async () => {
    const { triggerId, secret } = await createWebhookJob('strict');
    const body = JSON.stringify({ nothing: true });
    const res = await hook(triggerId, body, { ...signed(secret, body), 'x-source': 'shop' });
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].path).toBe('params.order');
  });

  it('runs a dependent job once per logical date when every upstream succeeded for it', async () => {
    const job = (name: string, triggers: unknown[] = []) =>
      platform.api('PUT', `/api/v1/jobs/${name}`, {
        name,
        triggers,
        tasks: [{ key: 't', type: 'shell', command: 'true' }],
      });
    expect((await job('x')).status).toBe(201);
    expect((await job('y')).status).toBe(201);
    expect((await job('z', [{ type: 'dependency', jobs: ['x', 'y'] }])).status).toBe(201);

    const day = '2026-03-01T00:00:00.000Z';
    const other = '2026-03-02T00:00:00.000Z';
    const manual = async (name: string, logicalDate: string) => {
      const r = await platform.api('POST', `/api/v1/jobs/${name}/runs`, { logicalDate });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      await waitFor(`${name} for ${logicalDate}`, async () => {
        return (await platform.api('GET', `/api/v1/runs/${r.body.id as string}`)).body.state === 'succeeded';
      });
    };
    await manual('x', day);
    await manual('x', other); // y never runs for this date: z must not either
    await sleep(500);
    expect(await runsOf(platform, 'z')).toHaveLength(0);
    await manual('y', day);
    await waitFor('the dependent run', async () => (await runsOf(platform, 'z')).length === 1);
    // A rerun of an upstream for the same date does not start z again.
    await manual('x', day);
    await sleep(800);
    const z = await runsOf(platform, 'z');
    expect(z.map((r) => [r.logicalDate, r.trigger.type])).toEqual([[day, 'dependency']]);
  });
});

// The broker: deploy/local/kafka-start.sh starts one on 127.0.0.1:9092. Without one
// the Kafka cases are skipped with a warning, except on CI, where they fail.
const found = await testKafkaBrokers();
const kafkaUp = found !== null;
const brokers = found ?? ['127.0.0.1:9092'];
const kafka = new Kafka({
  clientId: 'baton-trigger-events-int-spec',
  brokers,
  connectionTimeout: 2_000,
  retry: { retries: 2 },
  logLevel: logLevel.NOTHING,
});

describe.runIf(kafkaUp).each(kinds)('Kafka event triggers (%s)', (kind) => {
  const TOPIC = 'tenant.default.orders';
  let db: TestDatabase;
  let platform: Platform;
  const producer = kafka.producer();
  // A fresh marker per run: records left on the shared topic by earlier runs never match.
  const run = randomBytes(4).toString('hex');

  const produce = (value: unknown, eventId: string, headers: Record<string, string> = {}) =>
    producer.send({
      topic: TOPIC,
      messages: [{ key: 'orders', value: JSON.stringify(value), headers: { 'event-id': eventId, ...headers } }],
    });
  const ordersRuns = async () => (await runsOf(platform, 'on-order')).filter((r) => r.params.run === run);

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await producer.connect();
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      localAgent: true,
      env: { BATON_KAFKA_BROKERS: brokers.join(','), BATON_KAFKA_TOPIC_PREFIX: `test-${run}.` },
    });
    const put = await platform.api('PUT', '/api/v1/jobs/on-order', {
      name: 'on-order',
      triggers: [
        {
          type: 'event',
          topic: TOPIC,
          filter: 'value.kind == "order" && value.amount > 100',
          params: { order: '{{ value.id }}', run: '{{ value.run }}', source: '{{ headers.event-id }}' },
        },
      ],
      tasks: [{ key: 't', type: 'shell', command: 'true' }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    await waitFor(
      'the event trigger to be subscribed',
      async () => (await platform.api('GET', '/api/v1/jobs/on-order/triggers')).body.items[0].active === true,
      60_000,
    );
  });
  afterAll(async () => {
    await producer.disconnect().catch(() => undefined);
    await platform?.stop();
    await db?.drop();
  });

  it('turns a matching record into one run with mapped params, however often it is delivered', async () => {
    const order = { kind: 'order', amount: 250, id: `o-${run}`, run };
    // The consumer may still be settling into its group: repeat the same record (same event-id) until it lands.
    await waitFor(
      'a run for the record',
      async () => {
        await produce(order, `evt-${run}-1`);
        return (await ordersRuns()).length > 0;
      },
      60_000,
      1_000,
    );
    await produce(order, `evt-${run}-1`);
    await produce(order, `evt-${run}-1`);
    // A marker behind them on the same partition: once it ran, the duplicates were read too.
    await produce({ ...order, id: `marker-${run}` }, `evt-${run}-marker`);
    await waitFor('the marker run', async () => (await ordersRuns()).some((r) => r.params.order === `marker-${run}`));
    const runs = await ordersRuns();
    const first = runs.filter((r) => r.params.order === `o-${run}`);
    expect(first).toHaveLength(1);
    expect(first[0]!.params).toMatchObject({ order: `o-${run}`, run, source: `evt-${run}-1` });
    expect(first[0]!.trigger.type).toBe('event');
  });

  it("continues the record's trace (its traceparent header) in the run it starts", async () => {
    const trace = randomBytes(16).toString('hex');
    await produce({ kind: 'order', amount: 300, id: `traced-${run}`, run }, `evt-${run}-traced`, {
      traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01`,
    });
    const [traced] = await waitFor('the traced run', async () => {
      const found = (await ordersRuns()).filter((r) => r.params.order === `traced-${run}`);
      return found.length > 0 ? found : null;
    });
    expect(traced!.traceId).toBe(trace);
  });

  it('does not run for a record the filter rejects', async () => {
    await produce({ kind: 'order', amount: 5, id: `small-${run}`, run }, `evt-${run}-small`);
    await produce({ kind: 'refund', amount: 500, id: `refund-${run}`, run }, `evt-${run}-refund`);
    await produce('not json at all', `evt-${run}-text`);
    await produce({ kind: 'order', amount: 101, id: `marker2-${run}`, run }, `evt-${run}-marker2`);
    await waitFor('the second marker run', async () =>
      (await ordersRuns()).some((r) => r.params.order === `marker2-${run}`),
    );
    const ids = (await ordersRuns()).map((r) => r.params.order).sort();
    expect(ids).toEqual([`marker-${run}`, `marker2-${run}`, `o-${run}`, `traced-${run}`]);
  });

  it('shows an event trigger on a topic of another tenant as inactive', async () => {
    const put = await platform.api('PUT', '/api/v1/jobs/foreign', {
      name: 'foreign',
      triggers: [{ type: 'event', topic: 'tenant.someone-else.orders' }],
      tasks: [{ key: 't', type: 'noop' }],
    });
    expect(put.status).toBe(201);
    await waitFor('the refusal', async () => {
      const item = (await platform.api('GET', '/api/v1/jobs/foreign/triggers')).body.items[0];
      return item.active === false && item.reason === 'tenant default may only bind topics named tenant.default.*';
    });
  });
});
