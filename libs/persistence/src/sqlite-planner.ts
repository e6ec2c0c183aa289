import type { DataSource } from 'typeorm';

/**
 * What SQLite's planner is told of our indexes. Without statistics it takes an
 * equality on an index's first column as selective, so `tenant_id IN (?) AND
 * id IN (…)` searched a tenant's index and read every row of the tenant, and
 * the run's tasks by `run_id` did the same (measured: a fan-out of 10,000
 * spent 22 ms a batch there). Every index that starts with `tenant_id` is
 * described as a large table where the tenant alone narrows nothing, each
 * further column a hundredfold (a unique index to one row), so primary keys
 * and `run_id` win and the tenant indexes serve what they were made for.
 * Real statistics (`ANALYZE` by an operator) replace these rows; written at
 * every open, only where no measured row exists.
 */
export async function describeTenantIndexes(ds: DataSource): Promise<number> {
  const indexes = (await ds.query(
    `SELECT name, tbl_name AS tbl, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`,
  )) as Array<{ name: string; tbl: string; sql: string }>;
  const leading = indexes.filter((i) => /\(\s*"?tenant_id"?\s*[,)]/.test(i.sql));
  const across = indexes.filter((i) => i.name in ACROSS_TENANTS);
  if (leading.length === 0 && across.length === 0) return 0;
  // ANALYZE of one tiny table creates sqlite_stat1 when it does not exist yet.
  const stat = (await ds.query(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'`,
  )) as unknown[];
  if (stat.length === 0) await ds.query(`ANALYZE "migrations"`);
  const measured = new Set(
    ((await ds.query(`SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL`)) as Array<{ idx: string }>).map(
      (r) => r.idx,
    ),
  );
  let written = 0;
  for (const i of leading) {
    if (measured.has(i.name) && !(await isHint(ds, i.name))) continue;
    const columns = i.sql.slice(i.sql.indexOf('(') + 1).split(',').length;
    const parts = [HINT_ROWS, HINT_ROWS];
    for (let c = 1; c < columns; c++) parts.push(Math.max(1, Math.floor(parts[parts.length - 1]! / 100)));
    if (/^\s*CREATE\s+UNIQUE/i.test(i.sql)) parts[parts.length - 1] = 1;
    await ds.query(`DELETE FROM sqlite_stat1 WHERE idx = ?`, [i.name]);
    await ds.query(`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, [i.tbl, i.name, parts.join(' ')]);
    written++;
  }
  for (const i of across) {
    if (measured.has(i.name)) continue;
    await ds.query(`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, [
      i.tbl,
      i.name,
      ACROSS_TENANTS[i.name],
    ]);
    written++;
  }
  // Loads the statistics into this connection's planner.
  await ds.query(`ANALYZE sqlite_schema`);
  return written;
}

/**
 * Indexes of claims across tenants (a state first): described as narrowing a
 * tenth a state, so a tenant's own index (a hundredth a column after the
 * tenant) still wins for a tenant's queries of a state, and these serve only
 * the claims that name no tenant.
 */
const ACROSS_TENANTS: Readonly<Record<string, string>> = {
  ix_runs_state_logical: '1000000 100000 10',
};

/** The table size our rows claim: real statistics count rows, ours claim exactly this. */
const HINT_ROWS = 1_000_000;

async function isHint(ds: DataSource, idx: string): Promise<boolean> {
  const rows = (await ds.query(`SELECT stat FROM sqlite_stat1 WHERE idx = ?`, [idx])) as Array<{ stat: string }>;
  return rows.length > 0 && rows[0]!.stat.startsWith(`${HINT_ROWS} ${HINT_ROWS}`);
}
