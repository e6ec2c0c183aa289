import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type JobDefinition, exceeds, jobDefinitionSource, nextSlot, parseJobDefinition } from '@baton/domain';
import {
  Database,
  JobEntity,
  JobVersionEntity,
  type TenantScope,
  TriggerEntity,
  isUniqueViolation,
  lockQuota,
  newId,
  scoped,
} from '@baton/persistence';
import { OUTBOX_RELAY, type OutboxRelay, enqueueEvent, topic, type JobChanged } from '@baton/bus';
import { ProblemException, type Page, decodeCursor, encodeCursor } from '@baton/http';

export interface JobView {
  name: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  definition: JobDefinition;
  /** The definition as a person writes it (defaults left out, durations as `30s`): what the portal edits. */
  source: Record<string, unknown>;
  triggers: TriggerView[];
}

export interface TriggerView {
  id: string;
  type: string;
  spec: Record<string, unknown>;
  enabled: boolean;
  nextFireAt: string | null;
  lastFireAt: string | null;
}

export interface ApplyResult {
  job: JobView;
  created: boolean;
  changed: boolean;
}

/** A connection URL with its password replaced, for every view of a definition. */
export function maskUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** Definitions as the API shows them: SQL connection passwords masked (they reach agents only in Assign). */
export function maskDefinition(def: JobDefinition): JobDefinition {
  const maskSql = <T extends { sql: { url: string } | null }>(t: T): T =>
    t.sql ? { ...t, sql: { ...t.sql, url: maskUrlPassword(t.sql.url) } } : t;
  return {
    ...def,
    tasks: def.tasks.map((t) => {
      const masked = maskSql(t);
      return masked.compensate ? { ...masked, compensate: maskSql(masked.compensate) } : masked;
    }),
  };
}

const MASKED_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:\*\*\*@/i;

/**
 * A definition sent back as the API showed it carries `***` for SQL passwords;
 * where the URL is otherwise the one of the same task in the current version,
 * the stored password is kept instead of being replaced by the mask.
 */
export function keepMaskedPasswords(def: JobDefinition, current: JobDefinition | null): JobDefinition {
  if (!current) return def;
  const old = new Map(current.tasks.map((t) => [t.key, t]));
  const keep = <T extends { sql: { url: string } | null }>(
    t: T,
    was: { sql: { url: string } | null } | null | undefined,
  ): T =>
    t.sql && was?.sql && MASKED_PASSWORD.test(t.sql.url) && maskUrlPassword(was.sql.url) === t.sql.url
      ? { ...t, sql: { ...t.sql, url: was.sql.url } }
      : t;
  return {
    ...def,
    tasks: def.tasks.map((t) => {
      const was = old.get(t.key);
      const task = keep(t, was);
      return task.compensate ? { ...task, compensate: keep(task.compensate, was?.compensate) } : task;
    }),
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Versioned job definitions: every change makes a new immutable version. */
@Injectable()
export class JobsService {
  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
  ) {}

  validate(name: string, body: unknown): JobDefinition {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw ProblemException.invalidField('(body)', 'a job definition must be an object');
    }
    const input = { ...(body as Record<string, unknown>) };
    if (input.name === undefined) input.name = name;
    else if (input.name !== name) {
      throw ProblemException.invalidField('name', `must match the name in the URL ("${name}")`);
    }
    const r = parseJobDefinition(input);
    if (!r.ok) {
      throw ProblemException.badRequest(
        `invalid job definition: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
        r.errors,
      );
    }
    return r.value;
  }

  async apply(scope: TenantScope, name: string, body: unknown): Promise<ApplyResult> {
    const def = this.validate(name, body);
    try {
      const result = await this.db.tx((m) => this.applyIn(m, scope, def));
      if (result.changed) this.relay.kick();
      return result;
    } catch (err) {
      // Two first applies of one name raced; the loser sees the winner's job.
      if (isUniqueViolation(err)) return this.db.tx((m) => this.applyIn(m, scope, def));
      throw err;
    }
  }

  private async applyIn(m: EntityManager, scope: TenantScope, sent: JobDefinition): Promise<ApplyResult> {
    const now = Date.now();
    let job = await scoped(m, scope).findOne(JobEntity, { where: { name: sent.name } });
    const created = !job;
    let def = sent;
    if (job) {
      const current = await scoped(m, scope).findOne(JobVersionEntity, {
        where: { jobId: job.id, version: job.currentVersion },
      });
      def = keepMaskedPasswords(sent, current?.definition ?? null);
      if (current && JSON.stringify(current.definition) === JSON.stringify(def)) {
        return { job: await this.viewIn(m, scope, job, current), created: false, changed: false };
      }
      job.currentVersion += 1;
      job.updatedAt = now;
      await scoped(m, scope).update(JobEntity, { id: job.id }, { currentVersion: job.currentVersion, updatedAt: now });
    } else {
      // The tenant's maxJobs quota: counted with its quota row locked, so concurrent creations count in turn.
      const limits = await lockQuota(this.db, m, scope);
      if (limits.maxJobs !== null) {
        const refused = exceeds('maxJobs', limits.maxJobs, await scoped(m, scope).count(JobEntity));
        if (refused) throw ProblemException.quotaExceeded(409, refused);
      }
      job = {
        id: newId(),
        tenantId: scope.tenantId,
        name: def.name,
        currentVersion: 1,
        createdAt: now,
        updatedAt: now,
      };
      await scoped(m, scope).insert(JobEntity, job);
    }
    const version: JobVersionEntity = {
      id: newId(),
      tenantId: scope.tenantId,
      jobId: job.id,
      version: job.currentVersion,
      definition: def,
      createdAt: now,
    };
    // JSON columns are typed loosely by TypeORM's partial types.
    await scoped(m, scope).insert(JobVersionEntity, version as never);
    await this.syncTriggers(m, scope, job, def, now);
    const payload: JobChanged = {
      tenantId: scope.tenantId,
      jobId: job.id,
      jobName: job.name,
      version: job.currentVersion,
    };
    await enqueueEvent(m, {
      topic: topic('catalog-events'),
      type: created ? 'job.created' : 'job.updated',
      key: scope.tenantId,
      tenantId: scope.tenantId,
      payload,
    });
    return { job: await this.viewIn(m, scope, job, version), created, changed: true };
  }

  /**
   * Trigger rows are keyed by (job, position) and survive edits that leave
   * them unchanged, so a slot keeps its dedupe key across versions.
   */
  private async syncTriggers(m: EntityManager, scope: TenantScope, job: JobEntity, def: JobDefinition, now: number) {
    const existing = await scoped(m, scope).find(TriggerEntity, { where: { jobId: job.id } });
    const byPos = new Map(existing.map((t) => [t.position, t]));
    for (const [position, t] of def.triggers.entries()) {
      const spec = t as unknown as Record<string, unknown>;
      const old = byPos.get(position);
      byPos.delete(position);
      const sameSpec = old && old.type === t.type && JSON.stringify(old.spec) === JSON.stringify(spec);
      // Fixed-rate slots count from startAt, or from when the trigger first appeared.
      const anchor = sameSpec && old.anchorAt !== null ? old.anchorAt : now;
      let next: number | null = null;
      if (t.enabled) {
        if (sameSpec && old.nextFireAt !== null) next = old.nextFireAt;
        else if (t.type === 'fixedDelay') next = now + t.delayMs;
        else next = nextSlot(t, now, anchor);
      }
      if (old) {
        await scoped(m, scope).update(TriggerEntity, { id: old.id }, {
          type: t.type,
          spec,
          enabled: t.enabled,
          nextFireAt: next,
          jobName: job.name,
          anchorAt: anchor,
        } as never);
      } else {
        await scoped(m, scope).insert(TriggerEntity, {
          id: newId(),
          tenantId: scope.tenantId,
          jobId: job.id,
          jobName: job.name,
          position,
          type: t.type,
          spec,
          enabled: t.enabled,
          nextFireAt: next,
          lastFireAt: null,
          createdAt: now,
          anchorAt: anchor,
        } as never);
      }
    }
    for (const gone of byPos.values()) await scoped(m, scope).delete(TriggerEntity, { id: gone.id });
  }

  async get(scope: TenantScope, name: string, version?: number): Promise<JobView> {
    const job = await scoped(this.db.manager, scope).findOne(JobEntity, { where: { name } });
    if (!job) throw ProblemException.notFound(`job ${name}`);
    const v = await scoped(this.db.manager, scope).findOne(JobVersionEntity, {
      where: { jobId: job.id, version: version ?? job.currentVersion },
    });
    if (!v) throw ProblemException.notFound(`job ${name} version ${version}`);
    return this.viewIn(this.db.manager, scope, job, v);
  }

  async versions(scope: TenantScope, name: string) {
    const job = await scoped(this.db.manager, scope).findOne(JobEntity, { where: { name } });
    if (!job) throw ProblemException.notFound(`job ${name}`);
    const rows = await scoped(this.db.manager, scope).find(JobVersionEntity, {
      where: { jobId: job.id },
      order: { version: 'DESC' },
    });
    return {
      items: rows.map((r) => {
        const definition = maskDefinition(r.definition);
        return { version: r.version, createdAt: iso(r.createdAt), definition, source: jobDefinitionSource(definition) };
      }),
    };
  }

  async list(
    scope: TenantScope,
    limit: number,
    cursor: string | undefined,
    prefix?: string,
  ): Promise<Page<{ name: string; version: number; updatedAt: string | null; triggers: number }>> {
    const after = decodeCursor(cursor);
    const q = scoped(this.db.manager, scope)
      .query(JobEntity, 'j')
      .orderBy('j.name', 'ASC')
      .limit(limit + 1);
    if (after) q.andWhere('j.name > :n', { n: String(after.k) });
    if (prefix) q.andWhere('j.name LIKE :p', { p: `${prefix.replace(/[%_\\]/g, '\\$&')}%` });
    const rows = await q.getMany();
    const page = rows.slice(0, limit);
    const counts = new Map<string, number>();
    if (page.length > 0) {
      const trig = await scoped(this.db.manager, scope)
        .query(TriggerEntity, 't', 't.job_id IN (:...ids)', { ids: page.map((j) => j.id) })
        .select('t.job_id', 'jobId')
        .addSelect('COUNT(*)', 'n')
        .groupBy('t.job_id')
        .getRawMany<{ jobId: string; n: string | number }>();
      for (const r of trig) counts.set(r.jobId, Number(r.n));
    }
    const last = page[page.length - 1];
    return {
      items: page.map((j) => ({
        name: j.name,
        version: j.currentVersion,
        updatedAt: iso(j.updatedAt),
        triggers: counts.get(j.id) ?? 0,
      })),
      nextCursor: rows.length > limit && last ? encodeCursor({ k: last.name, id: last.id }) : null,
    };
  }

  /** Deletes the job and its triggers; versions stay, since runs pin them. */
  async remove(scope: TenantScope, name: string): Promise<{ name: string; deleted: true }> {
    await this.db.tx(async (m) => {
      const job = await scoped(m, scope).findOne(JobEntity, { where: { name } });
      if (!job) throw ProblemException.notFound(`job ${name}`);
      await scoped(m, scope).delete(TriggerEntity, { jobId: job.id });
      await scoped(m, scope).delete(JobEntity, { id: job.id });
      const payload: JobChanged = { tenantId: scope.tenantId, jobId: job.id, jobName: job.name, version: null };
      await enqueueEvent(m, {
        topic: topic('catalog-events'),
        type: 'job.deleted',
        key: scope.tenantId,
        tenantId: scope.tenantId,
        payload,
      });
    });
    this.relay.kick();
    return { name, deleted: true };
  }

  private async viewIn(m: EntityManager, scope: TenantScope, job: JobEntity, v: JobVersionEntity): Promise<JobView> {
    const triggers = await scoped(m, scope).find(TriggerEntity, {
      where: { jobId: job.id },
      order: { position: 'ASC' },
    });
    const definition = maskDefinition(v.definition);
    return {
      name: job.name,
      version: v.version,
      createdAt: new Date(job.createdAt).toISOString(),
      updatedAt: new Date(job.updatedAt).toISOString(),
      definition,
      source: jobDefinitionSource(definition),
      triggers: triggers.map((t) => ({
        id: t.id,
        type: t.type,
        spec: t.spec,
        enabled: t.enabled,
        nextFireAt: iso(t.nextFireAt),
        lastFireAt: iso(t.lastFireAt),
      })),
    };
  }
}
