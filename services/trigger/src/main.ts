import { runService } from '@baton/runtime';
import { TriggerModule } from './trigger.module.js';

// The trigger service as its own process (production topology; see docs/deployment.md).
void runService('trigger', [TriggerModule]);
