import { runService } from '@baton/runtime';
import { AuditModule } from './audit.module.js';

// The audit service as its own process (production topology; see docs/deployment.md).
void runService('audit', [AuditModule]);
