import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  Observable,
  ObservableGauge,
} from '@opentelemetry/api';
import { TIME_TRIGGER_TYPES } from '@baton/domain';

const TIME_TRIGGERS: ReadonlySet<string> = new Set(TIME_TRIGGER_TYPES);

/**
 * Caps label cardinality: the first `maxTenants` tenants and, per tenant, the
 * first `maxJobs` jobs seen by this process get their own label values; the
 * rest are counted under `other` (stable: a series never changes its labels).
 */
export class LabelCap {
  private readonly jobs = new Map<string, Set<string>>();

  constructor(
    private readonly maxJobs: number,
    private readonly maxTenants: number,
  ) {}

  tenant(tenant: string): string {
    if (this.jobs.has(tenant)) return tenant;
    if (this.jobs.size >= this.maxTenants) return OTHER;
    this.jobs.set(tenant, new Set());
    return tenant;
  }

  labels(tenant: string, job: string): { tenant: string; job: string } {
    const t = this.tenant(tenant);
    if (t === OTHER) return { tenant: OTHER, job: OTHER };
    const seen = this.jobs.get(t)!;
    if (seen.has(job)) return { tenant: t, job };
    if (seen.size >= this.maxJobs) return { tenant: t, job: OTHER };
    seen.add(job);
    return { tenant: t, job };
  }
}

export const OTHER = 'other';

// Seconds: from a millisecond noop to a day-long batch job.
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400,
];
const DELAY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Baton's instruments, registered once per process and used everywhere by
 * name. Names are Prometheus names as exported on `/metrics` (counters get
 * `_total` from the exporter). Tenants are labelled by id (`baton_tenant_info`
 * maps ids to names), jobs by name (`job_name`), both capped by LabelCap.
 */
export class BatonMetrics {
  readonly attempts: Counter;
  readonly assigned: Counter;
  readonly retries: Counter;
  readonly lost: Counter;
  readonly taskDuration: Histogram;
  readonly scheduleDelay: Histogram;
  readonly queueWait: Histogram;

  constructor(
    readonly meter: Meter,
    readonly cap: LabelCap,
  ) {
    this.attempts = meter.createCounter('baton_attempts', {
      description: 'Attempt results applied by this process, by outcome (lost: the lease ran out)',
    });
    // Every outcome's series exists from the start, so a rate or an alert over one never sees "no data".
    for (const outcome of ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost']) this.attempts.add(0, { outcome });
    this.assigned = meter.createCounter('baton_assigned', {
      description: 'Attempts assigned to agents by this process, by tenant (dispatch share: its rate per tenant)',
    });
    this.retries = meter.createCounter('baton_retries', {
      description: 'Attempts dispatched after the first of their task (retries), by tenant and job',
    });
    this.lost = meter.createCounter('baton_attempts_lost', {
      description: 'Attempts lost (their lease ran out), by tenant and job',
    });
    this.taskDuration = meter.createHistogram('baton_task_duration_seconds', {
      description: 'Attempt run time on the agent (start to result), by tenant, job and outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.scheduleDelay = meter.createHistogram('baton_schedule_delay_seconds', {
      description:
        'Run created minus its slot, for runs of time triggers (cron, fixedRate, fixedDelay, once), by tenant and job',
      unit: 's',
      advice: { explicitBucketBoundaries: DELAY_BUCKETS },
    });
    this.queueWait = meter.createHistogram('baton_queue_wait_seconds', {
      description: 'Task queued until assigned to an agent, by tenant and job',
      unit: 's',
      advice: { explicitBucketBoundaries: DELAY_BUCKETS },
    });
  }

  /**
   * A new run: its schedule delay (created minus its slot) when a time trigger
   * made it. Other runs carry the logical date of whatever caused them (a
   * backfill's past slot, an upstream's date), which is no due time.
   */
  runCreated(run: {
    tenantId: string;
    jobName: string;
    triggerType: string;
    logicalDate: number;
    createdAt: number;
    state?: string;
  }): void {
    // A run created ahead of its slot counts when it starts (runStarted).
    if (!TIME_TRIGGERS.has(run.triggerType) || run.state === 'scheduled') return;
    this.scheduleDelay.record(
      Math.max(0, run.createdAt - run.logicalDate) / 1000,
      this.jobLabels(run.tenantId, run.jobName),
    );
  }

  /** A run created ahead of its slot started: its schedule delay is its start minus its slot. */
  runStarted(run: {
    tenantId: string;
    jobName: string;
    triggerType: string;
    logicalDate: number;
    startedAt: number | null;
  }): void {
    if (!TIME_TRIGGERS.has(run.triggerType) || run.startedAt === null) return;
    this.scheduleDelay.record(
      Math.max(0, run.startedAt - run.logicalDate) / 1000,
      this.jobLabels(run.tenantId, run.jobName),
    );
  }

  /** Attempts that ended (applied after commit): their run time, outcome, and losses. */
  attemptEnded(tenantId: string, jobName: string, outcome: string, startedAt: number | null, at: number): void {
    const labels = this.jobLabels(tenantId, jobName);
    if (startedAt !== null) this.taskDuration.record(Math.max(0, at - startedAt) / 1000, { ...labels, outcome });
    if (outcome === 'lost') this.lost.add(1, labels);
  }

  /**
   * The capped `{tenant, job_name}` labels (not `job`: Prometheus gives every
   * series the `job` of its scrape target, and would rename ours).
   */
  jobLabels(tenantId: string, job: string): Attributes {
    const l = this.cap.labels(tenantId, job);
    return { tenant: l.tenant, job_name: l.job };
  }

  tenantLabel(tenantId: string): string {
    return this.cap.tenant(tenantId);
  }

  /**
   * Gauges read when `/metrics` is scraped (e.g. from the database): `read`
   * observes each of them. Returns the function that unregisters them.
   */
  gauges<K extends string>(
    specs: Record<K, string>,
    read: (observe: (name: K, value: number, attributes?: Attributes) => void) => Promise<void>,
  ): () => void {
    const gauges = new Map<K, ObservableGauge>();
    for (const [name, description] of Object.entries(specs) as Array<[K, string]>) {
      gauges.set(name, this.meter.createObservableGauge(name, { description }));
    }
    const cb: BatchObservableCallback = async (result) => {
      await read((name, value, attributes) => result.observe(gauges.get(name)!, value, attributes));
    };
    const observables: Observable[] = [...gauges.values()];
    this.meter.addBatchObservableCallback(cb, observables);
    return () => this.meter.removeBatchObservableCallback(cb, observables);
  }
}
