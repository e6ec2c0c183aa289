import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface Denied {
  action: string;
  actor: string;
  status: number;
  target: string;
  detail: { count: number; routes: string[]; minute: string; firstAt: string; lastAt: string; replica: string };
}

/** Calls `fn` `n` times, `width` at a time. */
async function times(n: number, width: number, fn: () => Promise<unknown>): Promise<void> {
  let left = n;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (left > 0) {
        left -= 1;
        await fn();
      }
    }),
  );
}

describe.each(kinds)('denied calls in the audit log (%s)', (kind) => {
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

  const deniedRecords = async (): Promise<Denied[]> => {
    const r = await platform.api('GET', '/api/v1/audit?action=auth.denied&limit=500');
    expect(r.status).toBe(200);
    return r.body.items as Denied[];
  };
  /** Per actor: the sum of counts and the minutes seen (each at most once). */
  const byActor = (records: Denied[], match: RegExp) => {
    const mine = records.filter((r) => match.test(r.actor));
    const minutes = mine.map((r) => r.detail.minute);
    expect(new Set(minutes).size, 'one record per minute').toBe(minutes.length);
    return { count: mine.reduce((n, r) => n + r.detail.count, 0), records: mine };
  };

  it(
    'writes one record per caller and minute, with the count, when the minute closes and at shutdown',
    { timeout: 240_000 },
    async () => {
      const viewer = (await platform.api('POST', '/api/v1/api-keys', { name: 'peeker', role: 'viewer' })).body.token;
      const asViewer = { authorization: `Bearer ${viewer}` };
      const job = { name: 'nope', tasks: [{ key: 'a', type: 'noop' }] };
      for (let i = 0; i < 3; i++)
        expect((await platform.api('PUT', '/api/v1/jobs/nope', job, asViewer)).status).toBe(403);
      for (let i = 0; i < 2; i++) {
        expect((await platform.api('POST', '/api/v1/api-keys', { name: 'x', role: 'viewer' }, asViewer)).status).toBe(
          403,
        );
      }
      // A flood from a key that does not exist: 10,000 refusals.
      const bad = { authorization: 'Bearer bat_key_this-key-does-not-exist' };
      let unauthorized = 0;
      await times(10_000, 16, async () => {
        if ((await platform.request('GET', '/api/v1/jobs', undefined, bad)).status === 401) unauthorized += 1;
      });
      expect(unauthorized).toBe(10_000);
      // No credential at all: counted by the source address.
      for (let i = 0; i < 4; i++) expect((await platform.request('GET', '/api/v1/runs')).status).toBe(401);

      // The viewer's minute closes while the platform runs: its record is written without a restart.
      const first = await waitFor(
        "the viewer's denied calls once their minute closed",
        async () => (await deniedRecords()).find((r) => r.actor.startsWith('viewer:peeker')) ?? null,
        80_000,
        500,
      );
      expect(first).toMatchObject({ action: 'auth.denied', status: 403 });
      expect(first.detail.routes.sort()).toEqual(['POST /api/v1/api-keys', 'PUT /api/v1/jobs/:name']);

      // What is still counted in the open minute is written at shutdown.
      await platform.restart();
      const records = await waitFor(
        'every denied call counted',
        async () => {
          const all = await deniedRecords();
          const flood = all.filter((r) => r.actor.startsWith('unauthenticated:api key'));
          return flood.reduce((n, r) => n + r.detail.count, 0) === 10_000 ? all : null;
        },
        30_000,
        200,
      );
      const v = byActor(records, /^viewer:peeker/);
      expect([v.count, v.records.length]).toEqual([5, 1]);
      const flood = byActor(records, /^unauthenticated:api key [0-9a-f]{12} from 127\.0\.0\.1$/);
      expect(flood.count).toBe(10_000);
      // 10,000 calls, at most two minutes: not 10,000 rows.
      expect(flood.records.length).toBeLessThanOrEqual(2);
      for (const r of flood.records) {
        expect(r).toMatchObject({ status: 401, detail: { routes: ['GET /api/v1/jobs'] } });
        expect(r.detail.firstAt <= r.detail.lastAt).toBe(true);
      }
      const anonymous = byActor(records, /^unauthenticated: no credential from 127\.0\.0\.1$/);
      expect(anonymous.count).toBe(4);
      expect(anonymous.records[0]).toMatchObject({ status: 401, detail: { routes: ['GET /api/v1/runs'] } });
      // The secret a caller presented is never in the record.
      expect(JSON.stringify(records)).not.toContain('this-key-does-not-exist');
      expect(records.length).toBeLessThanOrEqual(6);
      expect((await platform.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
    },
  );
});
