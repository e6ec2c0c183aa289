import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, type FirstTransactionWrite, TenantEntity, newId, withFirstTransaction } from '@baton/persistence';
import { type TestDatabase, createTestDatabase, testDatabaseKinds } from '@baton/testing';

const kinds = await testDatabaseKinds();

describe.each(kinds)('database transactions (%s)', (kind) => {
  let target: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    target = await createTestDatabase(kind);
    db = await Database.open(target.connection(), { poolSize: 3 });
  });
  afterAll(async () => {
    await db?.close();
    await target?.drop();
  });

  it('commits, runs after-commit hooks once, and drops them with a rollback', async () => {
    const kept = newId();
    const dropped = newId();
    const hooks: string[] = [];
    await db.tx(async (m) => {
      await m.insert(TenantEntity, { id: kept, name: `t-${kept}`, createdAt: Date.now() });
      db.afterCommit(m, () => hooks.push('kept'));
    });
    await expect(
      db.tx(async (m) => {
        await m.insert(TenantEntity, { id: dropped, name: `t-${dropped}`, createdAt: Date.now() });
        db.afterCommit(m, () => hooks.push('dropped'));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(hooks).toEqual(['kept']);
    expect(await db.manager.findOneBy(TenantEntity, { id: kept })).not.toBeNull();
    expect(await db.manager.findOneBy(TenantEntity, { id: dropped })).toBeNull();
  });

  it("writes a call's carried record in its first transaction that commits, and in no other", async () => {
    const tenant = (id: string) => ({ id, name: `t-${id}`, createdAt: Date.now() });
    const marks: string[] = [];
    const carried: FirstTransactionWrite = {
      taken: false,
      committed: false,
      write: async (m) => {
        const id = newId();
        marks.push(id);
        await m.insert(TenantEntity, tenant(id));
      },
    };
    const [failed, kept, later] = [newId(), newId(), newId()];
    await withFirstTransaction(carried, async () => {
      // A transaction that rolls back takes the record down with it and leaves it to the next one.
      await expect(
        db.tx(async (m) => {
          await m.insert(TenantEntity, tenant(failed));
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect(carried.committed).toBe(false);
      await db.tx((m) => m.insert(TenantEntity, tenant(kept)));
      expect(carried.committed).toBe(true);
      await db.tx((m) => m.insert(TenantEntity, tenant(later)));
    });
    // Written once, by the transaction that committed (the failed one never reached it).
    expect(marks).toHaveLength(1);
    expect(await db.manager.findOneBy(TenantEntity, { id: marks[0]! })).not.toBeNull();
    expect(await db.manager.findOneBy(TenantEntity, { id: failed })).toBeNull();
    expect(await db.manager.findOneBy(TenantEntity, { id: later })).not.toBeNull();

    // A closed one (the call has answered) is taken by nothing started under it afterwards.
    const closed: FirstTransactionWrite = { taken: false, committed: false, closed: true, write: carried.write };
    await withFirstTransaction(closed, () => db.tx((m) => m.insert(TenantEntity, tenant(newId()))));
    expect([closed.committed, marks.length]).toEqual([false, 1]);
  });

  it('wakes in-process listeners once per committed transaction, never for a rolled-back one', async () => {
    let woken = 0;
    const stop = db.listen('things', () => woken++);
    await db.tx(async (m) => {
      db.notifyAfterCommit(m, 'things');
      db.notifyAfterCommit(m, 'things');
      expect(woken).toBe(0); // not before the commit
    });
    expect(woken).toBe(1);
    await expect(
      db.tx(async (m) => {
        db.notifyAfterCommit(m, 'things');
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(woken).toBe(1);
    stop();
    await db.tx(async (m) => db.notifyAfterCommit(m, 'things'));
    expect(woken).toBe(1);
  });

  it.runIf(kind === 'mariadb')('runs every transaction at READ COMMITTED, on every pooled connection', async () => {
    const levels = await Promise.all(
      Array.from({ length: 12 }, () =>
        db.tx(async (m) => {
          const rows = (await m.query('SELECT @@SESSION.tx_isolation AS level, CONNECTION_ID() AS id')) as Array<{
            level: string;
            id: number;
          }>;
          await new Promise((r) => setTimeout(r, 10)); // hold the connection so the pool hands out the others
          return rows[0]!;
        }),
      ),
    );
    expect(new Set(levels.map((l) => l.level))).toEqual(new Set(['READ-COMMITTED']));
    expect(new Set(levels.map((l) => l.id)).size).toBe(3);
  });
});
