import { Controller, Get, Param, Query } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, parseLimit } from '@baton/http';
import { GridService } from './grid.service.js';

/** At most this many runs a page: 200 runs of a 500-task job are 100k cells. */
export const MAX_GRID_RUNS = 200;

@Controller('api/v1/jobs')
export class GridController {
  constructor(private readonly grid: GridService) {}

  @Get(':name/grid')
  @ApiDoc({ summary: "A job's runs × tasks state matrix, newest runs first (limit, cursor for older runs)" })
  @Requires('read', 'Run')
  get(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    return this.grid.grid(p, name, parseLimit(limit, 100, MAX_GRID_RUNS), cursor);
  }
}
