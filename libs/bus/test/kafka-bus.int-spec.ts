import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { type BusEvent, type BusLogger, KafkaBus, topic } from '@baton/bus';
import { testKafkaBrokers } from '@baton/testing';

// The broker: deploy/local/kafka-start.sh starts one on 127.0.0.1:9092. Without
// one these tests are skipped with a warning, except on CI, where they fail.
const found = await testKafkaBrokers();
const available = found !== null;
const brokers = found ?? ['127.0.0.1:9092'];

const kafka = new Kafka({
  clientId: 'baton-bus-int-spec',
  brokers,
  connectionTimeout: 2_000,
  retry: { retries: 1 },
  logLevel: logLevel.NOTHING,
});

// A fresh prefix per run keeps runs (and their consumer groups) apart.
const prefix = `test-${randomBytes(4).toString('hex')}.`;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function makeEvents(topicName: string, n: number, tenants: string[]): BusEvent[] {
  const seq = new Map<string, number>();
  return Array.from({ length: n }, (_, i) => {
    const tenant = tenants[i % tenants.length]!;
    const s = seq.get(tenant) ?? 0;
    seq.set(tenant, s + 1);
    return {
      id: `${Date.now()}-${hex(6)}`,
      topic: topicName,
      type: 'test.happened',
      key: tenant,
      tenantId: tenant,
      payload: { seq: s, i },
      headers: { traceparent: `00-${hex(16)}-${hex(8)}-01`, 'x-index': String(i) },
      occurredAt: Date.now(),
    };
  });
}

describe.skipIf(!available)('KafkaBus against a Kafka broker', () => {
  const buses: KafkaBus[] = [];
  const groups: string[] = [];
  const warnings: string[] = [];
  const logger: BusLogger = {
    info: () => undefined,
    warn: (msg) => void warnings.push(msg),
    error: (msg, fields) => console.error(msg, fields),
  };
  const newBus = (retryBackoffMs?: { initial: number; max: number }) => {
    const bus = new KafkaBus({ brokers, clientId: 'baton-bus-int-spec', topicPrefix: prefix, logger, retryBackoffMs });
    buses.push(bus);
    return bus;
  };
  const group = (name: string) => {
    const g = `${prefix}${name}`;
    groups.push(g);
    return g;
  };

  afterAll(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteGroups(groups).catch(() => undefined);
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  });

  it('creates the DESIGN §6 topics with 3 partitions on start', async () => {
    const bus = newBus();
    await bus.start();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({
        topics: [topic('run-requests', prefix), topic('audit', prefix)],
      });
      expect(topics.map((t) => t.partitions.length)).toEqual([3, 3]);
    } finally {
      await admin.disconnect();
    }
  });

  it('delivers 100 events across tenants with their headers, in order per key', async () => {
    const bus = newBus();
    const t = topic('run-events', prefix);
    const received: BusEvent[] = [];
    await bus.subscribe(t, group('all'), async (e) => void received.push(e));
    const events = makeEvents(t, 100, ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d', 'tenant-e']);
    for (let i = 0; i < events.length; i += 25) await bus.publish(events.slice(i, i + 25));

    await waitFor('100 events', () => received.length >= 100);
    await sleep(300);
    expect(received).toHaveLength(100);
    const byId = new Map(received.map((e) => [e.id, e]));
    for (const e of events) expect(byId.get(e.id)).toEqual(e);
    for (const tenant of ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d', 'tenant-e']) {
      const seqs = received.filter((e) => e.key === tenant).map((e) => (e.payload as { seq: number }).seq);
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
  });

  it('delivers every event to each of two groups', async () => {
    const bus = newBus();
    const t = topic('task-events', prefix);
    const a: string[] = [];
    const b: string[] = [];
    await bus.subscribe(t, group('a'), async (e) => void a.push(e.id));
    await bus.subscribe(t, group('b'), async (e) => void b.push(e.id));
    const events = makeEvents(t, 30, ['tenant-a', 'tenant-b', 'tenant-c']);
    await bus.publish(events);

    await waitFor('both groups', () => a.length >= 30 && b.length >= 30);
    const ids = events.map((e) => e.id).sort();
    expect([...a].sort()).toEqual(ids);
    expect([...b].sort()).toEqual(ids);
  });

  it('redelivers an event whose handler failed, committing its offset only after success', async () => {
    const bus = newBus({ initial: 200, max: 1_000 });
    const t = topic('audit', prefix);
    const g = group('retry');
    const admin = kafka.admin();
    await admin.connect();
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: g, topics: [t] }))[0]!.partitions
        .map((p) => p.offset)
        .filter((o) => o !== '-1');

    // Each attempt waits for the test to look at the committed offsets first.
    const gates: Array<{ entered: Deferred; release: Deferred }> = [];
    const gate = (i: number) => (gates[i] ??= { entered: deferred(), release: deferred() });
    let attempts = 0;
    const handled: BusEvent[] = [];
    await bus.subscribe(t, g, async (e) => {
      const n = attempts++;
      gate(n).entered.resolve();
      await gate(n).release.promise;
      if (n === 0) throw new Error('first delivery fails');
      handled.push(e);
    });
    const [event] = makeEvents(t, 1, ['tenant-r']);
    await bus.publish([event!]);

    try {
      await gate(0).entered.promise;
      expect(await committed()).toEqual([]); // being handled: not committed
      gate(0).release.resolve();
      await gate(1).entered.promise;
      expect(await committed()).toEqual([]); // failed once: still not committed
      gate(1).release.resolve();

      await waitFor('the retry to succeed', () => handled.length === 1);
      expect(handled[0]).toEqual(event);
      expect(attempts).toBe(2);
      expect(warnings.some((w) => w.includes('handler failed'))).toBe(true);
      await waitFor('the offset commit', async () => (await committed()).join() === '1', 10_000);
    } finally {
      for (const g of gates) g.release.resolve();
      await admin.disconnect();
    }
  });

  it('does not redeliver handled events to a restarted consumer of the same group', async () => {
    const t = topic('catalog-events', prefix);
    const g = group('restart');
    const first = newBus();
    const before: string[] = [];
    await first.subscribe(t, g, async (e) => void before.push(e.id));
    const old = makeEvents(t, 10, ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d']);
    await first.publish(old);
    await waitFor('the first 10 events', () => before.length >= 10);
    await first.close();

    const second = newBus();
    const after: string[] = [];
    await second.subscribe(t, g, async (e) => void after.push(e.id));
    const fresh = makeEvents(t, 5, ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d']);
    await second.publish(fresh);
    await waitFor('the 5 new events', () => after.length >= 5);
    await sleep(1_000);
    expect([...after].sort()).toEqual(fresh.map((e) => e.id).sort());
  });

  it("starts a shared group's consumer at once while a killed member still holds the group, and loses nothing", async () => {
    const t = topic('run-events', prefix);
    const g = group('killed-member');
    // A member in another process, killed with SIGKILL once it has joined: the broker keeps it in the group
    // until its session (10 s) times out.
    const script = `
      const { Kafka, logLevel } = require('kafkajs');
      const c = new Kafka({ clientId: 'doomed', brokers: ${JSON.stringify(brokers)}, logLevel: logLevel.NOTHING })
        .consumer({ groupId: ${JSON.stringify(g)}, sessionTimeout: 10000 });
      c.on(c.events.GROUP_JOIN, () => process.stdout.write('joined\\n'));
      (async () => { await c.connect(); await c.subscribe({ topics: [${JSON.stringify(t)}] }); await c.run({ eachMessage: async () => {} }); })();
    `;
    const doomed = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      doomed.stdout.on('data', (d: Buffer) => d.toString().includes('joined') && resolve());
      doomed.once('exit', (code) => reject(new Error(`the member exited with ${code}`)));
    });
    doomed.kill('SIGKILL');
    const killedAt = Date.now();

    const bus = newBus();
    const got: string[] = [];
    await bus.subscribe(t, g, async (e) => void got.push(e.id));
    // Joining would wait for the dead member's session; subscribe does not.
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    const events = makeEvents(t, 5, ['tenant-a', 'tenant-b']);
    await bus.publish(events);
    // The new group reads the topic from its beginning (other tests' events too): these five must be among them.
    const ids = new Set(events.map((e) => e.id));
    await waitFor(
      'the events, once the group has rebalanced',
      () => got.filter((id) => ids.has(id)).length >= 5,
      40_000,
    );
    expect(got.filter((id) => ids.has(id)).sort()).toEqual([...ids].sort());
  }, 60_000);
});
