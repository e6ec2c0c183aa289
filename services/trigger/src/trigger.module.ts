import { Module } from '@nestjs/common';
import { DependencyTriggersService } from './events/dependency-triggers.service.js';
import { EventTriggersController } from './events/event-triggers.controller.js';
import { KafkaEventTriggersService } from './events/kafka-event-triggers.service.js';
import { RawBodyCapture } from './events/raw-body.js';
import { HooksController, WebhookSecretsController } from './events/webhooks.controller.js';
import { WebhooksService } from './events/webhooks.service.js';
import { PreviewController } from './preview/preview.controller.js';
import { SlotsController } from './time/slots.controller.js';
import { TimeTriggersService } from './time/time-triggers.service.js';

/**
 * Time triggers (cron, fixed rate, fixed delay, once), the slot ledger and
 * schedule previews; event triggers (webhook, dependency, Kafka event).
 */
@Module({
  controllers: [PreviewController, SlotsController, HooksController, WebhookSecretsController, EventTriggersController],
  providers: [
    TimeTriggersService,
    RawBodyCapture,
    WebhooksService,
    DependencyTriggersService,
    KafkaEventTriggersService,
  ],
  exports: [TimeTriggersService],
})
export class TriggerModule {}
