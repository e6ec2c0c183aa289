import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { type SlaState, slaSource, slaView } from '@baton/domain';
import { type Page, ProblemException, decodeCursor, encodeCursor } from '@baton/http';
import {
  Database,
  JobEntity,
  JobVersionEntity,
  RunEntity,
  RunSlaEntity,
  type TenantScope,
  scoped,
} from '@baton/persistence';

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface SlaFilter {
  state?: SlaState | undefined;
  job?: string | undefined;
}

/** A run's SLA with what its run says of it: state and actual start and finish. */
export type SlaHistoryItem = ReturnType<typeof slaView> & {
  run: { state: string | null; startedAt: string | null; finishedAt: string | null };
};

/** Runs' SLAs of a tenant, newest logical date first: a job's history, and the at-risk (or any state's) list. */
@Injectable()
export class SlaHistoryService {
  constructor(private readonly db: Database) {}

  async list(scope: TenantScope, filter: SlaFilter, limit: number, cursor?: string): Promise<Page<SlaHistoryItem>> {
    const after = decodeCursor(cursor);
    const data = scoped(this.db.manager, scope);
    const q = data
      .query(RunSlaEntity, 's')
      .orderBy('s.logical_date', 'DESC')
      .addOrderBy('s.run_id', 'DESC')
      .limit(limit + 1);
    if (filter.job) q.andWhere('s.job_name = :job', { job: filter.job });
    if (filter.state) q.andWhere('s.state = :state', { state: filter.state });
    if (after) {
      q.andWhere('(s.logical_date < :k OR (s.logical_date = :k AND s.run_id < :id))', {
        k: Number(after.k),
        id: after.id,
      });
    }
    const rows = await q.getMany();
    const page = rows.slice(0, limit);
    const runs = page.length
      ? await data.find(RunEntity, {
          where: { id: In(page.map((r) => r.runId)) },
          select: { id: true, state: true, startedAt: true, finishedAt: true },
        })
      : [];
    const runOf = new Map(runs.map((r) => [r.id, r]));
    const last = page[page.length - 1];
    return {
      items: page.map((row) => {
        const run = runOf.get(row.runId);
        return {
          ...slaView(row),
          run: {
            state: run?.state ?? null,
            startedAt: isoOrNull(run?.startedAt ?? null),
            finishedAt: isoOrNull(run?.finishedAt ?? null),
          },
        };
      }),
      nextCursor: rows.length > limit && last ? encodeCursor({ k: last.logicalDate, id: last.runId }) : null,
    };
  }

  /** A job's declared SLA (of its current version; null when it declares none) and its runs' SLA history. */
  async ofJob(scope: TenantScope, name: string, state: SlaState | undefined, limit: number, cursor?: string) {
    const data = scoped(this.db.manager, scope);
    const job = await data.findOne(JobEntity, { where: { name } });
    if (!job) throw ProblemException.notFound(`job ${name}`);
    const version = await data.findOne(JobVersionEntity, { where: { jobId: job.id, version: job.currentVersion } });
    const sla = version?.definition.sla;
    const history = await this.list(scope, { job: name, state }, limit, cursor);
    return { job: name, version: job.currentVersion, sla: sla ? slaSource(sla) : null, ...history };
  }
}
