import { runService } from '@baton/runtime';
import { SchedulerModule } from './scheduler.module.js';

// The scheduler service as its own process (production topology; see docs/deployment.md).
void runService('scheduler', [SchedulerModule]);
