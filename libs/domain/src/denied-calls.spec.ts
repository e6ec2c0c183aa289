import { describe, expect, it } from 'vitest';
import { type DeniedCall, DeniedCallTally, MINUTE_MS, OVERFLOW_CALLER, minuteOf } from './denied-calls.js';

const T0 = Date.UTC(2026, 11, 1, 22, 30, 0);
const call = (over: Partial<DeniedCall> = {}): DeniedCall => ({
  tenantId: 't1',
  caller: 'key:k1',
  actor: 'viewer:v (k1)',
  status: 403,
  route: 'PUT /api/v1/jobs/:name',
  at: T0 + 1_000,
  ...over,
});

describe('DeniedCallTally.add and take', () => {
  it.each<[string, DeniedCall[], number, { caller: string; count: number; minute: number }[]]>([
    ['nothing denied', [], T0 + MINUTE_MS, []],
    ['a minute still open is not taken', [call()], T0 + 30_000, []],
    [
      'a flood from one key is one aggregate',
      Array.from({ length: 10_000 }, (_, i) => call({ at: T0 + (i % 59_000) })),
      T0 + MINUTE_MS,
      [{ caller: 'key:k1', count: 10_000, minute: T0 }],
    ],
    [
      'two callers, two aggregates',
      [call(), call({ caller: 'ip:10.0.0.1' }), call()],
      T0 + MINUTE_MS,
      [
        { caller: 'key:k1', count: 2, minute: T0 },
        { caller: 'ip:10.0.0.1', count: 1, minute: T0 },
      ],
    ],
    [
      'one caller over two minutes: the open one stays',
      [call(), call({ at: T0 + MINUTE_MS + 5 })],
      T0 + MINUTE_MS + 10,
      [{ caller: 'key:k1', count: 1, minute: T0 }],
    ],
    [
      'the same caller in two tenants (a platform admin acting inside) is counted apart',
      [call(), call({ tenantId: 't2' })],
      T0 + MINUTE_MS,
      [
        { caller: 'key:k1', count: 1, minute: T0 },
        { caller: 'key:k1', count: 1, minute: T0 },
      ],
    ],
    [
      '401 and 403 of one caller are counted apart',
      [call(), call({ status: 401 })],
      T0 + MINUTE_MS,
      [
        { caller: 'key:k1', count: 1, minute: T0 },
        { caller: 'key:k1', count: 1, minute: T0 },
      ],
    ],
  ])('%s', (_name, calls, now, expected) => {
    const tally = new DeniedCallTally();
    for (const c of calls) tally.add(c);
    const got = tally.take(now).map((a) => ({ caller: a.caller, count: a.count, minute: a.minute }));
    expect(got).toEqual(expected);
  });

  it('takes every minute at shutdown, and keeps first and last times', () => {
    const tally = new DeniedCallTally();
    tally.add(call({ at: T0 + 40_000 }));
    tally.add(call({ at: T0 + 2_000 }));
    tally.add(call({ at: T0 + 50_000 }));
    expect(tally.take(T0 + 55_000)).toEqual([]);
    expect(tally.take(T0 + 55_000, true)).toMatchObject([{ count: 3, firstAt: T0 + 2_000, lastAt: T0 + 50_000 }]);
    expect(tally.size).toBe(0);
  });
});

describe('DeniedCallTally bounds', () => {
  it.each<[string, number, string[], string[], number]>([
    ['distinct routes up to the cap', 3, ['A', 'B', 'A', 'C'], ['A', 'B', 'C'], 0],
    ['calls to routes past the cap are counted, not listed', 2, ['A', 'B', 'C', 'D', 'C', 'A'], ['A', 'B'], 3],
  ])('%s', (_name, maxRoutes, routes, listed, other) => {
    const tally = new DeniedCallTally({ maxRoutes });
    for (const route of routes) tally.add(call({ route }));
    const [a] = tally.take(T0 + MINUTE_MS);
    expect([a!.routes, a!.otherRoutes, a!.count]).toEqual([listed, other, routes.length]);
  });

  it('counts callers past maxBuckets together instead of dropping them', () => {
    const tally = new DeniedCallTally({ maxBuckets: 2 });
    for (let i = 0; i < 10; i++) tally.add(call({ caller: `ip:10.0.0.${i}` }));
    const got = tally.take(T0 + MINUTE_MS);
    expect(got.map((a) => [a.caller, a.count])).toEqual([
      ['ip:10.0.0.0', 1],
      ['ip:10.0.0.1', 1],
      [OVERFLOW_CALLER, 8],
    ]);
  });
});

describe('DeniedCallTally.restore', () => {
  it('merges aggregates whose write failed with what came since: no count is lost', () => {
    const tally = new DeniedCallTally({ maxRoutes: 2 });
    tally.add(call({ route: 'A' }));
    tally.add(call({ route: 'B', at: T0 + 3_000 }));
    const failed = tally.take(T0 + MINUTE_MS);
    tally.add(call({ route: 'C', at: T0 + 500 })); // late: counted while the write failed
    tally.restore(failed);
    const [a] = tally.take(T0 + MINUTE_MS);
    expect(a).toMatchObject({ count: 3, firstAt: T0 + 500, lastAt: T0 + 3_000, routes: ['C', 'A'], otherRoutes: 1 });
  });
});

describe('minuteOf', () => {
  it.each([
    [T0, T0],
    [T0 + 59_999, T0],
    [T0 + 60_000, T0 + 60_000],
  ])('%i -> %i', (at, minute) => expect(minuteOf(at)).toBe(minute));
});
