import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { JobDefinition, TaskDefinition } from '@baton/domain';
import { In } from 'typeorm';
import { JobVersionEntity, scoped, scopedTo } from '@baton/persistence';

const indexes = new WeakMap<JobDefinition, Map<string, TaskDefinition>>();

/** A task of a definition by key, without a linear scan (definitions hold up to 10,000 tasks). */
export function taskOf(def: JobDefinition, key: string): TaskDefinition | undefined {
  let index = indexes.get(def);
  if (!index) {
    index = new Map(def.tasks.map((t) => [t.key, t]));
    indexes.set(def, index);
  }
  return index.get(key);
}

/** Job versions are immutable, so their parsed definitions are cached for good. */
@Injectable()
export class DefinitionCache {
  private readonly byVersion = new Map<string, JobDefinition>();

  /** Remembers a definition already read (bulk paths load versions themselves). */
  prime(versionId: string, def: JobDefinition): JobDefinition {
    if (!this.byVersion.has(versionId)) {
      if (this.byVersion.size > 10_000) this.byVersion.clear();
      this.byVersion.set(versionId, def);
    }
    return this.byVersion.get(versionId)!;
  }

  /** The definitions of many versions (of many tenants): the ones not cached are read 500 a statement. */
  async getMany(
    m: EntityManager,
    wanted: ReadonlyArray<{ tenantId: string; jobVersionId: string }>,
  ): Promise<Map<string, JobDefinition>> {
    const out = new Map<string, JobDefinition>();
    const missing = new Map<string, string>();
    for (const w of wanted) {
      const hit = this.byVersion.get(w.jobVersionId);
      if (hit) out.set(w.jobVersionId, hit);
      else missing.set(w.jobVersionId, w.tenantId);
    }
    const ids = [...missing.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const rows = await scopedTo(
        m,
        part.map((id) => missing.get(id)!),
      ).find(JobVersionEntity, { where: { id: In(part) } });
      for (const v of rows) out.set(v.id, this.prime(v.id, v.definition));
    }
    return out;
  }

  async get(m: EntityManager, tenantId: string, versionId: string): Promise<JobDefinition> {
    const hit = this.byVersion.get(versionId);
    if (hit) return hit;
    const v = await scoped(m, { tenantId }).findOneOrFail(JobVersionEntity, { where: { id: versionId } });
    if (this.byVersion.size > 10_000) this.byVersion.clear();
    this.byVersion.set(versionId, v.definition);
    return v.definition;
  }
}
