import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from './database.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-planner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plan = async (db: Database, sql: string, params: unknown[]) =>
  ((await db.manager.query(`EXPLAIN QUERY PLAN ${sql}`, params)) as Array<{ detail: string }>)
    .map((r) => r.detail)
    .join(' | ');

describe('SQLite planner: tenant indexes do not hide primary keys and run ids', () => {
  it.each<[string, string, unknown[], RegExp]>([
    [
      'task runs by id',
      'SELECT id FROM task_runs WHERE tenant_id IN (?) AND id IN (?, ?)',
      ['t', 'a', 'b'],
      /autoindex_task_runs/,
    ],
    [
      'a run’s tasks',
      'SELECT id FROM task_runs WHERE tenant_id IN (?) AND run_id IN (?)',
      ['t', 'r'],
      /uq_task_runs_run_key/,
    ],
    ['runs by id', 'SELECT id FROM runs WHERE tenant_id IN (?) AND id IN (?, ?)', ['t', 'a', 'b'], /autoindex_runs/],
    [
      'the claim keeps its tenant index',
      "SELECT id FROM task_runs WHERE tenant_id = ? AND state = 'queued' ORDER BY priority DESC",
      ['t'],
      /ix_task_runs_tenant_claim/,
    ],
    [
      'a tenant’s runs of a state keep their tenant index',
      "SELECT id FROM runs WHERE tenant_id = ? AND state = 'running' ORDER BY created_at",
      ['t'],
      /ix_runs_tenant_state/,
    ],
    [
      'scheduled runs due, across tenants',
      "SELECT id FROM runs WHERE state = 'scheduled' AND logical_date <= ? ORDER BY logical_date",
      [1],
      /ix_runs_state_logical/,
    ],
  ])('%s', async (_name, sql, params, index) => {
    const db = await Database.open({ kind: 'sqlite', path: join(dir, 'a.db') });
    try {
      expect(await plan(db, sql, params)).toMatch(index);
    } finally {
      await db.close();
    }
  });

  it('keeps statistics an operator measured (ANALYZE) and writes its own only where none exist', async () => {
    const path = join(dir, 'b.db');
    let db = await Database.open({ kind: 'sqlite', path });
    await db.manager.query(`UPDATE sqlite_stat1 SET stat = '42 7 1' WHERE idx = 'uq_jobs_tenant_name'`);
    await db.close();
    db = await Database.open({ kind: 'sqlite', path });
    try {
      const rows = (await db.manager.query(`SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'jobs'`)) as Array<{
        idx: string;
        stat: string;
      }>;
      expect(rows).toContainEqual({ idx: 'uq_jobs_tenant_name', stat: '42 7 1' });
    } finally {
      await db.close();
    }
  });
});
