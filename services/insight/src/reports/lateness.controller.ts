import { Controller, Get, Param } from '@nestjs/common';
import { In } from 'typeorm';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, ProblemException } from '@baton/http';
import { type LatenessTaskInput, type RunLateness, runLateness } from '@baton/domain';
import { AttemptEntity, Database, JobVersionEntity, RunEntity, TaskRunEntity, scoped } from '@baton/persistence';

/** Task runs whose attempts one statement reads. */
const ATTEMPT_BATCH = 1_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A run's lateness breakdown: trigger delay, and queue wait, dispatch and execution along its critical path. */
@Controller('api/v1/runs')
export class LatenessController {
  constructor(private readonly db: Database) {}

  @Get(':id/lateness')
  @ApiDoc({
    summary:
      "Where a run's time went: trigger delay (time-triggered runs), and along its critical path (the chain of tasks that ended last) each task's queue wait, dispatch and execution, summed; total is created → finished",
  })
  @Requires('read', 'Run')
  async get(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
  ): Promise<
    { runId: string; job: string; state: string; triggerType: string } & {
      logicalDate: string | null;
      createdAt: string | null;
      finishedAt: string | null;
    } & RunLateness
  > {
    const data = scoped(this.db.manager, p);
    const run = await data.findOne(RunEntity, { where: { id } });
    if (!run) throw ProblemException.notFound(`run ${id}`);
    const [tasks, version] = await Promise.all([
      data.find(TaskRunEntity, { where: { runId: id } }),
      data.findOne(JobVersionEntity, { where: { id: run.jobVersionId } }),
    ]);
    // By task run (ix_attempts_task_run): attempts have no index by run, and a scan by run_id read every
    // attempt of the table (1.6 s at a million attempts).
    const attempts: AttemptEntity[] = [];
    for (let i = 0; i < tasks.length; i += ATTEMPT_BATCH) {
      attempts.push(
        ...(await data.find(AttemptEntity, {
          where: { taskRunId: In(tasks.slice(i, i + ATTEMPT_BATCH).map((t) => t.id)), kind: 'main' },
          select: { taskRunId: true, number: true, assignedAt: true, startedAt: true, finishedAt: true },
        })),
      );
    }
    const last = new Map<string, AttemptEntity>();
    for (const a of attempts) {
      const prev = last.get(a.taskRunId);
      if (!prev || a.number > prev.number) last.set(a.taskRunId, a);
    }
    const deps = new Map((version?.definition.tasks ?? []).map((t) => [t.key, t.dependsOn ?? []]));
    // In the definition's order (ties of the critical path go to the later task), unknown keys last.
    const order = new Map([...deps.keys()].map((k, i) => [k, i]));
    const inputs: LatenessTaskInput[] = tasks
      .sort((a, b) => (order.get(a.taskKey) ?? order.size) - (order.get(b.taskKey) ?? order.size))
      .map((t) => {
        const a = last.get(t.id);
        return {
          key: t.taskKey,
          dependsOn: deps.get(t.taskKey) ?? [],
          state: t.state,
          readyAt: t.readyAt,
          attempts: t.attemptsUsed,
          attempt: a ? { assignedAt: a.assignedAt, startedAt: a.startedAt, finishedAt: a.finishedAt } : null,
          finishedAt: t.finishedAt,
        };
      });
    return {
      runId: run.id,
      job: run.jobName,
      state: run.state,
      triggerType: run.triggerType,
      logicalDate: iso(run.logicalDate),
      createdAt: iso(run.createdAt),
      finishedAt: iso(run.finishedAt),
      ...runLateness(run, inputs),
    };
  }
}
