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

describe.each(kinds)('the audit log (%s)', (kind) => {
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

  /** Runs one statement against the platform's database, behind its back. */
  const tamper = async (sql: string) => {
    if (kind === 'mariadb') {
      const c = await createConnection({ uri: db.url! });
      await c.query(sql);
      await c.end();
    } else {
      const s = new Sqlite(join(platform.dataDir, 'baton.db'));
      s.exec(sql);
      s.close();
    }
  };

  it('records every mutating call with its actor, chains the records and detects tampering', async () => {
    await platform.api('PUT', '/api/v1/jobs/audited', { name: 'audited', tasks: [{ key: 'a', type: 'noop' }] });
    await platform.api('POST', '/api/v1/jobs/audited/runs', {});
    await platform.api('POST', '/api/v1/agent-tokens', { name: 'x' });
    await platform.api('PUT', '/api/v1/jobs/bad', { tasks: 'nope' }); // rejected: audited with its status
    const log = await waitFor('four audit records', async () => {
      const r = await platform.api('GET', '/api/v1/audit');
      return r.body.items.length >= 4 ? r.body.items : null;
    });
    const actions = log.map((a: { action: string; status: number }) => `${a.action} ${a.status}`).sort();
    expect(actions).toEqual([
      'POST /api/v1/agent-tokens 201',
      'POST /api/v1/jobs/:name/runs 201',
      'PUT /api/v1/jobs/:name 201',
      'PUT /api/v1/jobs/:name 400',
    ]);
    expect(log[0].actor).toMatch(/^platform_admin:bootstrap admin/);
    expect((await platform.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true, checked: 4 });

    await tamper(`UPDATE audit_events SET status = 200 WHERE seq = 4`);
    expect((await platform.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: false, brokenAt: 4 });
    await tamper(`UPDATE audit_events SET status = 400 WHERE seq = 4`);
    expect((await platform.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
    // Deleting the newest record is caught by the chain head.
    await tamper(`DELETE FROM audit_events WHERE seq = 4`);
    expect((await platform.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: false, brokenAt: 4 });
    await tamper(`DELETE FROM audit_events WHERE seq = 2`);
    expect((await platform.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('lets auditors read the log and keeps viewers out', async () => {
    const auditor = (await platform.api('POST', '/api/v1/api-keys', { name: 'aud', role: 'auditor' })).body.token;
    const viewer = (await platform.api('POST', '/api/v1/api-keys', { name: 'view', role: 'viewer' })).body.token;
    expect((await platform.api('GET', '/api/v1/audit', undefined, { authorization: `Bearer ${auditor}` })).status).toBe(
      200,
    );
    expect((await platform.api('GET', '/api/v1/audit', undefined, { authorization: `Bearer ${viewer}` })).status).toBe(
      403,
    );
    // The denial itself is a security event in the log, with who was refused.
    const denied = await waitFor('the denial in the audit log', async () => {
      const r = await platform.api('GET', '/api/v1/audit', undefined, { authorization: `Bearer ${auditor}` });
      return r.body.items.find((a: { action: string }) => a.action.startsWith('denied GET')) ?? null;
    });
    expect(denied).toMatchObject({
      actor: expect.stringMatching(/^viewer:view/),
      status: 403,
      target: '/api/v1/audit',
    });
  });
});
