import { describe, expect, it } from 'vitest';

import type { OverlapPolicy, TriggerDefinition } from './job-definition.js';
import { decideOverlap, fixedDelayNext, nextSlot, planDue } from './schedule.js';

const options = { enabled: true, misfire: 'fire_once', catchUpLimit: 10, overlap: 'allow' } as const;
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 3_600_000;

const cron = (expr: string, timezone = 'UTC', extra: Partial<TriggerDefinition> = {}): TriggerDefinition =>
  ({ type: 'cron', cron: expr, timezone, ...options, ...extra }) as TriggerDefinition;
const rate = (everyMs: number, startAt: number | null, extra: Partial<TriggerDefinition> = {}): TriggerDefinition =>
  ({ type: 'fixedRate', everyMs, startAt, ...options, ...extra }) as TriggerDefinition;
const once: TriggerDefinition = { type: 'once', at: T0 + HOUR, ...options };
const delay: TriggerDefinition = { type: 'fixedDelay', delayMs: 30_000, ...options };

describe('nextSlot', () => {
  it.each<[string, TriggerDefinition, number, number, number | null]>([
    ['cron: strictly after a slot', cron('0 0 * * * *'), T0, T0, T0 + HOUR],
    ['cron: between slots', cron('0 0 * * * *'), T0 + 1, T0, T0 + HOUR],
    ['cron: in a zone', cron('0 0 2 * * *', 'Europe/Berlin'), T0, T0, T0 + HOUR],
    ['cron: never again', cron('0 0 0 30 2 *'), T0, T0, null],
    ['fixedRate: before the anchor', rate(10 * MIN, null), T0 - 1, T0, T0],
    ['fixedRate: at the anchor', rate(10 * MIN, null), T0, T0, T0 + 10 * MIN],
    ['fixedRate: between slots', rate(10 * MIN, null), T0 + 25 * MIN, T0, T0 + 30 * MIN],
    ['fixedRate: startAt wins over the anchor', rate(10 * MIN, T0 + 3 * MIN), T0 + 5 * MIN, T0, T0 + 13 * MIN],
    ['fixedRate: before startAt', rate(HOUR, T0 + 5 * HOUR), T0, T0, T0 + 5 * HOUR],
    ['once: before', once, T0, T0, T0 + HOUR],
    ['once: at', once, T0 + HOUR, T0, null],
    ['once: after', once, T0 + 2 * HOUR, T0, null],
    ['fixedDelay', delay, T0, T0, null],
  ])('%s', (_name, trigger, after, anchor, expected) => {
    expect(nextSlot(trigger, after, anchor)).toBe(expected);
  });

  it('fixedDelayNext counts from the end of the previous run', () => {
    expect(fixedDelayNext(T0 + 5000, 30_000)).toBe(T0 + 35_000);
  });
});

describe('planDue', () => {
  const hourly = cron('0 0 * * * *');
  const slot = (h: number): number => T0 + h * HOUR;

  it.each<[string, TriggerDefinition, number, number, { fire: number[]; misfired: number[]; next: number | null }]>([
    ['not due yet', hourly, slot(1), slot(0) + 10, { fire: [], misfired: [], next: slot(1) }],
    ['exactly on time', hourly, slot(1), slot(1), { fire: [slot(1)], misfired: [], next: slot(2) }],
    ['within tolerance', hourly, slot(1), slot(1) + 5000, { fire: [slot(1)], misfired: [], next: slot(2) }],
    [
      'fire_once: one late slot still fires',
      hourly,
      slot(1),
      slot(1) + 5001,
      { fire: [slot(1)], misfired: [], next: slot(2) },
    ],
    [
      'fire_once: only the latest late slot',
      hourly,
      slot(1),
      slot(4) + MIN,
      { fire: [slot(4)], misfired: [slot(1), slot(2), slot(3)], next: slot(5) },
    ],
    [
      'fire_once: the on-time slot and the latest late one',
      hourly,
      slot(1),
      slot(4) + 1000,
      { fire: [slot(3), slot(4)], misfired: [slot(1), slot(2)], next: slot(5) },
    ],
    [
      'catch_up: the latest catchUpLimit, oldest first',
      cron('0 0 * * * *', 'UTC', { misfire: 'catch_up', catchUpLimit: 2 }),
      slot(1),
      slot(5) + MIN,
      { fire: [slot(4), slot(5)], misfired: [slot(1), slot(2), slot(3)], next: slot(6) },
    ],
    [
      'catch_up: fewer missed than the limit',
      cron('0 0 * * * *', 'UTC', { misfire: 'catch_up' }),
      slot(1),
      slot(3) + MIN,
      { fire: [slot(1), slot(2), slot(3)], misfired: [], next: slot(4) },
    ],
    [
      'skip: none of the late ones',
      cron('0 0 * * * *', 'UTC', { misfire: 'skip' }),
      slot(1),
      slot(3) + MIN,
      { fire: [], misfired: [slot(1), slot(2), slot(3)], next: slot(4) },
    ],
    [
      'skip: still fires on time',
      cron('0 0 * * * *', 'UTC', { misfire: 'skip' }),
      slot(1),
      slot(2) + 10,
      { fire: [slot(2)], misfired: [slot(1)], next: slot(3) },
    ],
    [
      'fixedRate',
      rate(15 * MIN, null, { misfire: 'catch_up', catchUpLimit: 3 }),
      T0,
      T0 + HOUR + MIN,
      { fire: [T0 + 30 * MIN, T0 + 45 * MIN, T0 + HOUR], misfired: [T0, T0 + 15 * MIN], next: T0 + 75 * MIN },
    ],
    ['once on time', once, T0 + HOUR, T0 + HOUR + 1, { fire: [T0 + HOUR], misfired: [], next: null }],
    [
      'once missed with skip',
      { ...once, misfire: 'skip' },
      T0 + HOUR,
      T0 + 3 * HOUR,
      { fire: [], misfired: [T0 + HOUR], next: null },
    ],
    ['fixedDelay due', delay, T0, T0 + 10, { fire: [T0], misfired: [], next: null }],
  ])('%s', (_name, trigger, nextFireAt, now, expected) => {
    expect(planDue(trigger, nextFireAt, now, T0)).toEqual(expected);
  });

  it.each<[string, number, number, { fire: number[]; misfired: number[]; next: number | null }]>([
    [
      'a slot within aheadMs fires before it comes',
      slot(1),
      slot(1) - 1500,
      { fire: [slot(1)], misfired: [], next: slot(2) },
    ],
    ['a slot beyond aheadMs waits', slot(1), slot(1) - 2001, { fire: [], misfired: [], next: slot(1) }],
    ['a due slot fires as without aheadMs', slot(1), slot(1) + 10, { fire: [slot(1)], misfired: [], next: slot(2) }],
    [
      'lateness is counted from now, not from the horizon',
      slot(1),
      slot(1) + 5000,
      { fire: [slot(1)], misfired: [], next: slot(2) },
    ],
  ])('aheadMs 2000: %s', (_name, nextFireAt, now, expected) => {
    expect(planDue(cron('0 0 * * * *', 'UTC', { misfire: 'skip' }), nextFireAt, now, T0, { aheadMs: 2000 })).toEqual(
      expected,
    );
  });

  it('honours toleranceMs', () => {
    expect(
      planDue(cron('0 0 * * * *', 'UTC', { misfire: 'skip' }), slot(1), slot(1) + MIN, T0, { toleranceMs: 2 * MIN }),
    ).toEqual({ fire: [slot(1)], misfired: [], next: slot(2) });
  });

  it('bounds a long outage by maxScan and still fires the latest slots', () => {
    const everySecond = cron('* * * * * *', 'UTC', { misfire: 'catch_up', catchUpLimit: 3 });
    const now = T0 + 30 * 86_400_000 + 500;
    const plan = planDue(everySecond, T0 + 1000, now, T0, { maxScan: 100, toleranceMs: 0 });
    expect(plan.fire).toEqual([now - 2500, now - 1500, now - 500]);
    expect(plan.misfired.slice(0, 2)).toEqual([T0 + 1000, T0 + 2000]);
    expect(plan.misfired.length).toBeLessThanOrEqual(200);
    expect(plan.next).toBe(now + 500);
  });

  it('bounds a fixedRate outage the same way', () => {
    const trigger = rate(1000, null);
    const now = T0 + 86_400_000;
    const plan = planDue(trigger, T0, now, T0, { maxScan: 50 });
    // fire_once: the latest late slot plus the ones within the 5s tolerance.
    expect(plan.fire).toEqual([now - 6000, now - 5000, now - 4000, now - 3000, now - 2000, now - 1000, now]);
    expect(plan.misfired.length).toBeLessThanOrEqual(100);
    expect(plan.misfired[0]).toBe(T0);
    expect(plan.next).toBe(now + 1000);
  });
});

describe('decideOverlap', () => {
  it.each<[OverlapPolicy, number, ReturnType<typeof decideOverlap>]>([
    ['allow', 0, 'start'],
    ['skip', 0, 'start'],
    ['queue', 0, 'start'],
    ['cancel_previous', 0, 'start'],
    ['allow', 3, 'start'],
    ['skip', 1, 'skip'],
    ['queue', 1, 'queue'],
    ['cancel_previous', 2, 'cancel_previous'],
  ])('%s with %i active runs', (policy, active, expected) => {
    expect(decideOverlap(policy, active)).toBe(expected);
  });
});
