import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { JobDefinition } from '@baton/domain';
import { JobVersionEntity } from '@baton/persistence';

/** Job versions are immutable, so their parsed definitions are cached for good. */
@Injectable()
export class DefinitionCache {
  private readonly byVersion = new Map<string, JobDefinition>();

  async get(m: EntityManager, tenantId: string, versionId: string): Promise<JobDefinition> {
    const hit = this.byVersion.get(versionId);
    if (hit) return hit;
    const v = await m.findOneOrFail(JobVersionEntity, { where: { tenantId, id: versionId } });
    if (this.byVersion.size > 10_000) this.byVersion.clear();
    this.byVersion.set(versionId, v.definition);
    return v.definition;
  }
}
