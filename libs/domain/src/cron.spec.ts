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
    ['SUN-SUN is Sunday only', '0 0 0 * * SUN-SUN', 'UTC', '2026-01-01T00:00:00Z', 1, ['2026-01-04T00:00:00.000Z']],
    [
      'SAT-SUN is the weekend',
      '0 0 0 * * SAT-SUN',
      'UTC',
      '2026-01-01T00:00:00Z',
      3,
      ['2026-01-03T00:00:00.000Z', '2026-01-04T00:00:00.000Z', '2026-01-10T00:00:00.000Z'],
    ],
    [
      'a step past the end of its field hits only the start',
      '0 */90 * * * *',
      'UTC',
      '2026-01-01T00:30:00Z',
      2,
      ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'],
    ],
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

// Quartz day syntax, as Quartz users write it; day-of-week numbers are Unix ones (0/7 = SUN ... 6 = SAT).
describe('nextFireTimes with Quartz day syntax', () => {
  it.each<[string, string, string, string, number, string[]]>([
    [
      'MON#3: the third Monday',
      '0 15 10 ? * MON#3',
      'UTC',
      '2026-01-01T00:00:00Z',
      3,
      ['2026-01-19T10:15:00.000Z', '2026-02-16T10:15:00.000Z', '2026-03-16T10:15:00.000Z'],
    ],
    [
      'MON#5 only in months with five Mondays',
      '0 0 0 ? * MON#5',
      'UTC',
      '2026-01-01T00:00:00Z',
      3,
      ['2026-03-30T00:00:00.000Z', '2026-06-29T00:00:00.000Z', '2026-08-31T00:00:00.000Z'],
    ],
    [
      'L: the last day of the month',
      '0 0 12 L * ?',
      'UTC',
      '2026-01-01T00:00:00Z',
      3,
      ['2026-01-31T12:00:00.000Z', '2026-02-28T12:00:00.000Z', '2026-03-31T12:00:00.000Z'],
    ],
    ['L in a leap year', '0 0 12 L 2 ?', 'UTC', '2027-06-01T00:00:00Z', 1, ['2028-02-29T12:00:00.000Z']],
    [
      '15W: the weekday nearest the 15th (Sunday 15 February -> Monday 16)',
      '0 0 12 15W * ?',
      'UTC',
      '2026-01-01T00:00:00Z',
      4,
      ['2026-01-15T12:00:00.000Z', '2026-02-16T12:00:00.000Z', '2026-03-16T12:00:00.000Z', '2026-04-15T12:00:00.000Z'],
    ],
    [
      '1W on a Saturday moves forward to Monday the 3rd, not into the previous month',
      '0 0 0 1W * *',
      'UTC',
      '2026-07-15T00:00:00Z',
      2,
      ['2026-08-03T00:00:00.000Z', '2026-09-01T00:00:00.000Z'],
    ],
    [
      '31W on a Sunday moves back to Friday the 29th; months without a 31st are skipped',
      '0 0 0 31W * *',
      'UTC',
      '2026-04-01T00:00:00Z',
      2,
      ['2026-05-29T00:00:00.000Z', '2026-07-31T00:00:00.000Z'],
    ],
    [
      'LW: the last weekday of the month',
      '0 0 12 LW * ?',
      'UTC',
      '2026-01-01T00:00:00Z',
      3,
      ['2026-01-30T12:00:00.000Z', '2026-02-27T12:00:00.000Z', '2026-03-31T12:00:00.000Z'],
    ],
    [
      '5L: the last Friday (5 = FRI in Unix numbering)',
      '0 0 12 ? * 5L',
      'UTC',
      '2026-01-01T00:00:00Z',
      3,
      ['2026-01-30T12:00:00.000Z', '2026-02-27T12:00:00.000Z', '2026-03-27T12:00:00.000Z'],
    ],
    [
      "Quartz's 5L (last Thursday) is THUL, or 4L",
      '0 0 12 ? * THUL',
      'UTC',
      '2026-01-01T00:00:00Z',
      2,
      ['2026-01-29T12:00:00.000Z', '2026-02-26T12:00:00.000Z'],
    ],
    ['4L equals THUL', '0 0 12 ? * 4L', 'UTC', '2026-01-01T00:00:00Z', 1, ['2026-01-29T12:00:00.000Z']],
    [
      '7L: the last Sunday',
      '0 0 0 ? * 7L',
      'UTC',
      '2026-01-01T00:00:00Z',
      2,
      ['2026-01-25T00:00:00.000Z', '2026-02-22T00:00:00.000Z'],
    ],
    ['lower case: fri#1', '0 0 12 ? * fri#1', 'UTC', '2026-01-01T00:00:00Z', 1, ['2026-01-02T12:00:00.000Z']],
    [
      'L with a restricted day-of-week: either matches (the Vixie rule)',
      '0 0 0 L * FRI#1',
      'UTC',
      '2026-02-01T00:00:00Z',
      3,
      ['2026-02-06T00:00:00.000Z', '2026-02-28T00:00:00.000Z', '2026-03-06T00:00:00.000Z'],
    ],
    [
      'L in a time zone: the last day of the local month',
      '0 0 9 L * ?',
      'Asia/Kolkata',
      '2026-01-01T00:00:00Z',
      2,
      ['2026-01-31T03:30:00.000Z', '2026-02-28T03:30:00.000Z'],
    ],
    [
      'SUNL at 02:30 in Europe/Berlin: the DST gap policy holds (03:00 local), then CEST',
      '0 30 2 ? * SUNL',
      'Europe/Berlin',
      '2026-03-01T00:00:00Z',
      2,
      ['2026-03-29T01:00:00.000Z', '2026-04-26T00:30:00.000Z'],
    ],
    [
      'SUN#4 at 02:30 in Europe/Berlin on the fall-back day: first occurrence only',
      '0 30 2 ? * SUN#4',
      'Europe/Berlin',
      '2026-10-01T00:00:00Z',
      2,
      ['2026-10-25T00:30:00.000Z', '2026-11-22T01:30:00.000Z'],
    ],
  ])('%s', (_name, expr, tz, after, count, expected) => {
    expect(iso(nextFireTimes(expr, tz, new Date(after), count))).toEqual(expected);
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
    ['/5 * * * *', 'minute: a step needs a start in "/5" (e.g. */5)'],
    ['*/90 * * * *', null], // a step past the field's end hits only the start, as before croner
    ['0 0 * * MON-SUN', null],
    ['0 0 * * +1', 'day-of-week: invalid value "+1"'],
    ['1/2/3 * * * *', 'minute: invalid step in "1/2/3"'],
    ['0 5-1 * * *', 'hour: range 5-1 goes backwards'],
    ['0 1-2-3 * * *', 'hour: invalid range "1-2-3"'],
    ['1,,2 * * * *', 'minute: empty list item in "1,,2"'],
    ['@often', 'unknown macro "@often"'],
    // Quartz day syntax: accepted
    ['0 15 10 ? * MON#3', null],
    ['0 0 12 L * ?', null],
    ['0 0 12 15W * ?', null],
    ['0 0 12 ? * 5L', null],
    ['0 0 12 LW * ?', null],
    ['0 0 12 L,15 * ?', null],
    ['0 0 12 lw * ?', null],
    ['0 0 12 ? * MON#1,FRIL', null],
    // Quartz day syntax: rejected, naming the field
    ['0 15 10 ? * MON#3 2026', 'expected 5 or 6 fields (sec min hour day-of-month month day-of-week), got 7'],
    ['0 0 0 ? * MON#6', 'day-of-week: the n of d#n must be 1-5 in "MON#6"'],
    ['0 0 0 ? * MON#0', 'day-of-week: the n of d#n must be 1-5 in "MON#0"'],
    ['0 0 0 ? * 8L', 'day-of-week: 8 is out of range 0-7'],
    ['0 0 0 ? * L', 'day-of-week: invalid value "L"'],
    ['0 0 0 ? * 1W', 'day-of-week: invalid value "1W"'],
    ['0 0 0 1#2 * ?', 'day-of-month: invalid value "1#2"'],
    ['0 0 0 32W * ?', 'day-of-month: 32 is out of range 1-31'],
    ['0 0 0 0W * ?', 'day-of-month: 0 is out of range 1-31'],
    ['0 0 0 L-3 * ?', 'day-of-month: L must stand alone (no L-n offsets) in "L-3"'],
    ['0 0 0 LW,1 * ?', 'day-of-month: LW can not be in a list in "LW,1"'],
    ['0 0 0 1-5W * ?', 'day-of-month: W is not allowed in a range in "1-5W"'],
    ['0 0 0 ? 2L ?', 'month: invalid value "2L"'],
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
