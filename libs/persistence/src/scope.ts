import {
  type EntityManager,
  type EntityTarget,
  type FindManyOptions,
  type FindOneOptions,
  type FindOptionsWhere,
  In,
  type ObjectLiteral,
  type SelectQueryBuilder,
} from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { TenantEntity } from './entities/index.js';

/**
 * The tenant a query runs for. Tenant-owned data is reached through
 * `scoped(m, scope)` (or `scopedTo` for a batch of tenants), which adds the
 * tenant to every query, so a query without a tenant does not compile; the
 * few queries that must cross tenants (claims, the outbox, a credential looked
 * up by its hash) say so on their line (`across tenants: why`), and
 * tools/tenant-scope.spec.ts fails on any other raw query of tenant data.
 */
export interface TenantScope {
  readonly tenantId: string;
}

export const DEFAULT_TENANT_NAME = 'default';

/** A tenant named by its id or its name (platform admins address tenants either way); null when none is. */
export function findTenant(m: EntityManager, idOrName: string): Promise<TenantEntity | null> {
  return m.findOne(TenantEntity, { where: [{ id: idOrName }, { name: idOrName }] });
}

/** A row that belongs to one tenant. */
export type Owned = ObjectLiteral & { tenantId: string };

/** A filter on tenant data: everything but the tenant, which the scope sets. */
export type ScopedWhere<E> = Omit<FindOptionsWhere<E>, 'tenantId'>;
export type ScopedFind<E> = Omit<FindManyOptions<E>, 'where'> & { where?: ScopedWhere<E> | ScopedWhere<E>[] };
export type ScopedFindOne<E> = Omit<FindOneOptions<E>, 'where'> & { where: ScopedWhere<E> | ScopedWhere<E>[] };
export type ScopedPatch<E> = Omit<QueryDeepPartialEntity<E>, 'tenantId'>;
/** A row to insert: its tenant is required (and must be the scope's), generated columns may be left out. */
export type ScopedRow<E> = QueryDeepPartialEntity<E> & { tenantId: string };

const INSERT_CHUNK = 500;

/** Reads and writes of one tenant's data (or of a batch's tenants): every query carries the tenant. */
export class TenantData {
  private readonly tenants: readonly string[];

  constructor(
    readonly m: EntityManager,
    tenants: string | readonly string[],
  ) {
    this.tenants = typeof tenants === 'string' ? [tenants] : [...new Set(tenants)];
    if (this.tenants.length === 0 || this.tenants.some((t) => !t)) throw new Error('a tenant scope needs a tenant');
  }

  private get tenant(): FindOptionsWhere<Owned>['tenantId'] {
    return this.tenants.length === 1 ? this.tenants[0] : In(this.tenants);
  }

  private where<E>(w: ScopedWhere<E> | ScopedWhere<E>[] | undefined): FindOptionsWhere<E> | FindOptionsWhere<E>[] {
    const tenantId = this.tenant;
    if (Array.isArray(w)) return w.map((one) => ({ ...one, tenantId }) as FindOptionsWhere<E>);
    return { ...(w ?? {}), tenantId } as FindOptionsWhere<E>;
  }

  find<E extends Owned>(entity: EntityTarget<E>, options: ScopedFind<E> = {}): Promise<E[]> {
    return this.m.find(entity, { ...options, where: this.where(options.where) } as FindManyOptions<E>);
  }

  findOne<E extends Owned>(entity: EntityTarget<E>, options: ScopedFindOne<E>): Promise<E | null> {
    return this.m.findOne(entity, { ...options, where: this.where(options.where) } as FindOneOptions<E>);
  }

  findOneOrFail<E extends Owned>(entity: EntityTarget<E>, options: ScopedFindOne<E>): Promise<E> {
    return this.m.findOneOrFail(entity, { ...options, where: this.where(options.where) } as FindOneOptions<E>);
  }

  count<E extends Owned>(entity: EntityTarget<E>, options: ScopedFind<E> = {}): Promise<number> {
    return this.m.count(entity, { ...options, where: this.where(options.where) } as FindManyOptions<E>);
  }

  exists<E extends Owned>(entity: EntityTarget<E>, options: ScopedFind<E> = {}): Promise<boolean> {
    return this.m.exists(entity, { ...options, where: this.where(options.where) } as FindManyOptions<E>);
  }

  /** Inserts rows of the scope's tenants (a row of another tenant is a bug: it throws), in chunks. */
  async insert<E extends Owned>(entity: EntityTarget<E>, rows: ScopedRow<E> | readonly ScopedRow<E>[]): Promise<void> {
    const all: readonly ScopedRow<E>[] = Array.isArray(rows) ? rows : [rows as ScopedRow<E>];
    for (const r of all) {
      if (!this.tenants.includes(r.tenantId)) {
        throw new Error(`a row of tenant ${String(r.tenantId)} written in the scope of ${this.tenants.join(', ')}`);
      }
    }
    for (let i = 0; i < all.length; i += INSERT_CHUNK) {
      await this.m.insert(entity, all.slice(i, i + INSERT_CHUNK) as QueryDeepPartialEntity<E>[]);
    }
  }

  /**
   * Inserts rows of the scope's tenants, leaving out each that collides with a
   * unique key (`INSERT IGNORE` on MySQL, `INSERT OR IGNORE` on SQLite): an
   * idempotent write keyed by a dedupe column.
   */
  async insertIgnore<E extends Owned>(entity: EntityTarget<E>, rows: readonly ScopedRow<E>[]): Promise<void> {
    for (const r of rows) {
      if (!this.tenants.includes(r.tenantId)) {
        throw new Error(`a row of tenant ${String(r.tenantId)} written in the scope of ${this.tenants.join(', ')}`);
      }
    }
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await this.m
        .createQueryBuilder()
        .insert()
        .into(entity)
        .values(rows.slice(i, i + INSERT_CHUNK) as QueryDeepPartialEntity<E>[])
        .orIgnore()
        .execute();
    }
  }

  /** Inserts the row, or updates the row it collides with on `conflict` (a row of another tenant throws). */
  async upsert<E extends Owned>(entity: EntityTarget<E>, row: ScopedRow<E>, conflict: string[]): Promise<void> {
    if (!this.tenants.includes(row.tenantId)) {
      throw new Error(`a row of tenant ${row.tenantId} written in the scope of ${this.tenants.join(', ')}`);
    }
    await this.m.upsert(entity, row, conflict);
  }

  /** Updates the scope's rows that match; returns how many it changed. */
  async update<E extends Owned>(
    entity: EntityTarget<E>,
    where: ScopedWhere<E>,
    patch: ScopedPatch<E>,
  ): Promise<number> {
    const r = await this.m.update(entity, this.where(where) as never, patch as QueryDeepPartialEntity<E>);
    return r.affected ?? 0;
  }

  async delete<E extends Owned>(entity: EntityTarget<E>, where: ScopedWhere<E>): Promise<number> {
    const r = await this.m.delete(entity, this.where(where) as never);
    return r.affected ?? 0;
  }

  /**
   * The scope's rows with these ids, as plain SQL (the hot reads of result and
   * ACK batches: the query builder's parameter handling cost more than the
   * statement), in chunks of 500, hydrated as the driver would. `columns`
   * names the properties to read (all by default; `id` always).
   */
  async byIds<E extends Owned, K extends keyof E & string = keyof E & string>(
    entity: EntityTarget<E>,
    ids: readonly string[],
    columns?: readonly K[],
  ): Promise<Array<Pick<E, K | 'id'>>> {
    const meta = this.m.connection.getMetadata(entity);
    const wanted = columns ? new Set<string>(['id', ...columns]) : null;
    const cols = meta.columns.filter((c) => !wanted || wanted.has(c.propertyName));
    const driver = this.m.connection.driver;
    const out: Array<Pick<E, K | 'id'>> = [];
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += INSERT_CHUNK) {
      const part = unique.slice(i, i + INSERT_CHUNK);
      const rows = (await this.m.query(
        `SELECT ${cols.map((c) => c.databaseName).join(', ')} FROM ${meta.tableName} ` +
          `WHERE tenant_id IN (${this.tenants.map(() => '?').join(', ')}) AND id IN (${part.map(() => '?').join(', ')})`,
        [...this.tenants, ...part],
      )) as Array<Record<string, unknown>>;
      for (const row of rows) {
        const e: Record<string, unknown> = {};
        for (const c of cols) e[c.propertyName] = driver.prepareHydratedValue(row[c.databaseName], c);
        out.push(e as Pick<E, K | 'id'>);
      }
    }
    return out;
  }

  /**
   * A query builder over the scope's rows, filtered by `condition` when given.
   * Add conditions with `andWhere`: `where` would replace the tenant's.
   */
  query<E extends Owned>(
    entity: EntityTarget<E>,
    alias: string,
    condition?: string,
    params?: ObjectLiteral,
  ): SelectQueryBuilder<E> {
    const q = this.m
      .createQueryBuilder(entity, alias)
      .where(`${alias}.tenant_id IN (:...scopeTenants)`, { scopeTenants: this.tenants });
    return condition ? q.andWhere(`(${condition})`, params) : q;
  }
}

/** One tenant's data. */
export const scoped = (m: EntityManager, scope: TenantScope): TenantData => new TenantData(m, scope.tenantId);

/** The data of a batch's tenants (a batch of results, of run requests, of dispatch). */
export const scopedTo = (m: EntityManager, tenantIds: readonly string[]): TenantData => new TenantData(m, tenantIds);
