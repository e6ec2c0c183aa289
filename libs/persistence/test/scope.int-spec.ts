import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { In } from 'typeorm';
import { Database, PoolEntity, newId, scoped, scopedTo } from '@baton/persistence';
import { type TestDatabase, createTestDatabase, testDatabaseKinds } from '@baton/testing';

const kinds = await testDatabaseKinds();
const A = { tenantId: newId() };
const B = { tenantId: newId() };
const C = { tenantId: newId() };

describe.each(kinds)('tenant-scoped data access (%s)', (kind) => {
  let target: TestDatabase;
  let db: Database;

  const pool = (scope: { tenantId: string }, name: string, slots = 1): PoolEntity => ({
    id: newId(),
    tenantId: scope.tenantId,
    name,
    slots,
    description: null,
    createdAt: Date.now(),
    updatedAt: Date.now(),
  });

  beforeAll(async () => {
    target = await createTestDatabase(kind);
    db = await Database.open(target.connection());
    // Both tenants have a pool named `shared`: only the scope decides which one a query sees.
    await scoped(db.manager, A).insert(PoolEntity, [pool(A, 'shared', 1), pool(A, 'only-a', 2)]);
    await scoped(db.manager, B).insert(PoolEntity, pool(B, 'shared', 3));
    await scoped(db.manager, C).insert(PoolEntity, pool(C, 'shared', 4));
  });
  afterAll(async () => {
    await db?.close();
    await target?.drop();
  });

  it('finds, counts and checks only the scope tenant’s rows', async () => {
    const a = scoped(db.manager, A);
    expect((await a.find(PoolEntity, { order: { name: 'ASC' } })).map((p) => p.name)).toEqual(['only-a', 'shared']);
    expect((await a.findOne(PoolEntity, { where: { name: 'shared' } }))?.slots).toBe(1);
    expect((await scoped(db.manager, B).findOne(PoolEntity, { where: { name: 'shared' } }))?.slots).toBe(3);
    expect(await scoped(db.manager, B).findOne(PoolEntity, { where: { name: 'only-a' } })).toBeNull();
    expect(await a.count(PoolEntity)).toBe(2);
    expect(await scoped(db.manager, B).exists(PoolEntity, { where: { name: 'only-a' } })).toBe(false);
    // Alternatives of a where list each keep the tenant.
    expect(await scoped(db.manager, B).count(PoolEntity, { where: [{ name: 'only-a' }, { name: 'shared' }] })).toBe(1);
  });

  it('updates and deletes only the scope tenant’s rows', async () => {
    expect(await scoped(db.manager, B).update(PoolEntity, { name: 'shared' }, { slots: 30 })).toBe(1);
    expect((await scoped(db.manager, A).findOne(PoolEntity, { where: { name: 'shared' } }))?.slots).toBe(1);
    expect(await scoped(db.manager, B).delete(PoolEntity, { name: 'only-a' })).toBe(0);
    expect(await scoped(db.manager, A).count(PoolEntity)).toBe(2);
  });

  it('refuses to insert or upsert a row of another tenant', async () => {
    await expect(scoped(db.manager, A).insert(PoolEntity, pool(B, 'intruder'))).rejects.toThrow(/tenant/);
    await expect(scoped(db.manager, A).upsert(PoolEntity, pool(B, 'intruder'), ['id'])).rejects.toThrow(/tenant/);
    expect(await scoped(db.manager, B).count(PoolEntity, { where: { name: 'intruder' } })).toBe(0);
    expect(() => scoped(db.manager, { tenantId: '' })).toThrow(/tenant/);
    expect(() => scopedTo(db.manager, [])).toThrow(/tenant/);
  });

  it('scopes query builders, with the condition kept inside the tenant', async () => {
    const rows = await scoped(db.manager, A)
      .query(PoolEntity, 'p', "p.name = 'shared' OR p.name = 'only-a'")
      .orderBy('p.name', 'ASC')
      .getMany();
    expect(rows.map((r) => [r.tenantId, r.name])).toEqual([
      [A.tenantId, 'only-a'],
      [A.tenantId, 'shared'],
    ]);
  });

  it('scopes a batch to its tenants', async () => {
    const batch = scopedTo(db.manager, [A.tenantId, B.tenantId, A.tenantId]);
    const shared = await batch.find(PoolEntity, { where: { name: In(['shared']) } });
    expect(shared.map((p) => p.tenantId).sort()).toEqual([A.tenantId, B.tenantId].sort());
    expect(await batch.query(PoolEntity, 'p').getCount()).toBe(3);
    await expect(batch.insert(PoolEntity, pool(C, 'intruder'))).rejects.toThrow(/tenant/);
  });
});
