import type { EntityManager } from 'typeorm';

/**
 * Deletes every row of one tenant from every table that carries a tenant
 * (read off the entity metadata, so a new table is included by being an
 * entity). The tenant's own row is left for the caller. Returns rows deleted
 * per table.
 */
export async function purgeTenantRows(m: EntityManager, tenantId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const md of m.connection.entityMetadatas) {
    const col = md.findColumnWithPropertyName('tenantId');
    if (!col || md.tableName === 'tenants') continue;
    const res = await m
      .createQueryBuilder()
      .delete()
      .from(md.target)
      .where(`${col.databaseName} = :tenantId`, { tenantId })
      .execute();
    if (res.affected) out[md.tableName] = res.affected;
  }
  return out;
}
