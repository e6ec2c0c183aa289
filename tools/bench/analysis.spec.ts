// Unit checks of the bench's own arithmetic (tools/bench/src/analysis.ts). It sits here, not
// in src/, because tools/bench/tsconfig.json builds src/ and leaves specs out.
import { describe, expect, it } from 'vitest';
import {
  type AttemptRow,
  type ReadyAssign,
  type RunRow,
  type TaskRow,
  checkReady,
  jainOverSaturatedWindows,
  peakInFlight,
  readyToAssign,
} from './src/analysis.js';
import { floodRuns } from './src/fairness.js';
import { smallCron, smallSlots } from './src/small-runs.js';

const run = (id: string, createdAt: number): RunRow => ({
  id,
  tenantId: 't',
  jobName: 'j',
  state: 'succeeded',
  createdAt,
  finishedAt: null,
  logicalDate: createdAt,
});
const task = (id: string, key: string, finishedAt: number | null, readyAt: number | null = null): TaskRow => ({
  id,
  tenantId: 't',
  runId: 'r',
  key,
  state: finishedAt === null ? 'running' : 'succeeded',
  readyAt,
  finishedAt,
});
const attempt = (taskRunId: string, assignedAt: number, finishedAt: number | null, number = 1): AttemptRow => ({
  taskRunId,
  tenantId: 't',
  number,
  kind: 'main',
  assignedAt,
  finishedAt,
});

describe('readyToAssign', () => {
  const deps = (_job: string, key: string) => ({ root: [], a: ['root'], b: ['root'], join: ['a', 'b'] })[key] ?? [];

  it('rebuilds ready times from the run and the upstream tasks when ready_at was cleared', () => {
    const tasks = [task('1', 'root', 110), task('2', 'a', 130), task('3', 'b', 150), task('4', 'join', 170)];
    const attempts = [attempt('1', 105, 110), attempt('2', 112, 130), attempt('3', 118, 150), attempt('4', 151, 170)];
    const { items, skipped } = readyToAssign([run('r', 100)], tasks, attempts, deps);
    expect(skipped).toBe(0);
    const by = Object.fromEntries(items.map((i) => [i.key, [i.ready, i.assigned - i.ready, i.source]]));
    expect(by).toEqual({
      root: [100, 5, 'run'],
      a: [110, 2, 'upstream'],
      b: [110, 8, 'upstream'],
      join: [150, 1, 'upstream'],
    });
  });

  it('uses a stored ready_at unless told not to, and leaves retried tasks out', () => {
    const tasks = [task('1', 'root', null, 101), task('2', 'a', 130)];
    const attempts = [attempt('1', 105, null), attempt('2', 112, 120), attempt('2', 125, 130, 2)];
    const stored = readyToAssign([run('r', 100)], tasks, attempts, deps);
    expect(stored.items.map((i) => [i.key, i.ready, i.source])).toEqual([['root', 101, 'stored']]);
    expect(stored.skipped).toBe(1);
    const rebuilt = readyToAssign([run('r', 100)], tasks, attempts, deps, { preferStored: false });
    expect(rebuilt.items[0]!.ready).toBe(100);
    expect(checkReady(new Map([['1', 101]]), rebuilt.items)).toEqual({
      sampled: 1,
      compared: 1,
      equal: 0,
      maxDiffMs: 1,
    });
  });
});

const item = (tenantId: string, ready: number, assigned: number, finished: number | null = null): ReadyAssign => ({
  taskId: `${tenantId}${ready}-${assigned}`,
  runId: 'r',
  tenantId,
  jobName: 'j',
  key: 'k',
  ready,
  assigned,
  finished,
  source: 'run',
});

describe('jainOverSaturatedWindows', () => {
  it('is 1 for equal shares and counts only windows in which both tenants have work waiting', () => {
    // A: 20 tasks ready at 0, one assigned every 50 ms from 0 (last at 950). B: 10 ready at 0, one every 50 ms
    // (last at 450): B's backlog reaches 0 at 450, so only the window [0, 400) counts at 400 ms windows.
    const items = [
      ...Array.from({ length: 20 }, (_, k) => item('A', 0, k * 50)),
      ...Array.from({ length: 10 }, (_, k) => item('B', 0, k * 50)),
    ];
    const j = jainOverSaturatedWindows(items, ['A', 'B'], 400, 0);
    expect(j.considered).toBe(2);
    expect(j.windows).toBe(1);
    expect(j.perTenant).toEqual({ A: 8, B: 8 });
    expect(j.mean).toBeCloseTo(1, 10);
    expect(j.overall).toBeCloseTo(1, 10);
  });

  it('falls towards 1/n when one tenant gets most of the assignments', () => {
    // Both have work waiting until 1000 (one task each assigned then); A gets 3 of every 4 assignments before 400.
    const items = [
      ...Array.from({ length: 300 }, (_, k) => item('A', 0, Math.floor(k / 3) * 4)),
      ...Array.from({ length: 100 }, (_, k) => item('B', 0, k * 4)),
      item('A', 0, 1000),
      item('B', 0, 1000),
    ];
    const j = jainOverSaturatedWindows(items, ['A', 'B'], 100, 0, 400);
    // x = (75, 25) per window: (100)² / (2 · (75² + 25²)) = 0.8.
    expect(j.windows).toBe(4);
    expect(j.mean).toBeCloseTo(0.8, 10);
    expect(j.min).toBeCloseTo(0.8, 10);
  });

  it('skips windows in which a tenant had nothing waiting (work arriving slower than it is dispatched)', () => {
    const items = [
      ...Array.from({ length: 10 }, (_, k) => item('A', 0, k * 100 + 50)),
      // B's tasks are ready only from 500 on.
      ...Array.from({ length: 5 }, (_, k) => item('B', 500, 500 + k * 100 + 50)),
    ];
    const j = jainOverSaturatedWindows(items, ['A', 'B'], 100, 0);
    expect(j.windows).toBe(4);
    expect(j.perTenant).toEqual({ A: 4, B: 4 });
  });
});

describe('jainOverSaturatedWindows, stalls', () => {
  it('leaves windows in which nobody got anything out of the index and counts them', () => {
    const items = [item('A', 0, 50), item('A', 0, 250), item('B', 0, 60), item('B', 0, 260)];
    const j = jainOverSaturatedWindows(items, ['A', 'B'], 100, 0);
    // [0,100): 1 each; [100,200): saturated, nothing assigned; [200,300) would empty both backlogs.
    expect(j.windows).toBe(1);
    expect(j.empty).toBe(1);
    expect(j.mean).toBe(1);
  });
});

describe('peakInFlight', () => {
  it('counts attempts assigned and not yet finished, an end before a start at the same instant', () => {
    const p = peakInFlight([item('A', 0, 0, 10), item('A', 0, 5, 20), item('A', 0, 10, 30), item('B', 0, 0, null)]);
    expect(p.get('A')).toBe(2);
    expect(p.get('B')).toBe(1);
  });
});

describe('scenario shapes', () => {
  it('splits a flood into runs of 100 tasks', () => {
    expect(floodRuns(10_000)).toHaveLength(100);
    expect(floodRuns(250)).toEqual([100, 100, 50]);
  });

  it('fires half of the small-run jobs at even seconds and half at odd ones', () => {
    expect(smallCron(0)).toBe('0/2 * * * * *');
    expect(smallCron(1)).toBe('1/2 * * * * *');
    expect(smallSlots(0, 10_000, 20_000)).toEqual([10_000, 12_000, 14_000, 16_000, 18_000]);
    expect(smallSlots(1, 10_000, 20_000)).toEqual([11_000, 13_000, 15_000, 17_000, 19_000]);
  });
});
