import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { BackfillsService } from './backfills.service.js';

const CreateBackfill = z.strictObject({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  trigger: z.number().int().min(0).default(0),
  maxActiveRuns: z.number().int().min(1).max(100).default(1),
  dryRun: z.boolean().default(false),
  /** Also run slots whose logical date already has a run of the job (a new run); by default they are skipped. */
  rerunExisting: z.boolean().default(false),
});

@Controller('api/v1')
export class BackfillsController {
  constructor(private readonly backfills: BackfillsService) {}

  /**
   * Runs the job for each slot of its time trigger in [from, to], skipping dates that already have a run unless
   * `rerunExisting`; `dryRun` lists the slots, their existing runs and what the backfill would do with each.
   */
  @Post('jobs/:name/backfills')
  @ApiDoc({ summary: "Run the slots of a job's time trigger in [from, to]", body: CreateBackfill, status: 201 })
  @Requires('run', 'Run')
  async create(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const cmd = parseInput(CreateBackfill, body);
    res.status(cmd.dryRun ? 200 : 201);
    return this.backfills.create(p, name, { ...cmd, from: Date.parse(cmd.from), to: Date.parse(cmd.to) });
  }

  @Get('backfills/:id')
  @ApiDoc({ summary: 'A backfill and its progress' })
  @Requires('read', 'Run')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.backfills.get(p, id);
  }
}
