import { Module } from '@nestjs/common';
import { LatenessController } from './reports/lateness.controller.js';
import { ReportsController } from './reports/reports.controller.js';
import { ReportsService } from './reports/reports.service.js';
import { AlertChannelsController, AlertRulesController } from './alerts/alert-config.controller.js';
import { AlertConfigService } from './alerts/alert-config.service.js';
import { AlertIntake } from './alerts/alert-intake.service.js';
import { AlertSender } from './alerts/alert-sender.service.js';
import { AlertsController } from './alerts/alerts.controller.js';
import { AgentWatch } from './alerts/agent-watch.service.js';
import { BacktestController } from './sla/backtest.controller.js';
import { SlaHistoryController } from './sla/sla-history.controller.js';
import { SlaHistoryService } from './sla/sla-history.service.js';
import { SlaController } from './sla/sla.controller.js';
import { SlaTracker } from './sla/sla-tracker.service.js';
import { SlaGauges } from './sla/sla-gauges.js';

/** Deadlines of runs (SLA states and predictions), their history, the reports over run history, and alerts. */
@Module({
  controllers: [
    SlaController,
    SlaHistoryController,
    BacktestController,
    ReportsController,
    LatenessController,
    AlertChannelsController,
    AlertRulesController,
    AlertsController,
  ],
  providers: [
    SlaTracker,
    SlaGauges,
    SlaHistoryService,
    ReportsService,
    AlertConfigService,
    AlertSender,
    AlertIntake,
    AgentWatch,
  ],
})
export class InsightModule {}
