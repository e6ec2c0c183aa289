import { Module } from '@nestjs/common';
import { PreviewController } from './preview/preview.controller.js';
import { SlotsController } from './time/slots.controller.js';
import { TimeTriggersService } from './time/time-triggers.service.js';

/** Time triggers (cron, fixed rate, fixed delay, once), the slot ledger and schedule previews. */
@Module({
  controllers: [PreviewController, SlotsController],
  providers: [TimeTriggersService],
  exports: [TimeTriggersService],
})
export class TriggerModule {}
