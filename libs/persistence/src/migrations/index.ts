import { Init1732440000000 } from './1732440000000-init.js';
import { Engine1732500000000 } from './1732500000000-engine.js';
import { EventTriggers1732600000000 } from './1732600000000-event-triggers.js';
import { Audit1732700000000 } from './1732700000000-audit.js';
import { Tracing1732800000000 } from './1732800000000-tracing.js';
import { Quotas1732900000000 } from './1732900000000-quotas.js';
import { BackfillReruns1733000000000 } from './1733000000000-backfill-reruns.js';
import { FairDispatch1733100000000 } from './1733100000000-fair-dispatch.js';
import { Pools1733200000000 } from './1733200000000-pools.js';
import { RunRequests1733300000000 } from './1733300000000-run-requests.js';
import { TriggerLookups1733400000000 } from './1733400000000-trigger-lookups.js';
import { Identity1733500000000 } from './1733500000000-identity.js';
import { Secrets1733600000000 } from './1733600000000-secrets.js';
import { RunSlas1733700000000 } from './1733700000000-run-slas.js';
import { Alerts1733800000000 } from './1733800000000-alerts.js';
import { ReportRanges1733900000000 } from './1733900000000-report-ranges.js';
import { TenantLifecycle1734000000000 } from './1734000000000-tenant-lifecycle.js';
import { AuditKeys1734100000000 } from './1734100000000-audit-keys.js';
import { QuotasUsage1734200000000 } from './1734200000000-quotas-usage.js';
import { SignIn1734300000000 } from './1734300000000-sign-in.js';
import { RunTaskEpoch1734400000000 } from './1734400000000-run-task-epoch.js';
import { ScheduledRuns1734500000000 } from './1734500000000-scheduled-runs.js';
import { SlaAssumedTasks1734600000000 } from './1734600000000-sla-assumed-tasks.js';

/** Every migration, in order. Run at start (or by `baton migrate`), never `synchronize`. */
export const MIGRATIONS = [
  Init1732440000000,
  Engine1732500000000,
  EventTriggers1732600000000,
  Audit1732700000000,
  Tracing1732800000000,
  Quotas1732900000000,
  BackfillReruns1733000000000,
  FairDispatch1733100000000,
  Pools1733200000000,
  RunRequests1733300000000,
  TriggerLookups1733400000000,
  Identity1733500000000,
  Secrets1733600000000,
  RunSlas1733700000000,
  Alerts1733800000000,
  ReportRanges1733900000000,
  TenantLifecycle1734000000000,
  AuditKeys1734100000000,
  QuotasUsage1734200000000,
  SignIn1734300000000,
  RunTaskEpoch1734400000000,
  ScheduledRuns1734500000000,
  SlaAssumedTasks1734600000000,
];
