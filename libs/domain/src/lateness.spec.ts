import { describe, expect, it } from 'vitest';
import { type LatenessRunInput, type LatenessTaskInput, criticalPath, runLateness } from './lateness.js';
import { DAY_MS, tenantHeatmap } from './reports.js';

const T0 = Date.parse('2026-11-03T02:00:00Z');
const S = 1_000;

/** A task that became ready at `ready`, was assigned `q` later, started `d` after that and ran `x`. */
function task(
  key: string,
  dependsOn: string[],
  ready: number,
  q: number,
  d: number,
  x: number,
  attempts = 1,
): LatenessTaskInput {
  const assignedAt = T0 + ready + q;
  const startedAt = assignedAt + d;
  const finishedAt = startedAt + x;
  return {
    key,
    dependsOn,
    state: 'succeeded',
    readyAt: T0 + ready,
    attempts,
    attempt: { assignedAt, startedAt, finishedAt },
    finishedAt,
  };
}

const run = (over: Partial<LatenessRunInput> = {}): LatenessRunInput => ({
  triggerType: 'cron',
  logicalDate: T0,
  createdAt: T0 + 2 * S,
  startedAt: T0 + 3 * S,
  finishedAt: T0 + 60 * S,
  ...over,
});

describe('the critical path of a run', () => {
  it.each<[string, LatenessTaskInput[], string[]]>([
    ['no tasks: no path', [], []],
    ['one task', [task('a', [], 0, 1, 1, 1)], ['a']],
    [
      'a chain runs back from the last to end',
      [task('a', [], 0, 0, 0, 10 * S), task('b', ['a'], 10 * S, 0, 0, 10 * S), task('c', ['b'], 20 * S, 0, 0, S)],
      ['a', 'b', 'c'],
    ],
    [
      'a diamond takes the upstream that ended last',
      [
        task('a', [], 0, 0, 0, S),
        task('slow', ['a'], S, 0, 0, 20 * S),
        task('fast', ['a'], S, 0, 0, 2 * S),
        task('z', ['slow', 'fast'], 21 * S, 0, 0, S),
      ],
      ['a', 'slow', 'z'],
    ],
    [
      'the last to end among unrelated roots, on a tie the later',
      [task('a', [], 0, 0, 0, 5 * S), task('b', [], 0, 0, 0, 5 * S), task('c', [], 0, 0, 0, S)],
      ['b'],
    ],
    [
      'tasks that have not ended are not on it; an unknown upstream ends it',
      [{ ...task('a', ['gone'], 0, 0, 0, S) }, { ...task('b', ['a'], S, 0, 0, S), finishedAt: null, attempt: null }],
      ['a'],
    ],
  ])('%s', (_, tasks, want) => {
    expect(criticalPath(tasks).map((t) => t.key)).toEqual(want);
  });
});

describe('the lateness breakdown of a run', () => {
  it.each<[string, LatenessRunInput, LatenessTaskInput[], Record<string, unknown>]>([
    [
      'a cron run: trigger delay, each phase summed along the path, the rest is other',
      run(),
      [task('a', [], 3 * S, 2 * S, 500, 10 * S), task('b', ['a'], 16 * S, 4 * S, 1_500, 30 * S)],
      {
        triggerDelayMs: 2 * S,
        queueWaitMs: 6 * S,
        dispatchMs: 2 * S,
        executionMs: 40 * S,
        totalMs: 58 * S,
        otherMs: 10 * S,
        criticalPath: [
          { key: 'a', state: 'succeeded', attempts: 1, queueWaitMs: 2 * S, dispatchMs: 500, executionMs: 10 * S },
          { key: 'b', state: 'succeeded', attempts: 1, queueWaitMs: 4 * S, dispatchMs: 1_500, executionMs: 30 * S },
        ],
      },
    ],
    [
      'a manual run has no trigger delay',
      run({ triggerType: 'manual' }),
      [task('a', [], 3 * S, 0, 0, S)],
      { triggerDelayMs: null, executionMs: S },
    ],
    ...(['webhook', 'backfill', 'rerun', 'dependency'] as const).map(
      (t): [string, LatenessRunInput, LatenessTaskInput[], Record<string, unknown>] => [
        `a ${t} run has no trigger delay`,
        run({ triggerType: t }),
        [],
        { triggerDelayMs: null },
      ],
    ),
    ...(['fixedRate', 'fixedDelay', 'once'] as const).map(
      (t): [string, LatenessRunInput, LatenessTaskInput[], Record<string, unknown>] => [
        `a ${t} run has one`,
        run({ triggerType: t, createdAt: T0 + 7 }),
        [],
        { triggerDelayMs: 7 },
      ],
    ),
    [
      'a run created ahead of its slot begins at its start: trigger delay and total from there',
      run({ createdAt: T0 - 2 * S, startedAt: T0 + 40, finishedAt: T0 + 10 * S }),
      [task('a', [], 40, 10, 5, S)],
      { triggerDelayMs: 40, totalMs: 10 * S - 40, queueWaitMs: 10 },
    ],
    [
      'a finished task’s ready time (cleared when stored) is its upstream’s end, a root’s the run’s begin',
      run(),
      [
        { ...task('a', [], 2 * S, S, 0, 5 * S), readyAt: null },
        { ...task('b', ['a'], 8 * S, 2 * S, 0, S), readyAt: null },
        { ...task('c', ['b'], 11 * S, 0, 0, S, 2), readyAt: null },
      ],
      {
        criticalPath: [
          { key: 'a', state: 'succeeded', attempts: 1, queueWaitMs: S, dispatchMs: 0, executionMs: 5 * S },
          { key: 'b', state: 'succeeded', attempts: 1, queueWaitMs: 2 * S, dispatchMs: 0, executionMs: S },
          { key: 'c', state: 'succeeded', attempts: 2, queueWaitMs: null, dispatchMs: 0, executionMs: S },
        ],
      },
    ],
    [
      'a running run has no total; its running task no execution yet',
      run({ finishedAt: null }),
      [
        {
          ...task('a', [], 3 * S, S, S, 0),
          state: 'running',
          finishedAt: null,
          attempt: { assignedAt: T0 + 4 * S, startedAt: T0 + 5 * S, finishedAt: null },
        },
      ],
      { totalMs: null, otherMs: null, criticalPath: [] },
    ],
    [
      'a task assigned but never started: dispatch and execution unknown, counted 0',
      run(),
      [
        {
          ...task('a', [], 3 * S, S, 0, 0),
          state: 'lost',
          attempt: { assignedAt: T0 + 4 * S, startedAt: null, finishedAt: T0 + 9 * S },
          finishedAt: T0 + 9 * S,
        },
      ],
      {
        criticalPath: [{ key: 'a', state: 'lost', attempts: 1, queueWaitMs: S, dispatchMs: null, executionMs: null }],
        queueWaitMs: S,
        dispatchMs: 0,
        executionMs: 0,
      },
    ],
    [
      'a retried task: its last attempt, the earlier ones in other',
      run(),
      [task('a', [], 40 * S, S, 0, 10 * S, 3)],
      {
        criticalPath: [
          { key: 'a', state: 'succeeded', attempts: 3, queueWaitMs: S, dispatchMs: 0, executionMs: 10 * S },
        ],
        otherMs: 47 * S,
      },
    ],
    [
      'clock skew never makes a phase negative',
      run({ createdAt: T0 - 5, startedAt: T0 - 5 }),
      [task('a', [], 3 * S, -2, 0, S)],
      { triggerDelayMs: 0, criticalPath: [expect.objectContaining({ queueWaitMs: 0 })] },
    ],
  ])('%s', (_, r, tasks, want) => {
    expect(runLateness(r, tasks)).toMatchObject(want);
  });
});

describe('the tenant × job × day heatmap', () => {
  const range = { from: Date.parse('2026-11-01T00:00:00Z'), to: Date.parse('2026-11-04T00:00:00Z') };
  const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
  it.each<[string, Parameters<typeof tenantHeatmap>[0], ReturnType<typeof tenantHeatmap>]>([
    ['no runs: the days, no rows', [], { days: ['2026-11-01', '2026-11-02', '2026-11-03'], rows: [], maxFailures: 0 }],
    [
      'rows by tenant name then job, every day filled, days outside the range dropped',
      [
        { tenantId: 't2', tenant: 'zeta', job: 'a', day: day('2026-11-02'), runs: 4, failures: 3 },
        { tenantId: 't1', tenant: 'acme', job: 'b', day: day('2026-11-01'), runs: 2, failures: 0 },
        { tenantId: 't1', tenant: 'acme', job: 'a', day: day('2026-11-03'), runs: 1, failures: 1 },
        { tenantId: 't1', tenant: 'acme', job: 'a', day: day('2026-11-04'), runs: 9, failures: 9 },
      ],
      {
        days: ['2026-11-01', '2026-11-02', '2026-11-03'],
        rows: [
          { tenantId: 't1', tenant: 'acme', job: 'a', runs: [0, 0, 1], failures: [0, 0, 1], totalFailures: 1 },
          { tenantId: 't1', tenant: 'acme', job: 'b', runs: [2, 0, 0], failures: [0, 0, 0], totalFailures: 0 },
          { tenantId: 't2', tenant: 'zeta', job: 'a', runs: [0, 4, 0], failures: [0, 3, 0], totalFailures: 3 },
        ],
        maxFailures: 3,
      },
    ],
  ])('%s', (_, counts, want) => {
    expect(tenantHeatmap(counts, range)).toEqual(want);
  });

  it('a range that starts and ends inside days covers those days', () => {
    const h = tenantHeatmap([], { from: Date.parse('2026-11-01T12:00:00Z'), to: Date.parse('2026-11-02T01:00:00Z') });
    expect(h.days).toEqual(['2026-11-01', '2026-11-02']);
  });
});
