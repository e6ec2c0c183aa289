import { Controller, Get, HttpCode } from '@nestjs/common';
import { Public } from '@baton/auth';
import { Database } from '@baton/persistence';
import { ProblemException } from '@baton/http';

@Controller()
export class HealthController {
  constructor(private readonly db: Database) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  @Public()
  health() {
    return { status: 'ok' };
  }

  /** Readiness: the database answers too. */
  @Get('readyz')
  @Public()
  @HttpCode(200)
  async ready() {
    try {
      await this.db.manager.query('SELECT 1');
    } catch {
      throw new ProblemException(503, 'not_ready', 'database unavailable');
    }
    return { status: 'ready', database: this.db.dialect };
  }
}
