import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { RUN_STATES } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ProblemException, parseInput, parseLimit } from '@baton/http';
import { RunsService } from './runs.service.js';

const TriggerRun = z.strictObject({
  params: z.record(z.string(), z.unknown()).default({}),
  logicalDate: z.iso.datetime({ offset: true }).optional(),
  idempotencyKey: z.string().min(1).max(150).optional(),
});

const RunFilter = z.object({
  job: z.string().max(100).optional(),
  state: z.enum(RUN_STATES).optional(),
});

@Controller('api/v1')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post('jobs/:name/runs')
  @Requires('run', 'Run')
  async trigger(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const cmd = parseInput(TriggerRun, body);
    const r = await this.runs.trigger(p, name, {
      params: cmd.params,
      logicalDate: cmd.logicalDate ? Date.parse(cmd.logicalDate) : null,
      idempotencyKey: cmd.idempotencyKey ?? null,
    });
    res.status(r.created ? 201 : 200);
    return r.run;
  }

  @Get('runs')
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
  @Requires('read', 'Run')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.runs.get(p, id);
  }

  @Get('runs/:id/tasks/:key/logs')
  @Requires('read', 'Run')
  async logs(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('key') key: string,
    @Res() res: Response,
    @Query('attempt') attempt?: string,
  ) {
    let n: number | undefined;
    if (attempt !== undefined) {
      n = Number(attempt);
      if (!Number.isInteger(n) || n < 1) throw ProblemException.invalidField('attempt', 'must be a positive integer');
    }
    const r = await this.runs.logs(p, id, key, n);
    if (r.attempt !== null) res.setHeader('X-Baton-Attempt', String(r.attempt));
    res.type('text/plain; charset=utf-8').send(r.text);
  }
}
