import { describe, expect, it } from 'vitest';
import {
  type PredictedTask,
  type SlaDeadlines,
  type SlaFacts,
  type SlaSpec,
  type SlaState,
  type TaskEstimate,
  NO_HISTORY_DEFAULT_MS,
  SLA_STATES,
  backtestSla,
  canSlaTransition,
  decideSla,
  estimateTask,
  formatWallTime,
  parseWallTime,
  percentile,
  predictRun,
  slaDeadlines,
  taskBreaches,
  wallTimeInstant,
  withAssumedDurations,
} from './sla.js';

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('wall times of an SLA', () => {
  it.each<[string, ReturnType<typeof parseWallTime>]>([
    ['06:00', { days: 0, hour: 6, minute: 0 }],
    ['06:00+1d', { days: 1, hour: 6, minute: 0 }],
    [' 6:05 + 2d ', { days: 2, hour: 6, minute: 5 }],
    ['23:59+31d', { days: 31, hour: 23, minute: 59 }],
    ['24:00', null],
    ['06:60', null],
    ['06:00+32d', null],
    ['06:00-1d', null],
    ['6am', null],
    ['', null],
  ])('parses %j', (text, want) => {
    expect(parseWallTime(text)).toEqual(want);
    if (want) expect(parseWallTime(formatWallTime(want))).toEqual(want);
  });

  it.each<[string, string, string, string]>([
    // The logical date's calendar day is the zone's: 20:00 UTC is already the next day in Shanghai.
    ['06:00+1d', '2026-03-07T20:00:00Z', 'Asia/Shanghai', '2026-03-08T22:00:00.000Z'],
    ['06:00', '2026-03-07T10:00:00Z', 'Asia/Shanghai', '2026-03-06T22:00:00.000Z'],
    ['06:00+1d', '2026-03-07T10:00:00Z', 'UTC', '2026-03-08T06:00:00.000Z'],
    // Past a month's end.
    ['01:00+2d', '2026-01-31T00:00:00Z', 'UTC', '2026-02-02T01:00:00.000Z'],
    // Spring forward: 02:30 does not exist in New York on 8 March 2026; the gap's end (03:00 EDT) is taken.
    ['02:30', '2026-03-08T12:00:00Z', 'America/New_York', '2026-03-08T07:00:00.000Z'],
    // Fall back: 01:30 happens twice on 1 November 2026; the first (EDT) is taken.
    ['01:30', '2026-11-01T12:00:00Z', 'America/New_York', '2026-11-01T05:30:00.000Z'],
  ])('%s for logical date %s in %s is %s', (wall, logical, tz, want) => {
    expect(new Date(wallTimeInstant(parseWallTime(wall)!, at(logical), tz)).toISOString()).toBe(want);
  });
});

describe('deadlines of a run', () => {
  const spec = (over: Partial<SlaSpec>): SlaSpec => ({
    timezone: 'UTC',
    finishBy: null,
    startBy: null,
    maxDurationMs: null,
    warnBeforeMs: 0,
    ...over,
  });
  const day = at('2026-12-01T00:00:00Z');
  it.each<[string, SlaSpec, number | null, SlaDeadlines]>([
    ['nothing declared', spec({}), null, { startBy: null, finishBy: null, warnAt: null }],
    [
      'finishBy with a warning',
      spec({ finishBy: parseWallTime('06:00+1d'), warnBeforeMs: 30 * MIN }),
      null,
      { startBy: null, finishBy: day + 30 * HOUR, warnAt: day + 30 * HOUR - 30 * MIN },
    ],
    [
      'maxDuration counts once the run started',
      spec({ maxDurationMs: 2 * HOUR }),
      day + HOUR,
      { startBy: null, finishBy: day + 3 * HOUR, warnAt: day + 3 * HOUR },
    ],
    [
      'maxDuration alone, not started',
      spec({ maxDurationMs: 2 * HOUR }),
      null,
      { startBy: null, finishBy: null, warnAt: null },
    ],
    [
      'the earlier of finishBy and start + maxDuration',
      spec({ finishBy: parseWallTime('04:00'), maxDurationMs: 2 * HOUR }),
      day + 3 * HOUR,
      { startBy: null, finishBy: day + 4 * HOUR, warnAt: day + 4 * HOUR },
    ],
    ['startBy', spec({ startBy: parseWallTime('01:00') }), null, { startBy: day + HOUR, finishBy: null, warnAt: null }],
  ])('%s', (_name, s, startedAt, want) => {
    expect(slaDeadlines(s, day, startedAt)).toEqual(want);
  });
});

describe('estimates from history', () => {
  it.each<[number[], number, number | null]>([
    [[], 50, null],
    [[7], 90, 7],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 100, 10],
    [[10, 20], 0, 10],
  ])('percentile of %j at p%i is %j', (values, p, want) => {
    expect(percentile(values, p)).toBe(want);
  });

  it('sorts what it is given and keeps run time and queue wait apart', () => {
    expect(estimateTask([30, 10, 20], [5, 1, 3])).toEqual({
      samples: 3,
      runP50: 20,
      runP90: 30,
      waitP50: 3,
      waitP90: 5,
    });
    expect(estimateTask([], [])).toEqual({ samples: 0, runP50: 0, runP90: 0, waitP50: 0, waitP90: 0 });
  });
});

describe('tasks without history', () => {
  const seen = estimateTask([4 * MIN], [MIN]);
  it.each<[string, { maxDurationMs?: number; timeoutMs: number }, TaskEstimate | undefined, unknown]>([
    ['its history, when it has some', { maxDurationMs: HOUR, timeoutMs: HOUR }, seen, null],
    [
      'its maxDuration first',
      { maxDurationMs: 20 * MIN, timeoutMs: HOUR },
      undefined,
      { ms: 20 * MIN, from: 'maxDuration' },
    ],
    ['then its timeout', { timeoutMs: HOUR }, undefined, { ms: HOUR, from: 'timeout' }],
    ['then the default', { timeoutMs: 0 }, undefined, { ms: NO_HISTORY_DEFAULT_MS, from: 'default' }],
    [
      'an estimate of no samples is no history',
      { timeoutMs: 2 * MIN },
      estimateTask([], []),
      { ms: 2 * MIN, from: 'timeout' },
    ],
  ])('%s', (_, spec, history, want) => {
    const { estimates, assumed } = withAssumedDurations(
      [{ key: 'a', ...spec }],
      new Map(history ? [['a', history]] : []),
    );
    if (want === null) {
      expect(assumed).toEqual([]);
      expect(estimates.get('a')).toEqual(seen);
    } else {
      const w = want as { ms: number; from: string };
      expect(assumed).toEqual([{ key: 'a', ...w }]);
      expect(estimates.get('a')).toEqual({ samples: 0, runP50: w.ms, runP90: w.ms, waitP50: 0, waitP90: 0 });
    }
  });

  it('makes a run of a new task late instead of on time, and still names it unknown', () => {
    const now = at('2026-11-03T05:00:00Z');
    const tasks: PredictedTask[] = [
      { key: 'old', dependsOn: [], phase: 'done', startedAt: now - 5 * MIN, finishedAt: now - MIN },
      { key: 'new', dependsOn: ['old'], phase: 'waiting', startedAt: null, finishedAt: null },
    ];
    const { estimates } = withAssumedDurations(
      [
        { key: 'old', timeoutMs: 0 },
        { key: 'new', maxDurationMs: 30 * MIN, timeoutMs: 0 },
      ],
      new Map([['old', seen]]),
    );
    const p = predictRun(tasks, estimates, now);
    expect(p.finishP90).toBe(now + 30 * MIN);
    expect(p.unknown).toEqual(['new']);
    expect(p.keyTask).toBe('new');
    // Without the assumption the same run was predicted to end now.
    expect(predictRun(tasks, new Map([['old', seen]]), now).finishP90).toBe(now);
  });
});

describe('predicting a run along its critical path', () => {
  const est = (run50: number, run90: number, wait50 = 0, wait90 = 0): TaskEstimate => ({
    samples: 10,
    runP50: run50,
    runP90: run90,
    waitP50: wait50,
    waitP90: wait90,
  });
  const task = (
    key: string,
    dependsOn: string[],
    phase: PredictedTask['phase'],
    startedAt: number | null = null,
    finishedAt: number | null = null,
  ): PredictedTask => ({ key, dependsOn, phase, startedAt, finishedAt });

  it('a chain: a finished, b running, c waiting; b holds the run', () => {
    const p = predictRun(
      [task('a', [], 'done', 0, 100), task('b', ['a'], 'running', 100), task('c', ['b'], 'waiting')],
      new Map([
        ['a', est(100, 100)],
        ['b', est(50, 80)],
        ['c', est(30, 40, 10, 20)],
      ]),
      120,
    );
    expect(p).toEqual({
      finishP50: 150 + 10 + 30,
      finishP90: 180 + 20 + 40,
      criticalPath: ['a', 'b', 'c'],
      keyTask: 'b',
      unknown: [],
    });
  });

  it('a running task past its estimate is expected to end no earlier than now', () => {
    const p = predictRun([task('a', [], 'running', 0)], new Map([['a', est(10, 20)]]), 500);
    expect([p.finishP50, p.finishP90]).toEqual([500, 500]);
  });

  it('a diamond: the slower branch is the critical path', () => {
    const tasks = [
      task('root', [], 'done', 0, 10),
      task('fast', ['root'], 'waiting'),
      task('slow', ['root'], 'waiting'),
      task('join', ['fast', 'slow'], 'waiting'),
    ];
    const p = predictRun(
      tasks,
      new Map([
        ['fast', est(5, 10)],
        ['slow', est(50, 90)],
        ['join', est(1, 1)],
      ]),
      10,
    );
    expect(p.criticalPath).toEqual(['root', 'slow', 'join']);
    expect(p.keyTask).toBe('slow');
    expect([p.finishP50, p.finishP90]).toEqual([10 + 50 + 1, 10 + 90 + 1]);
    // root has no estimate, but it is done: only tasks still to finish count as unknown.
    expect(p.unknown).toEqual([]);
  });

  it('before the run exists: every task waiting, from its expected start, and tasks without history named', () => {
    const p = predictRun(
      [task('a', [], 'waiting'), task('b', ['a'], 'waiting')],
      new Map([['a', est(100, 200)]]),
      0,
      1_000,
    );
    expect([p.finishP50, p.finishP90]).toEqual([1_100, 1_200]);
    expect(p.unknown).toEqual(['b']);
    // b has no history (no time of its own): the path still ends at it, and a, the first to run, holds the run.
    expect(p.criticalPath).toEqual(['a', 'b']);
    expect(p.keyTask).toBe('a');
  });

  it('a finished run is predicted to end when its last task did', () => {
    const p = predictRun([task('a', [], 'done', 0, 40), task('b', ['a'], 'done', 40, 90)], new Map(), 1_000);
    expect([p.finishP50, p.finishP90, p.keyTask]).toEqual([90, 90, null]);
  });

  it('refuses a cycle instead of looping', () => {
    expect(() => predictRun([task('a', ['b'], 'waiting'), task('b', ['a'], 'waiting')], new Map(), 0)).toThrow(/cycle/);
  });
});

describe('the SLA state of a run', () => {
  it('moves only forward: at_risk never back to pending, met and missed are final', () => {
    const table = Object.fromEntries(
      SLA_STATES.map((from) => [from, SLA_STATES.filter((to) => canSlaTransition(from, to))]),
    );
    expect(table).toEqual({ pending: ['at_risk', 'met', 'missed'], at_risk: ['met', 'missed'], met: [], missed: [] });
  });

  const D: SlaDeadlines = { startBy: 1_000, finishBy: 10_000, warnAt: 8_000 };
  const facts = (over: Partial<SlaFacts>): SlaFacts => ({
    deadlines: D,
    startedAt: 500,
    finishedAt: null,
    failed: false,
    predictedP90: null,
    now: 2_000,
    ...over,
  });
  it.each<[string, SlaState, Partial<SlaFacts>, SlaState]>([
    ['on track', 'pending', { predictedP90: 7_000 }, 'pending'],
    ['the p90 prediction passes the warning time', 'pending', { predictedP90: 8_001 }, 'at_risk'],
    ['at risk stays at risk when the prediction improves', 'at_risk', { predictedP90: 3_000 }, 'at_risk'],
    ['finished in time', 'pending', { finishedAt: 9_000, now: 9_000 }, 'met'],
    ['finished in time after a warning', 'at_risk', { finishedAt: 9_999, now: 9_999 }, 'met'],
    ['finished late', 'at_risk', { finishedAt: 10_001, now: 10_001 }, 'missed'],
    ['failed in time still misses', 'pending', { finishedAt: 3_000, failed: true, now: 3_000 }, 'missed'],
    ['a hung run misses at the deadline', 'pending', { now: 10_001 }, 'missed'],
    ['not started by startBy', 'pending', { startedAt: null, now: 1_001 }, 'missed'],
    ['not started yet, before startBy', 'pending', { startedAt: null, now: 999 }, 'pending'],
    ['started late though finished in time', 'pending', { startedAt: 1_500, finishedAt: 5_000, now: 5_000 }, 'missed'],
    ['a decided state is final', 'met', { now: 50_000 }, 'met'],
    ['missed is final', 'missed', { finishedAt: 1, now: 1 }, 'missed'],
    [
      'no deadlines: met when it succeeds',
      'pending',
      { deadlines: { startBy: null, finishBy: null, warnAt: null }, finishedAt: 9e9, now: 9e9 },
      'met',
    ],
  ])('%s', (_name, current, over, want) => {
    const d = decideSla(current, facts(over));
    expect(d.state).toBe(want);
    if (d.state !== current) expect(canSlaTransition(current, d.state)).toBe(true);
  });
});

describe('backtesting a proposed SLA against history', () => {
  const spec: SlaSpec = {
    timezone: 'UTC',
    finishBy: parseWallTime('06:00+1d'),
    startBy: null,
    maxDurationMs: null,
    warnBeforeMs: 0,
  };
  const day = (n: number) => at('2026-11-01T00:00:00Z') + n * 24 * HOUR;
  it('counts the runs that would have met it, and how late the worst miss was', () => {
    const r = backtestSla(spec, [
      { logicalDate: day(0), startedAt: day(1), finishedAt: day(1) + 5 * HOUR, succeeded: true },
      { logicalDate: day(1), startedAt: day(2), finishedAt: day(2) + 7 * HOUR, succeeded: true },
      { logicalDate: day(2), startedAt: day(3), finishedAt: day(3) + 2 * HOUR, succeeded: false },
      { logicalDate: day(3), startedAt: day(4), finishedAt: day(4) + 6 * HOUR, succeeded: true },
    ]);
    expect(r).toEqual({
      runs: 4,
      met: 2,
      missed: 2,
      metRatio: 0.5,
      worstLatenessMs: HOUR,
      misses: [
        { index: 1, reason: 'finished after the deadline', lateByMs: HOUR },
        { index: 2, reason: 'the run did not succeed', lateByMs: 0 },
      ],
    });
  });

  it('says nothing without history', () => {
    expect(backtestSla(spec, [])).toEqual({
      runs: 0,
      met: 0,
      missed: 0,
      metRatio: null,
      worstLatenessMs: 0,
      misses: [],
    });
  });
});

describe('tasks past their own maxDuration', () => {
  const t = (
    key: string,
    phase: 'done' | 'running' | 'waiting',
    startedAt: number | null,
    finishedAt: number | null = null,
  ) => ({
    key,
    maxDurationMs: 100,
    phase,
    startedAt,
    finishedAt,
  });
  it.each<[string, ReturnType<typeof t>[], string[], number, string[], number | null]>([
    ['a running task within its time', [t('a', 'running', 0)], [], 50, [], 100],
    ['a running task past it', [t('a', 'running', 0)], [], 101, ['a'], null],
    ['reported once only', [t('a', 'running', 0)], ['a'], 500, [], null],
    ['a task that finished late', [t('a', 'done', 0, 150)], [], 1_000, ['a'], null],
    ['a task that finished in time', [t('a', 'done', 0, 90)], [], 1_000, [], null],
    ['a waiting task is looked at again maxDuration from now', [t('a', 'waiting', null)], [], 1_000, [], 1_100],
    ['the next due of several running', [t('a', 'running', 30), t('b', 'running', 10)], [], 20, [], 110],
  ])('%s', (_name, tasks, reported, now, want, nextAt) => {
    const r = taskBreaches(tasks, new Set(reported), now);
    expect(r.breached.map((b) => b.key)).toEqual(want);
    expect(r.nextAt).toBe(nextAt);
  });
});
