import { Module } from '@nestjs/common';
import { BacktestController } from './sla/backtest.controller.js';
import { SlaController } from './sla/sla.controller.js';
import { SlaTracker } from './sla/sla-tracker.service.js';

/** Deadlines of runs (SLA states and predictions); alerts and reports come next. */
@Module({ controllers: [SlaController, BacktestController], providers: [SlaTracker] })
export class InsightModule {}
