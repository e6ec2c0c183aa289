import { Controller, Get, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { SLA_STATES } from '@baton/domain';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseInput, parseLimit } from '@baton/http';
import { SlaHistoryService } from './sla-history.service.js';

const JobSlaQuery = z.object({ state: z.enum(SLA_STATES).optional() });
const SlaListQuery = z.object({ state: z.enum(SLA_STATES).optional(), job: z.string().min(1).max(100).optional() });

@Controller('api/v1')
export class SlaHistoryController {
  constructor(private readonly slas: SlaHistoryService) {}

  @Get('jobs/:name/sla')
  @ApiDoc({
    summary:
      "A job's declared SLA and its runs' SLA history (state, deadlines, predicted and actual finish, reason), newest first",
    query: JobSlaQuery,
  })
  @Requires('read', 'Job')
  job(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Query('state') state?: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    const q = parseInput(JobSlaQuery, { state });
    return this.slas.ofJob(p, name, q.state, parseLimit(limit), cursor);
  }

  @Get('sla')
  @ApiDoc({
    summary:
      "Runs' SLAs across the tenant's jobs, newest first; ?state=at_risk is the at-risk list (predicted finish, key task)",
    query: SlaListQuery,
  })
  @Requires('read', 'Run')
  list(
    @CurrentPrincipal() p: Principal,
    @Query('state') state?: string,
    @Query('job') job?: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    const f = parseInput(SlaListQuery, { state, job });
    return this.slas.list(p, f, parseLimit(limit), cursor);
  }
}
