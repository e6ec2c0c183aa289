import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { RUN_STATES } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, ProblemException, parseInput, parseLimit } from '@baton/http';
import { currentTraceparent, isTraceparent } from '@baton/telemetry';
import { RunsService } from './runs.service.js';

const TriggerRun = z.strictObject({
  params: z.record(z.string(), z.unknown()).default({}),
  logicalDate: z.iso.datetime({ offset: true }).optional(),
  idempotencyKey: z.string().min(1).max(150).optional(),
});

const CancelRun = z.strictObject({ reason: z.string().max(500).default('cancelled by an operator') });
const RerunRun = z.strictObject({ mode: z.enum(['failed', 'all']).default('failed') });
const MarkTask = z.strictObject({ state: z.enum(['succeeded', 'skipped']) });

const RunFilter = z.object({
  job: z.string().max(100).optional(),
  state: z.enum(RUN_STATES).optional(),
});

@Controller('api/v1')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post('jobs/:name/runs')
  @ApiDoc({ summary: 'Start a run; the same idempotencyKey returns the same run', body: TriggerRun, status: 201 })
  @Requires('run', 'Run')
  async trigger(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
    @Headers('traceparent') traceparent?: string,
  ) {
    const cmd = parseInput(TriggerRun, body);
    const r = await this.runs.trigger(p, name, {
      params: cmd.params,
      logicalDate: cmd.logicalDate ? Date.parse(cmd.logicalDate) : null,
      idempotencyKey: cmd.idempotencyKey ?? null,
      // The call's span when tracing is on (itself a child of the caller's traceparent), else the caller's.
      traceparent: currentTraceparent() ?? (isTraceparent(traceparent) ? traceparent : null),
    });
    res.status(r.created ? 201 : 200);
    return r.run;
  }

  @Get('runs')
  @ApiDoc({ summary: 'Runs, newest first', query: RunFilter })
  @Requires('read', 'Run')
  list(
    @CurrentPrincipal() p: Principal,
    @Query('job') job?: string,
    @Query('state') state?: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    const f = parseInput(RunFilter, { job, state });
    return this.runs.list(p, f, parseLimit(limit), cursor);
  }

  @Get('runs/:id')
  @ApiDoc({ summary: "A run with each task's state, output and attempts" })
  @Requires('read', 'Run')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.runs.get(p, id);
  }

  @Post('runs/:id/cancel')
  @ApiDoc({ summary: 'Cancel a run; running tasks are stopped on their agents', body: CancelRun })
  @HttpCode(200)
  @Requires('cancel', 'Run')
  cancel(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: unknown) {
    const cmd = parseInput(CancelRun, body);
    return this.runs.cancel(p, id, cmd.reason);
  }

  @Post('runs/:id/rerun')
  @ApiDoc({ summary: 'Rerun the failed tasks and their downstream, or all', body: RerunRun, status: 201 })
  @Requires('run', 'Run')
  rerun(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.runs.rerun(p, id, parseInput(RerunRun, body).mode);
  }

  @Post('runs/:id/tasks/:key/mark')
  @ApiDoc({ summary: 'Mark a task of a running run succeeded or skipped', body: MarkTask })
  @HttpCode(200)
  @Requires('run', 'Run')
  mark(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Param('key') key: string, @Body() body: unknown) {
    return this.runs.mark(p, id, key, parseInput(MarkTask, body).state);
  }

  @Get('runs/:id/tasks/:key/logs')
  @ApiDoc({ summary: "A task's output as text (?attempt, ?since)" })
  @Requires('read', 'Run')
  async logs(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('key') key: string,
    @Res() res: Response,
    @Query('attempt') attempt?: string,
    @Query('since') since?: string,
  ) {
    let n: number | undefined;
    if (attempt !== undefined) {
      n = Number(attempt);
      if (!Number.isInteger(n) || n < 1) throw ProblemException.invalidField('attempt', 'must be a positive integer');
    }
    let after = -1;
    if (since !== undefined) {
      after = Number(since);
      if (!Number.isInteger(after) || after < -1)
        throw ProblemException.invalidField('since', 'must be a log sequence number');
    }
    const r = await this.runs.logs(p, id, key, n, after);
    // Followers (`baton logs --follow`) ask again with ?since=<X-Baton-Last-Seq> until the attempt ends.
    if (r.attempt !== null) res.setHeader('X-Baton-Attempt', String(r.attempt));
    res.setHeader('X-Baton-Last-Seq', String(r.lastSeq));
    res.setHeader('X-Baton-Task-State', r.taskState);
    if (r.attemptState) res.setHeader('X-Baton-Attempt-State', r.attemptState);
    res.type('text/plain; charset=utf-8').send(r.text);
  }
}
