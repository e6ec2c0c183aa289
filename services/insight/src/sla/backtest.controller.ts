import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { backtestSla, buildSla, slaDeadlines, slaSchema } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, ProblemException, parseInput } from '@baton/http';
import { Database, JobEntity, RunEntity, scoped } from '@baton/persistence';
import { In } from 'typeorm';

export const BACKTEST_DEFAULT_RUNS = 100;
export const BACKTEST_MAX_RUNS = 1_000;
/** The misses listed in the answer, latest first. */
const LISTED_MISSES = 20;

const Backtest = z.strictObject({
  sla: slaSchema,
  runs: z.int().min(1).max(BACKTEST_MAX_RUNS).optional(),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** How often a job's past runs would have met a proposed SLA. */
@Controller('api/v1/jobs')
export class BacktestController {
  constructor(private readonly db: Database) {}

  @Post(':name/sla/backtest')
  @HttpCode(200)
  @ApiDoc({
    summary: "How often the job's last finished runs (default 100, at most 1,000) would have met a proposed SLA",
    body: Backtest,
  })
  @Requires('read', 'Job')
  async backtest(@CurrentPrincipal() p: Principal, @Param('name') name: string, @Body() body: unknown) {
    const cmd = parseInput(Backtest, body);
    const spec = buildSla(cmd.sla);
    const data = scoped(this.db.manager, p);
    const job = await data.findOne(JobEntity, { where: { name } });
    if (!job) throw ProblemException.notFound(`job ${name}`);
    const runs = await data.find(RunEntity, {
      where: { jobId: job.id, state: In(['succeeded', 'failed', 'cancelled']) },
      order: { createdAt: 'DESC' },
      take: cmd.runs ?? BACKTEST_DEFAULT_RUNS,
      select: { id: true, logicalDate: true, startedAt: true, finishedAt: true, state: true },
    });
    const past = runs.filter((r) => r.finishedAt !== null);
    const result = backtestSla(
      spec,
      past.map((r) => ({
        logicalDate: r.logicalDate,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt!,
        succeeded: r.state === 'succeeded',
      })),
    );
    const misses = result.misses.slice(0, LISTED_MISSES).map(({ index, reason, lateByMs }) => {
      const r = past[index]!;
      return {
        runId: r.id,
        logicalDate: iso(r.logicalDate),
        state: r.state,
        finishedAt: iso(r.finishedAt),
        finishBy: iso(slaDeadlines(spec, r.logicalDate, r.startedAt).finishBy),
        reason,
        lateByMs,
      };
    });
    return {
      job: name,
      runs: result.runs,
      met: result.met,
      missed: result.missed,
      metRatio: result.metRatio,
      worstLatenessMs: result.worstLatenessMs,
      from: iso(past.length ? Math.min(...past.map((r) => r.logicalDate)) : null),
      to: iso(past.length ? Math.max(...past.map((r) => r.logicalDate)) : null),
      misses,
    };
  }
}
