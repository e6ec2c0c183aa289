import { describe, expect, it } from 'vitest';

import { CronError, nextFireTime, nextFireTimes, validateCron, validateTimeZone } from './cron.js';

const iso = (dates: Date[]): string[] => dates.map((d) => d.toISOString());

describe('nextFireTimes', () => {
  it.each<[string, string, string, string, number, string[]]>([
    [
      'UTC daily at 09:30, 5 fields',
      '30 9 * * *',
      'UTC',
      '2026-01-01T00:00:00Z',
      2,
      ['2026-01-01T09:30:00.000Z', '2026-01-02T09:30:00.000Z'],
    ],
    [
      'strictly after: an exact match is not returned',
      '0 30 9 * * *',
      'UTC',
      '2026-01-01T09:30:00Z',
      1,
      ['2026-01-02T09:30:00.000Z'],
    ],
    [
      'every 5 seconds from a fractional second',
      '*/5 * * * * *',
      'UTC',
      '2026-01-01T00:00:00.500Z',
      3,
      ['2026-01-01T00:00:05.000Z', '2026-01-01T00:00:10.000Z', '2026-01-01T00:00:15.000Z'],
    ],
    [
      'seconds list',
      '10,40 0 12 * * *',
      'UTC',
      '2026-05-05T12:00:20Z',
      2,
      ['2026-05-05T12:00:40.000Z', '2026-05-06T12:00:10.000Z'],
    ],
    [
      'ranges with steps',
      '0 0 8-18/5 * * *',
      'UTC',
      '2026-01-01T09:00:00Z',
      3,
      ['2026-01-01T13:00:00.000Z', '2026-01-01T18:00:00.000Z', '2026-01-02T08:00:00.000Z'],
    ],
    [
      'month and weekday names: Mondays in March',
      '0 0 6 ? MAR MON',
      'UTC',
      '2026-01-01T00:00:00Z',
      3,
      ['2026-03-02T06:00:00.000Z', '2026-03-09T06:00:00.000Z', '2026-03-16T06:00:00.000Z'],
    ],
    [
      'weekday range, Friday into Monday',
      '0 0 9 * * MON-FRI',
      'UTC',
      '2026-01-02T10:00:00Z',
      1,
      ['2026-01-05T09:00:00.000Z'],
    ],
    ['7 is Sunday', '0 0 0 * * 7', 'UTC', '2026-01-01T00:00:00Z', 1, ['2026-01-04T00:00:00.000Z']],
    [
      'day-of-month OR day-of-week when both are restricted',
      '0 0 0 13 * FRI',
      'UTC',
      '2026-02-01T00:00:00Z',
      3,
      ['2026-02-06T00:00:00.000Z', '2026-02-13T00:00:00.000Z', '2026-02-20T00:00:00.000Z'],
    ],
    ['31st skips short months', '0 0 0 31 * *', 'UTC', '2026-01-31T12:00:00Z', 1, ['2026-03-31T00:00:00.000Z']],
    [
      'leap day',
      '0 0 0 29 FEB *',
      'UTC',
      '2026-01-01T00:00:00Z',
      2,
      ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z'],
    ],
    ['never: 30 February', '0 0 0 30 2 *', 'UTC', '2026-01-01T00:00:00Z', 3, []],
    ['macro @daily', '@daily', 'UTC', '2026-01-01T10:00:00Z', 1, ['2026-01-02T00:00:00.000Z']],
    [
      'Asia/Kolkata (+05:30), 9:00 local on weekdays',
      '0 0 9 * * MON-FRI',
      'Asia/Kolkata',
      '2026-01-02T00:00:00Z',
      2,
      ['2026-01-02T03:30:00.000Z', '2026-01-05T03:30:00.000Z'],
    ],
    [
      'local midnight crossing the UTC date line',
      '0 0 0 * * *',
      'Asia/Kolkata',
      '2026-01-01T12:00:00Z',
      1,
      ['2026-01-01T18:30:00.000Z'],
    ],
    [
      'Europe/Berlin gap: 02:30 fires at 03:00 local, once',
      '0 30 2 * * *',
      'Europe/Berlin',
      '2026-03-28T12:00:00Z',
      3,
      ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'],
    ],
    [
      'Europe/Berlin gap: every 15 minutes collapses the missing hour into one firing',
      '0 */15 * * * *',
      'Europe/Berlin',
      '2026-03-29T00:40:00Z',
      4,
      ['2026-03-29T00:45:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:15:00.000Z', '2026-03-29T01:30:00.000Z'],
    ],
    [
      'Europe/Berlin overlap: 02:30 fires at its first occurrence only',
      '0 30 2 * * *',
      'Europe/Berlin',
      '2026-10-24T12:00:00Z',
      2,
      ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    ],
    [
      'Europe/Berlin overlap: every 15 minutes is silent during the repeated hour',
      '0 */15 * * * *',
      'Europe/Berlin',
      '2026-10-25T00:40:00Z',
      3,
      ['2026-10-25T00:45:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T02:15:00.000Z'],
    ],
    [
      'Europe/Berlin overlap: starting inside the repeated hour waits for new wall times',
      '0 */15 * * * *',
      'Europe/Berlin',
      '2026-10-25T01:10:00Z',
      1,
      ['2026-10-25T02:00:00.000Z'],
    ],
    [
      'America/New_York gap: 02:30 fires at 03:00 EDT',
      '0 30 2 * * *',
      'America/New_York',
      '2026-03-07T12:00:00Z',
      2,
      ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
    ],
    [
      'America/New_York overlap: 01:30 fires once, in EDT',
      '0 30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00:00Z',
      2,
      ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    ],
    [
      'America/New_York: hourly keeps real hours outside the overlap',
      '0 0 * * * *',
      'America/New_York',
      '2026-11-01T04:30:00Z',
      3,
      ['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T08:00:00.000Z'],
    ],
  ])('%s', (_name, expr, tz, after, count, expected) => {
    expect(iso(nextFireTimes(expr, tz, new Date(after), count))).toEqual(expected);
  });

  it.each<[string, string]>([
    ['not a cron', 'UTC'],
    ['* * * * *', 'Nowhere/City'],
  ])('throws for %j in %j', (expr, tz) => {
    expect(() => nextFireTimes(expr, tz, new Date('2026-01-01T00:00:00Z'), 1)).toThrow(CronError);
  });
});

describe('nextFireTime', () => {
  it.each<[string, string, string, string | null]>([
    ['0 0 12 * * *', 'UTC', '2026-06-01T00:00:00Z', '2026-06-01T12:00:00.000Z'],
    ['0 0 0 30 2 *', 'UTC', '2026-06-01T00:00:00Z', null],
  ])('%s in %s after %s', (expr, tz, after, expected) => {
    expect(nextFireTime(expr, tz, new Date(after))?.toISOString() ?? null).toBe(expected);
  });
});

describe('validateCron', () => {
  it.each<[string, string | null]>([
    ['* * * * *', null],
    ['*/10 * * * * *', null],
    ['0 0 12 ? JAN-MAR,SEP mon-fri', null],
    ['0 0 0 1-31/2 * 0-7', null],
    ['5/15 * * * *', null],
    ['@hourly', null],
    ['', 'expected 5 or 6 fields (sec min hour day-of-month month day-of-week), got 0'],
    ['* * *', 'expected 5 or 6 fields (sec min hour day-of-month month day-of-week), got 3'],
    ['* * * * * * *', 'expected 5 or 6 fields (sec min hour day-of-month month day-of-week), got 7'],
    ['60 * * * * *', 'second: 60 is out of range 0-59'],
    ['61 * * * *', 'minute: 61 is out of range 0-59'],
    ['0 24 * * *', 'hour: 24 is out of range 0-23'],
    ['0 0 0 * *', 'day-of-month: 0 is out of range 1-31'],
    ['0 0 1 13 *', 'month: 13 is out of range 1-12'],
    ['0 0 * * 8', 'day-of-week: 8 is out of range 0-7'],
    ['0 0 * * FOO', 'day-of-week: invalid value "FOO"'],
    ['0 0 * JANUARY *', 'month: invalid value "JANUARY"'],
    ['*/0 * * * *', 'minute: step must be a positive integer in "*/0"'],
    ['*/x * * * *', 'minute: step must be a positive integer in "*/x"'],
    ['1/2/3 * * * *', 'minute: invalid step in "1/2/3"'],
    ['0 5-1 * * *', 'hour: range 5-1 goes backwards'],
    ['0 1-2-3 * * *', 'hour: invalid range "1-2-3"'],
    ['1,,2 * * * *', 'minute: empty list item in "1,,2"'],
    ['@often', 'unknown macro "@often"'],
  ])('%j -> %j', (expr, expected) => {
    expect(validateCron(expr)).toBe(expected);
  });
});

describe('validateTimeZone', () => {
  it.each<[string, boolean]>([
    ['UTC', true],
    ['Europe/Berlin', true],
    ['Asia/Kolkata', true],
    ['America/New_York', true],
    ['Mars/Olympus_Mons', false],
    ['', false],
  ])('%j valid: %s', (tz, valid) => {
    expect(validateTimeZone(tz) === null).toBe(valid);
  });

  it('says what is expected', () => {
    expect(validateTimeZone('Europe/Berlinn')).toBe(
      'unknown time zone "Europe/Berlinn" (expected an IANA name such as "Europe/Berlin" or "UTC")',
    );
  });
});
