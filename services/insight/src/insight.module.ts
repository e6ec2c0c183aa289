import { Module } from '@nestjs/common';
import { AlertChannelsController, AlertRulesController } from './alerts/alert-config.controller.js';
import { AlertConfigService } from './alerts/alert-config.service.js';
import { AlertIntake } from './alerts/alert-intake.service.js';
import { AlertSender } from './alerts/alert-sender.service.js';
import { AlertsController } from './alerts/alerts.controller.js';
import { AgentWatch } from './alerts/agent-watch.service.js';
import { BacktestController } from './sla/backtest.controller.js';
import { SlaController } from './sla/sla.controller.js';
import { SlaTracker } from './sla/sla-tracker.service.js';

/** Deadlines of runs (SLA states and predictions) and alerts (channels, rules, deliveries); reports come next. */
@Module({
  controllers: [SlaController, BacktestController, AlertChannelsController, AlertRulesController, AlertsController],
  providers: [SlaTracker, AlertConfigService, AlertSender, AlertIntake, AgentWatch],
})
export class InsightModule {}
