import { Body, Controller, Delete, Get, Param, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { POOL_NAME_PATTERN } from '@baton/domain';
import { ApiDoc, ProblemException, parseInput } from '@baton/http';
import { PoolsService } from './pools.service.js';

const SetPool = z.strictObject({
  slots: z.int().min(0).max(1_000_000),
  description: z.string().max(500).nullable().optional(),
});

function poolName(name: string): string {
  if (!POOL_NAME_PATTERN.test(name)) {
    throw ProblemException.invalidField('name', 'must be a pool name: lower-case letters, digits, _ . - (at most 100)');
  }
  return name;
}

/** Named pools of slots per tenant; a task says `pool: name` (and `poolSlots`) to draw on one. */
@Controller('api/v1/pools')
export class PoolsController {
  constructor(private readonly pools: PoolsService) {}

  @Put(':name')
  @ApiDoc({ summary: 'Create a pool or change its slots (201 when created)', body: SetPool })
  @Requires('manage', 'Pool')
  async put(
    @CurrentPrincipal() p: Principal,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const cmd = parseInput(SetPool, body);
    const { created, pool } = await this.pools.put(p, poolName(name), cmd.slots, cmd.description);
    res.status(created ? 201 : 200);
    return pool;
  }

  @Get()
  @ApiDoc({ summary: "The tenant's pools with the slots in use and the tasks waiting for each" })
  @Requires('read', 'Pool')
  list(@CurrentPrincipal() p: Principal) {
    return this.pools.list(p);
  }

  @Get(':name')
  @ApiDoc({ summary: 'A pool with the slots in use and the tasks waiting for it' })
  @Requires('read', 'Pool')
  get(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.pools.get(p, poolName(name));
  }

  @Delete(':name')
  @ApiDoc({ summary: 'Delete a pool (its waiting tasks then wait with pool_full until it exists again)' })
  @Requires('manage', 'Pool')
  delete(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.pools.delete(p, poolName(name));
  }
}
