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
import type { AuditRecordView } from '../src/review/audit-review.service.js';

const kinds = await testDatabaseKinds();

type Rec = AuditRecordView;

describe.each(kinds)('reviewing the audit log (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let as: Record<string, string>;
  let other: Record<string, string>;
  let tenantId: string;

  /** Every record matching `query`, following the pages of `limit` records. */
  const all = async (query: string, limit = 1000, headers = as): Promise<Rec[]> => {
    const out: Rec[] = [];
    let cursor: string | null = null;
    do {
      const c = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const r = await platform.api(
        'GET',
        `/api/v1/audit?limit=${limit}${query ? `&${query}` : ''}${c}`,
        undefined,
        headers,
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      out.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor);
    return out;
  };
  const seqs = (rs: Rec[]) => rs.map((r) => r.seq);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'reviewed' });
    tenantId = t.body.id;
    as = { authorization: `Bearer ${t.body.adminToken}` };
    other = {
      authorization: `Bearer ${(await platform.api('POST', '/api/v1/tenants', { name: 'elsewhere' })).body.adminToken}`,
    };
    // An actor whose name needs CSV quoting: a comma and double quotes.
    const dev = await platform.api('POST', '/api/v1/api-keys', { name: 'ops, "night"', role: 'developer' }, as);
    const devAs = { authorization: `Bearer ${dev.body.token}` };
    for (const name of ['alpha', 'beta']) {
      await platform.api('PUT', `/api/v1/jobs/${name}`, { name, tasks: [{ key: 'a', type: 'noop' }] }, devAs);
    }
    await platform.api('PUT', '/api/v1/jobs/gamma', { tasks: 'nope' }, devAs); // refused: a 400 record
    await platform.api('POST', '/api/v1/jobs/alpha/runs', {}, devAs);
    // The other tenant does the same things: none of it may show in this tenant's review.
    await platform.api('PUT', '/api/v1/jobs/alpha', { name: 'alpha', tasks: [{ key: 'a', type: 'noop' }] }, other);
    await waitFor('the audit records', async () => ((await all('')).length >= 5 ? true : null));
    await waitFor("the other tenant's record", async () => ((await all('', 1000, other)).length >= 1 ? true : null));
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('filters by actor, action, target, status and time, newest first', async () => {
    const every = await all('');
    expect(seqs(every)).toEqual([...seqs(every)].sort((a, b) => b - a));

    const byActor = await all(`actor=${encodeURIComponent('"night"')}`);
    expect(byActor.map((r) => `${r.action} ${r.status}`)).toEqual([
      'POST /api/v1/jobs/:name/runs 201',
      'PUT /api/v1/jobs/:name 400',
      'PUT /api/v1/jobs/:name 200',
      'PUT /api/v1/jobs/:name 200',
    ]);
    expect(byActor.every((r) => r.actor.includes('ops, "night"'))).toBe(true);

    // action is a prefix: the method and the start of the route
    const puts = await all(`action=${encodeURIComponent('PUT /api/v1/jobs')}`);
    expect(puts).toHaveLength(3);
    expect(await all(`action=${encodeURIComponent('/api/v1/jobs')}`)).toEqual([]);
    // % and _ match themselves, not anything
    expect(await all(`action=${encodeURIComponent('P%T')}`)).toEqual([]);
    expect(await all(`actor=${encodeURIComponent('t_nant')}`)).toEqual([]);
    expect((await all(`actor=${encodeURIComponent('tenant_')}`)).length).toBeGreaterThan(0);

    const alpha = await all('target=alpha');
    expect(alpha.map((r) => r.target)).toEqual(['/api/v1/jobs/alpha/runs', '/api/v1/jobs/alpha']);

    expect((await all('status=400')).map((r) => r.target)).toEqual(['/api/v1/jobs/gamma']);
    expect((await all('status=4xx')).map((r) => r.target)).toEqual(['/api/v1/jobs/gamma']);
    expect(await all('status=2xx')).toHaveLength(every.length - 1);

    // from inclusive, to exclusive, on occurredAt
    const [newest, , third] = every;
    const fromThird = await all(`from=${third!.occurredAt}`);
    expect(fromThird.length).toBeGreaterThanOrEqual(3);
    expect(fromThird.every((r) => r.occurredAt >= third!.occurredAt)).toBe(true);
    const beforeNewest = await all(`to=${newest!.occurredAt}`);
    expect(beforeNewest.every((r) => r.occurredAt < newest!.occurredAt)).toBe(true);
    expect(seqs(beforeNewest)).not.toContain(newest!.seq);
    // filters combine
    expect(seqs(await all(`target=alpha&action=POST&status=201`))).toEqual([alpha[0]!.seq]);
  });

  it('pages through the filtered records with the cursor, none twice, none left out', async () => {
    const puts = await all(`action=PUT`);
    const paged = await all(`action=PUT`, 1);
    expect(seqs(paged)).toEqual(seqs(puts));
    const first = await platform.api('GET', '/api/v1/audit?limit=2&action=PUT', undefined, as);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
  });

  it.each([
    ['status=abc', 'status'],
    ['status=700', 'status'],
    ['from=yesterday', 'from'],
    ['to=2026-13-01T00:00:00Z', 'to'],
    ['from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z', 'to'],
    ['actr=me', 'actr'],
    ['actor=a&actor=b', 'actor'],
  ])('answers %s with 400 naming %s', async (query, field) => {
    for (const path of ['/api/v1/audit', '/api/v1/audit.csv']) {
      const r = await platform.api('GET', `${path}?${query}`, undefined, as);
      expect(r.status, path).toBe(400);
      expect(
        r.body.errors.map((e: { path: string }) => e.path),
        path,
      ).toEqual([field]);
    }
  });

  it('exports the filtered records as CSV with RFC 4180 quoting', async () => {
    const r = await platform.api('GET', `/api/v1/audit.csv?actor=${encodeURIComponent('night')}`, undefined, as);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-.+\.csv"$/);
    const text = r.body as string;
    const lines = text.split('\n');
    expect(lines[0]).toBe('seq,occurredAt,actor,action,target,status,detail,hash');
    expect(lines.at(-1)).toBe(''); // every row ends with its newline
    const json = await all('actor=night');
    expect(lines.slice(1, -1).map((l) => Number(l.split(',')[0]))).toEqual(seqs(json));
    const refused = json.find((x) => x.status === 400)!;
    const row = lines.find((l) => l.startsWith(`${refused.seq},`))!;
    // a field with a comma or a quote is quoted, its quotes doubled
    expect(row).toContain(`,${refused.occurredAt},"${refused.actor.replace(/"/g, '""')}",PUT /api/v1/jobs/:name,`);

    // Every row of the unfiltered export is its JSON record, quoted as RFC 4180 says.
    const field = (v: unknown) => {
      const t = typeof v === 'string' ? v : String(v);
      return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
    };
    const full = ((await platform.api('GET', '/api/v1/audit.csv', undefined, as)).body as string).split('\n');
    const records = await all('');
    expect(full.slice(1, -1)).toEqual(
      records.map((x) =>
        [x.seq, x.occurredAt, x.actor, x.action, x.target, x.status, JSON.stringify(x.detail), x.hash]
          .map(field)
          .join(','),
      ),
    );
    expect(full.filter((l) => l.includes(',"developer:ops, ""night"" (')).length).toBe(4); // quoted, quotes doubled
    expect(row).not.toContain('elsewhere');
  });

  it('keeps roles without read Audit out of the list and the CSV', async () => {
    const viewer = await platform.api('POST', '/api/v1/api-keys', { name: 'reader', role: 'viewer' }, as);
    const headers = { authorization: `Bearer ${viewer.body.token}` };
    for (const path of ['/api/v1/audit?actor=night', '/api/v1/audit.csv?actor=night']) {
      expect((await platform.api('GET', path, undefined, headers)).status, path).toBe(403);
    }
  });

  it("never shows another tenant's records, in the list or the CSV", async () => {
    const mine = await all('target=alpha');
    const theirs = await all('target=alpha', 1000, other);
    expect(theirs.map((x) => x.action)).toEqual(['PUT /api/v1/jobs/:name']);
    expect(theirs.some((x) => x.actor.includes('night'))).toBe(false);
    expect((await all('actor=night', 1000, other)).length).toBe(0);
    const csv = (await platform.api('GET', '/api/v1/audit.csv?actor=night', undefined, other)).body as string;
    expect(csv).toBe('seq,occurredAt,actor,action,target,status,detail,hash\n');
    expect(mine.length).toBe(2);
  });

  it('streams an export larger than one database chunk, all of it', async () => {
    // 1200 records written straight into the table (the chain does not matter to an export).
    const values = Array.from({ length: 1200 }, (_, i) => {
      const seq = 10_000 + i;
      return `('${tenantId}', ${seq}, 'bulk-${seq}', 'POST /bulk', 'bulk, "loader"', '/bulk/${seq}', 200, '{}', ${Date.UTC(2020, 0, 1) + i}, '${'0'.repeat(64)}', '${'1'.repeat(64)}')`;
    });
    const insert = `INSERT INTO audit_events (tenant_id, seq, event_id, action, actor, target, status, detail, occurred_at, prev_hash, hash) VALUES ${values.join(', ')}`;
    if (kind === 'mariadb') {
      const c = await createConnection({ uri: db.url! });
      await c.query(insert);
      await c.end();
    } else {
      const s = new Sqlite(join(platform.dataDir, 'baton.db'));
      s.exec(insert);
      s.close();
    }
    const text = (await platform.api('GET', '/api/v1/audit.csv?action=POST%20%2Fbulk', undefined, as)).body as string;
    const rows = text.trimEnd().split('\n').slice(1);
    expect(rows).toHaveLength(1200);
    expect(rows[0]).toMatch(
      /^11199,2020-01-01T00:00:01\.199Z,"bulk, ""loader""",POST \/bulk,\/bulk\/11199,200,\{\},1{64}$/,
    );
    expect(rows.at(-1)).toMatch(/^10000,/);
    // the time filters bound it too
    const some = (
      await platform.api(
        'GET',
        '/api/v1/audit.csv?action=POST&from=2020-01-01T00:00:00.100Z&to=2020-01-01T00:00:00.200Z',
        undefined,
        as,
      )
    ).body as string;
    expect(some.trimEnd().split('\n')).toHaveLength(101);

    // The CLI lists with the same filters and exports to a file.
    const dir = mkdtempSync(join(tmpdir(), 'baton-audit-review-'));
    const env = { BATON_SERVER: platform.url, BATON_TOKEN: as.authorization!.slice('Bearer '.length) };
    const listed = await runCli(['audit', 'list', '--actor', 'night', '--status', '4xx', '--limit', '5'], env, dir);
    expect(listed.code, listed.stderr).toBe(0);
    const out = listed.stdout.trim().split('\n');
    expect(out[0]).toMatch(/^SEQ\s+OCCURRED\s+STATUS\s+ACTOR\s+ACTION\s+TARGET$/);
    expect(out.slice(1)).toEqual([
      expect.stringMatching(/ 400 .*ops, "night".* PUT \/api\/v1\/jobs\/:name\s+\/api\/v1\/jobs\/gamma$/),
    ]);
    const limited = await runCli(['audit', 'list', '--action', 'POST /bulk', '--limit', '3'], env, dir);
    expect(
      limited.stdout
        .trim()
        .split('\n')
        .slice(1, 4)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['11199', '11198', '11197']);
    expect(limited.stdout).toContain('(more:');
    const file = join(dir, 'audit.csv');
    const exported = await runCli(['audit', 'export', '--action', 'POST /bulk', '--out', file], env, dir);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(1201);
    const bad = await runCli(['audit', 'export', '--from', 'yesterday', '--out', file], env, dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/from: must be an ISO time/);
  });
});
