import { Module } from '@nestjs/common';
import { ReportsController } from './reports/reports.controller.js';
import { ReportsService } from './reports/reports.service.js';
import { BacktestController } from './sla/backtest.controller.js';
import { SlaHistoryController } from './sla/sla-history.controller.js';
import { SlaHistoryService } from './sla/sla-history.service.js';
import { SlaController } from './sla/sla.controller.js';
import { SlaTracker } from './sla/sla-tracker.service.js';

/** Deadlines of runs (SLA states and predictions), their history, and the reports over run history. */
@Module({
  controllers: [SlaController, SlaHistoryController, BacktestController, ReportsController],
  providers: [SlaTracker, SlaHistoryService, ReportsService],
})
export class InsightModule {}
