import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  runCli,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';
import { type ChainFields, GENESIS, chainHash } from '../src/chain.js';

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

  /** Runs statements against the platform's database, behind its back; returns the last one's rows. */
  const tamper = async (...sql: string[]): Promise<any[]> => {
    let rows: any[] = [];
    if (kind === 'mariadb') {
      const c = await createConnection({ uri: db.url! });
      for (const q of sql) rows = (await c.query(q))[0] as any[];
      await c.end();
    } else {
      const s = new Sqlite(join(platform.dataDir, 'baton.db'));
      for (const q of sql) rows = /^\s*select/i.test(q) ? s.prepare(q).all() : (s.exec(q), []);
      s.close();
    }
    return rows;
  };
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;

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
      // A change's record commits with it, under the route's declared success status.
      'PUT /api/v1/jobs/:name 200',
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
    // The denial itself is a security event in the log, with who was refused: counted per minute, written when
    // the minute closes or, as here, at shutdown.
    await platform.restart();
    const denied = await waitFor('the denial in the audit log', async () => {
      const r = await platform.api('GET', '/api/v1/audit?action=auth.denied', undefined, {
        authorization: `Bearer ${auditor}`,
      });
      return r.body.items.find((a: { actor: string }) => a.actor.startsWith('viewer:view')) ?? null;
    });
    expect(denied).toMatchObject({
      status: 403,
      target: '1 call denied: GET /api/v1/audit',
      detail: { count: 1, routes: ['GET /api/v1/audit'] },
    });
  });

  it('keys the chain: a database writer who rewrites it, drops checkpoints or cuts the tail is caught', async () => {
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'ledger' });
    const token = t.body.adminToken as string;
    const tenantId = t.body.id as string;
    const as = { authorization: `Bearer ${token}` };
    // Each audited call lands asynchronously: wait for the count before looking (or tampering) behind its back.
    const records = (n: number) =>
      waitFor(`${n} audit records`, async () => {
        const r = await platform.api('GET', '/api/v1/audit?limit=100', undefined, as);
        return r.body.items.length >= n ? true : null;
      });
    for (const name of ['one', 'two', 'three']) {
      await platform.api('PUT', `/api/v1/jobs/${name}`, { name, tasks: [{ key: 'a', type: 'noop' }] }, as);
    }
    await records(3);
    const intact = (await platform.api('GET', '/api/v1/audit/verify', undefined, as)).body;
    expect(intact).toMatchObject({ ok: true, checked: 3, keyed: 3, unkeyed: 0 });
    // The first record was checkpointed as it was appended.
    expect(intact.checkpoints.checked).toBeGreaterThanOrEqual(1);

    // An auditor exports the signed checkpoints, one of the current head included.
    const dir = mkdtempSync(join(tmpdir(), 'baton-audit-'));
    const file = join(dir, 'checkpoints.json');
    const env = { BATON_SERVER: platform.url, BATON_TOKEN: token };
    const exported = await runCli(['audit', 'checkpoints', '--now', '--out', file], env, dir);
    expect(exported.code, exported.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(file, 'utf8')).items;
    expect(saved.at(-1)).toMatchObject({ tenantId, seq: 3, keyId: expect.any(String) });
    await records(4); // the checkpoint call itself
    const ok = await runCli(['audit', 'verify', '--checkpoints', file], env, dir);
    expect([ok.code, ok.stdout.trim()]).toEqual([
      0,
      expect.stringMatching(/^audit log intact: 4 record\(s\) \(4 keyed, 0 unkeyed\), \d+ checkpoint\(s\) hold$/),
    ]);
    await records(5); // the verification call

    // A database writer edits record 2 and recomputes the whole chain without the key (SHA-256, key_id NULL).
    const rows = await tamper(
      `SELECT seq, event_id, action, actor, target, status, detail, occurred_at FROM audit_events WHERE tenant_id = ${q(tenantId)} ORDER BY seq`,
    );
    let prev = GENESIS;
    const rewrite: string[] = [];
    for (const r of rows) {
      const f: ChainFields = {
        seq: Number(r.seq),
        eventId: r.event_id,
        action: r.action,
        actor: Number(r.seq) === 2 ? 'someone else' : r.actor,
        target: r.target,
        status: Number(r.status),
        detail: r.detail,
        occurredAt: Number(r.occurred_at),
      };
      const hash = chainHash(prev, f);
      rewrite.push(
        `UPDATE audit_events SET actor = ${q(f.actor)}, prev_hash = ${q(prev)}, hash = ${q(hash)}, key_id = NULL WHERE tenant_id = ${q(tenantId)} AND seq = ${f.seq}`,
      );
      prev = hash;
    }
    await tamper(...rewrite, `UPDATE audit_heads SET hash = ${q(prev)} WHERE tenant_id = ${q(tenantId)}`);
    const rewritten = (await platform.api('GET', '/api/v1/audit/verify', undefined, as)).body;
    expect(rewritten.ok).toBe(false);
    expect(rewritten.reason).toMatch(/^checkpoint: record \d differs from the checkpoint: the chain was rewritten$/);

    // ... and deletes the stored checkpoints too: the exported ones still catch it.
    await tamper(`DELETE FROM audit_checkpoints WHERE tenant_id = ${q(tenantId)}`);
    expect((await platform.api('GET', '/api/v1/audit/verify', undefined, as)).body).toMatchObject({
      ok: true,
      keyed: 0,
      unkeyed: 5,
    });
    const caught = await runCli(['audit', 'verify', '--checkpoints', file], env, dir);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toMatch(/audit log BROKEN at record \d: checkpoint: record \d differs from the checkpoint/);
    await records(6);

    // A cut tail (the newest record and the head moved back) is caught by the exported checkpoint of the head.
    await tamper(
      `DELETE FROM audit_events WHERE tenant_id = ${q(tenantId)} AND seq > 2`,
      `UPDATE audit_heads SET seq = 2, hash = (SELECT hash FROM audit_events WHERE tenant_id = ${q(tenantId)} AND seq = 2) WHERE tenant_id = ${q(tenantId)}`,
    );
    const cut = await runCli(['audit', 'verify', '--checkpoints', file], env, dir);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(/record 3 is missing: the log was cut short/);

    // A forged checkpoint (signed without the key) is refused, and bad bodies name the field.
    const forged = await platform.api(
      'POST',
      '/api/v1/audit/verify',
      { checkpoints: [{ ...saved.at(-1), seq: 2 }] },
      as,
    );
    expect(forged.body.checkpoints.failed[0].problem).toMatch(/signature does not match/);
    const bad = await platform.api('POST', '/api/v1/audit/verify', { checkpoints: [{ seq: 'x' }] }, as);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toMatch(/^checkpoints\[0\]\./);
  });
});
