import { Controller, Get, Param } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Requires } from '@baton/auth';
import { ApiDoc, ProblemException } from '@baton/http';
import { slaView } from '@baton/domain';
import { Database, RunEntity, RunSlaEntity, scoped } from '@baton/persistence';

/** A run's SLA: its deadlines, state and the latest prediction of its finish. */
@Controller('api/v1/runs')
export class SlaController {
  constructor(private readonly db: Database) {}

  @Get(':id/sla')
  @ApiDoc({
    summary: "A run's SLA: deadlines, state (pending, at_risk, met, missed), predicted finish and critical path",
  })
  @Requires('read', 'Run')
  async get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    const data = scoped(this.db.manager, p);
    const row = await data.findOne(RunSlaEntity, { where: { runId: id } });
    if (!row) {
      if (!(await data.exists(RunEntity, { where: { id } }))) throw ProblemException.notFound(`run ${id}`);
      throw ProblemException.notFound(`run ${id} has no SLA (its job version declares none)`);
    }
    return slaView(row);
  }
}
