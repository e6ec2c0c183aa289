import { Module } from '@nestjs/common';
import { CronSchedulerService } from './cron/cron-scheduler.service.js';
import { PreviewController } from './preview/preview.controller.js';

/** Time triggers (cron today; fixed rate, events, webhooks and files follow). */
@Module({ controllers: [PreviewController], providers: [CronSchedulerService], exports: [CronSchedulerService] })
export class TriggerModule {}
