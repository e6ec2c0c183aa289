import { runService } from '@baton/runtime';
import { InsightModule } from './insight.module.js';

// The insight service as its own process (production topology; see docs/deployment.md).
void runService('insight', [InsightModule]);
