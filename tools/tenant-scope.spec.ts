import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sources } from './sources.js';

/*
 * Tenant scope: data that belongs to a tenant is queried through
 * libs/persistence's `scoped(m, scope)` / `scopedTo(m, tenantIds)`, which put
 * the tenant into every query. This test proves no service or library outside
 * libs/persistence queries a tenant-owned entity through a raw EntityManager,
 * except on a line (or the line above) that says `across tenants: <why>`.
 */
const ROOT = resolve(__dirname, '..');
const ENTITIES = join(ROOT, 'libs/persistence/src/entities');

/** Entity classes with a tenantId column, read from their source. */
export function ownedEntities(text: string): string[] {
  return (
    text
      .split(/(?=export class )/)
      // A nullable tenant (the outbox: platform events too) is infrastructure, not a tenant's data.
      .filter((block) => /\btenantId!?: string;/.test(block))
      .map((block) => /^export class (\w+)/.exec(block)?.[1])
      .filter((name): name is string => !!name)
  );
}

const METHODS = [
  'find',
  'findBy',
  'findOne',
  'findOneBy',
  'findOneOrFail',
  'findOneByOrFail',
  'count',
  'countBy',
  'exists',
  'existsBy',
  'insert',
  'update',
  'delete',
  'save',
  'upsert',
  'increment',
  'decrement',
  'createQueryBuilder',
];

export function rawTenantQueries(text: string, owned: readonly string[]): string[] {
  // A raw manager is `m`, `em`, `manager` (`this.db.manager`, `db.manager`); the call may start on the next line.
  const call = new RegExp(
    `\\b(?:m|em|manager)\\s*\\.(?:${METHODS.join('|')})\\(\\s*(?:${owned.join('|')})\\b` +
      `|\\.(?:update|insert|delete)\\((?:\\s*)(?:${owned.join('|')})\\)`,
    'g',
  );
  const lines = text.split('\n');
  const lineAt = (index: number) => text.slice(0, index).split('\n').length - 1;
  const out: string[] = [];
  for (const match of text.matchAll(call)) {
    const first = lineAt(match.index);
    const last = lineAt(match.index + match[0].length);
    const near = lines.slice(Math.max(0, first - 1), last + 1).join('\n');
    if (/across tenants: \S/.test(near)) continue;
    out.push(
      lines
        .slice(first, last + 1)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim(),
    );
  }
  return out;
}

/** A scoped query builder whose tenant condition a later `where`/`orWhere` of the same statement would undo. */
export function undoneScopes(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/\.query\(\s*[A-Z]\w*Entity\b[^;]*/g)) {
    if (/\.(?:where|orWhere)\(/.test(match[0])) out.push(match[0].replace(/\s+/g, ' ').slice(0, 160));
  }
  return out;
}

const owned = readdirSync(ENTITIES)
  .filter((f) => f.endsWith('.ts'))
  .flatMap((f) => ownedEntities(readFileSync(join(ENTITIES, f), 'utf8')));

describe('tenant scope', () => {
  it('knows which entities belong to a tenant', () => {
    expect(owned).toEqual(expect.arrayContaining(['RunEntity', 'TaskRunEntity', 'AttemptEntity', 'JobEntity']));
    expect(owned).not.toContain('TenantEntity');
    expect(owned).not.toContain('OutboxEntity');
  });

  it('recognises raw queries of tenant data and the lines that say why they cross tenants', () => {
    const ents = ['RunEntity', 'AgentEntity'];
    expect(rawTenantQueries('await m.findOne(RunEntity, { where: { id } });', ents)).toHaveLength(1);
    expect(rawTenantQueries('await this.db.manager\n  .find(AgentEntity, {});', ents)).toHaveLength(1);
    expect(rawTenantQueries('m.createQueryBuilder().update(RunEntity).set({})', ents)).toHaveLength(1);
    expect(rawTenantQueries('await scoped(m, scope).findOne(RunEntity, { where: { id } });', ents)).toEqual([]);
    expect(rawTenantQueries('m.findOne(TenantEntity, { where: { id } })', ents)).toEqual([]);
    expect(
      rawTenantQueries('// across tenants: a key is looked up by its hash\nawait m.findOne(AgentEntity, {});', ents),
    ).toEqual([]);
  });

  it('recognises a scoped query whose tenant condition is replaced', () => {
    expect(undoneScopes("scoped(m, s).query(RunEntity, 'r').where('r.id = :id', { id }).getOne();")).toHaveLength(1);
    expect(undoneScopes("scoped(m, s).query(RunEntity, 'r').orWhere('r.id = :id').getOne();")).toHaveLength(1);
    expect(undoneScopes("scoped(m, s).query(RunEntity, 'r').andWhere('r.id = :id', { id }).getOne();")).toEqual([]);
  });

  it('is on every query of tenant data outside libs/persistence', () => {
    const files = [...sources(join(ROOT, 'services')), ...sources(join(ROOT, 'libs'))]
      .map((f) => relative(ROOT, f))
      .filter((f) => !f.startsWith('libs/persistence/') && !f.includes('/test/') && !f.endsWith('.int-spec.ts'));
    const offenders = files.flatMap((f) =>
      rawTenantQueries(readFileSync(join(ROOT, f), 'utf8'), owned).map((q) => `${f}: ${q}`),
    );
    expect(offenders).toEqual([]);
    const undone = files.flatMap((f) => undoneScopes(readFileSync(join(ROOT, f), 'utf8')).map((q) => `${f}: ${q}`));
    expect(undone).toEqual([]);
  });
});
