import type { RunFinished } from '@baton/bus';

export interface CreateRunInput {
  jobName: string;
  params: Record<string, unknown>;
  logicalDate: number;
  dedupeKey: string;
  triggerType: string;
  triggerId: string | null;
  backfillId?: string | null;
  /**
   * `queued` waits for the job's active run to end (overlap policy `queue`);
   * `scheduled` is created ahead of its slot (the logical date) and starts at it.
   */
  initialState?: 'running' | 'queued' | 'scheduled';
  /** The caller's W3C trace context; the run becomes a span of that trace (else a new trace). */
  traceparent?: string | null;
}

export type AttemptOutcome = 'succeeded' | 'failed' | 'timed_out' | 'lost' | 'cancelled';

export interface FinishInput {
  state: AttemptOutcome;
  exitCode: number | null;
  error: string | null;
  output: string | null;
  at: number;
}

/** What became of a reported result: applied, or recorded and rejected with the reason. */
export type ResultDisposition =
  { accepted: true } | { accepted: false; rejection: 'stale' | 'foreign' | 'unknown'; detail: string };

/** What a committed state change asks the dispatcher, timers and agents to do next. */
export interface Effects {
  queued: boolean;
  retryAt: number | null;
  /** Attempts to stop on their agents (cancelled runs). */
  cancel: string[];
  finishedRun: RunFinished | null;
  /** Per attempt id, what `finishAttempts` did with its result. */
  dispositions: Map<string, ResultDisposition>;
  /** The earliest slot of runs created `scheduled`: they start then. */
  startsAt?: number | null;
}

export const noEffects = (): Effects => ({
  queued: false,
  retryAt: null,
  cancel: [],
  finishedRun: null,
  dispositions: new Map(),
});

export const stale = (detail: string): ResultDisposition => ({ accepted: false, rejection: 'stale', detail });
