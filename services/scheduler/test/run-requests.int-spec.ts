import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
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

interface RunView {
  id: string;
  logicalDate: string;
}

/** Plain SQL on the platform's own database, as a trigger replica or an operator would send it. */
interface Sql {
  run(sql: string, params?: unknown[]): Promise<void>;
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function sqlOn(db: TestDatabase, platform: Platform): Promise<Sql> {
  if (db.url) {
    const c = await createConnection({ uri: db.url });
    return {
      run: async (sql, params = []) => void (await c.query(sql, params)),
      rows: async <T>(sql: string, params: unknown[] = []) => (await c.query(sql, params))[0] as T[],
      close: () => c.end(),
    };
  }
  const s = new Sqlite(join(platform.dataDir, 'baton.db'));
  s.pragma('busy_timeout = 5000');
  return {
    run: async (sql, params = []) => void s.prepare(sql).run(...params),
    rows: async <T>(sql: string, params: unknown[] = []) => s.prepare(sql).all(...params) as T[],
    close: async () => void s.close(),
  };
}

describe.each(kinds)('run requests: claimed from the database by any scheduler (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let sql: Sql;
  let tenantId: string;
  let jobId: string;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
    const put = await platform.api('PUT', '/api/v1/jobs/requested', {
      name: 'requested',
      tasks: [{ key: 'a', type: 'noop' }],
    });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    tenantId = (await platform.api('GET', '/api/v1/whoami')).body.tenant.id as string;
    sql = await sqlOn(db, platform);
    jobId = (await sql.rows<{ id: string }>('SELECT id FROM jobs WHERE name = ?', ['requested']))[0]!.id;
  });
  afterAll(async () => {
    await sql?.close();
    await platform?.stop();
    await db?.drop();
  });

  const request = (logicalDate: number, key: string) =>
    JSON.stringify({
      tenantId,
      jobId,
      jobName: 'requested',
      logicalDate,
      dedupeKey: key,
      triggerType: 'manual',
      triggerId: null,
      params: {},
    });
  const insert = (payload: string) =>
    sql.run('INSERT INTO run_requests (tenant_id, payload, created_at, failures) VALUES (?, ?, ?, 0)', [
      tenantId,
      payload,
      Date.now(),
    ]);
  const runAt = async (logicalDate: number) => {
    const runs = (await platform.api('GET', '/api/v1/runs?job=requested&limit=500')).body.items as RunView[];
    return runs.find((r) => r.logicalDate === new Date(logicalDate).toISOString()) ?? null;
  };

  it('turns a request row into one run, once, with no event to wake it (the sweep finds it)', async () => {
    const at = Date.parse('2031-01-01T00:00:00Z');
    await insert(request(at, 'req:1'));
    await insert(request(at, 'req:1')); // the same request twice: one run
    const run = await waitFor('the run of the request', () => runAt(at), 20_000);
    expect(run.id).toBeTruthy();
    await waitFor('the queue empty', async () => {
      const left = await sql.rows<{ n: number }>('SELECT COUNT(*) AS n FROM run_requests WHERE failures = 0');
      return Number(left[0]!.n) === 0;
    });
    const runs = (await platform.api('GET', '/api/v1/runs?job=requested&limit=500')).body.items as RunView[];
    expect(runs.filter((r) => r.logicalDate === new Date(at).toISOString())).toHaveLength(1);
  });

  it('sets aside a request that cannot be read, with its error, and takes the ones behind it', async () => {
    await insert('{"tenantId": "not json');
    const at = Date.parse('2031-02-01T00:00:00Z');
    await insert(request(at, 'req:2'));
    expect(await waitFor('the good request taken', () => runAt(at), 20_000)).toBeTruthy();
    const bad = await waitFor(
      'the bad request set aside',
      async () => {
        const rows = await sql.rows<{ failures: number; last_error: string | null }>(
          'SELECT failures, last_error FROM run_requests',
        );
        return rows.length === 1 && Number(rows[0]!.failures) >= 5 ? rows[0]! : null;
      },
      30_000,
    );
    expect(bad.last_error).toMatch(/JSON/);
    await waitFor('the set-aside logged', async () =>
      /run request set aside after repeated failures/.test(platform.output()),
    );
    await sql.run('DELETE FROM run_requests');
  });

  it.runIf(kind === 'mariadb')(
    'passes over requests a dead replica held, and takes them as soon as its connection closes',
    async () => {
      // A "replica" claims a request and dies before committing: a connection of its own holding the row lock.
      // The platform sweeps every 100 ms here and may take a request first; then the next one is held.
      const replica = await createConnection({ uri: db.url! });
      // As the platform claims: READ COMMITTED, so the claim takes no gap locks that would hold back new requests.
      await replica.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      let held = 0;
      for (let i = 0; i < 20 && held === 0; i++) {
        const at = Date.parse('2031-03-01T00:00:00Z') + i * 1000;
        await insert(request(at, `req:held:${i}`));
        await replica.query('START TRANSACTION');
        const [claimed] = (await replica.query(
          'SELECT seq FROM run_requests WHERE failures < 5 ORDER BY seq LIMIT 10 FOR UPDATE SKIP LOCKED',
        )) as [Array<{ seq: number }>, unknown];
        if (claimed.length > 0) held = at;
        else await replica.query('ROLLBACK');
      }
      expect(held, 'the platform took every request before the test could hold one').toBeGreaterThan(0);
      const free = Date.parse('2031-03-02T00:00:00Z');
      await insert(request(free, 'req:free'));
      expect(await waitFor('the request behind the held one taken', () => runAt(free), 20_000)).toBeTruthy();
      expect(await runAt(held)).toBeNull();
      const died = Date.now();
      replica.destroy(); // kill -9: the server rolls the transaction back when the socket closes
      expect(await waitFor('the held request taken after the replica died', () => runAt(held), 20_000)).toBeTruthy();
      expect(Date.now() - died).toBeLessThan(15_000);
    },
  );
});
