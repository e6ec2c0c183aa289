/**
 * Cron schedules: `sec min hour day-of-month month day-of-week`, or the
 * classic 5 fields (seconds = 0), evaluated on the wall clock of an IANA time
 * zone.
 *
 * Fields accept `*`, `?` (same as `*`), lists `a,b`, ranges `a-b`, steps
 * `*\/n`, `a-b/n` and `a/n` (a to the field's maximum), month names JAN-DEC
 * and weekday names SUN-SAT (case-insensitive); day-of-week 0 and 7 are both
 * Sunday. Macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight,
 * @hourly. When both day-of-month and day-of-week are restricted, a day
 * matches if EITHER matches (Vixie cron's rule); only a bare `*` or `?`
 * counts as unrestricted, so `*\/2` in day-of-month is a restriction.
 *
 * DST policy: every wall-clock match fires once, at its first occurrence.
 * - A wall-clock time that does not exist (spring-forward gap) fires at the
 *   first instant after the gap: `0 30 2 * * *` in Europe/Berlin on
 *   2026-03-29 fires at 03:00 local (01:00Z). Several schedule times inside
 *   the same gap, and a schedule time right at the end of the gap, collapse
 *   into that one firing.
 * - A wall-clock time that exists twice (fall-back overlap) fires only at its
 *   first occurrence: 02:30 in Europe/Berlin on 2026-10-25 fires at 00:30Z,
 *   not again at 01:30Z. This holds for second- and minute-level schedules
 *   too: `0 *\/15 * * * *` fires at 02:00..02:45 summer time and then waits
 *   for 03:00 winter time, i.e. it is silent for the repeated hour. The rule
 *   trades that silence for never running the same wall-clock slot twice,
 *   which is what a daily or hourly job expects.
 * Fire times therefore never go backwards and never repeat.
 */

import { wallClock } from './time.js';

type Field = 'second' | 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

interface FieldSpec {
  name: Field;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  // 7 is accepted as a second Sunday and folded onto 0.
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

export interface CronSchedule {
  readonly seconds: readonly boolean[];
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  readonly daysOfMonth: readonly boolean[];
  readonly months: readonly boolean[];
  readonly daysOfWeek: readonly boolean[];
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

function parseValue(text: string, spec: FieldSpec): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) throw new CronError(`${spec.name}: ${n} is out of range ${spec.min}-${spec.max}`);
    return n;
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index < 0) throw new CronError(`${spec.name}: invalid value "${text}"`);
  return index + spec.min;
}

function parseField(text: string, spec: FieldSpec): boolean[] {
  const allowed = new Array<boolean>(spec.max + 1).fill(false);
  for (const part of text.split(',')) {
    if (part === '') throw new CronError(`${spec.name}: empty list item in "${text}"`);
    const [rangeText, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new CronError(`${spec.name}: invalid step in "${part}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        throw new CronError(`${spec.name}: step must be a positive integer in "${part}"`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (rangeText === '*' || rangeText === '?') {
      from = spec.min;
      to = spec.name === 'day-of-week' ? 6 : spec.max;
    } else if (rangeText!.includes('-')) {
      const [a, b, more] = rangeText!.split('-');
      if (more !== undefined || a === '' || b === '') throw new CronError(`${spec.name}: invalid range "${rangeText}"`);
      from = parseValue(a!, spec);
      to = parseValue(b!, spec);
      if (from > to) throw new CronError(`${spec.name}: range ${rangeText} goes backwards`);
    } else {
      from = parseValue(rangeText!, spec);
      to = stepText === undefined ? from : spec.name === 'day-of-week' ? 6 : spec.max;
    }
    for (let v = from; v <= to; v += step) allowed[v] = true;
  }
  if (spec.name === 'day-of-week' && allowed[7]) allowed[0] = true;
  return allowed;
}

/** Parses an expression; throws CronError with a message naming the field. */
export function parseCron(expr: string): CronSchedule {
  const trimmed = expr.trim();
  const expanded = trimmed.startsWith('@') ? MACROS[trimmed.toLowerCase()] : trimmed;
  if (expanded === undefined) throw new CronError(`unknown macro "${trimmed}"`);
  const parts = expanded.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5 && parts.length !== 6)
    throw new CronError(`expected 5 or 6 fields (sec min hour day-of-month month day-of-week), got ${parts.length}`);
  const fields = parts.length === 5 ? ['0', ...parts] : parts;
  const sets = FIELDS.map((spec, i) => parseField(fields[i]!, spec));
  const unrestricted = (f: string): boolean => f === '*' || f === '?';
  return {
    seconds: sets[0]!,
    minutes: sets[1]!,
    hours: sets[2]!,
    daysOfMonth: sets[3]!,
    months: sets[4]!,
    daysOfWeek: sets[5]!,
    domRestricted: !unrestricted(fields[3]!),
    dowRestricted: !unrestricted(fields[5]!),
  };
}

/** The reason an expression is invalid, or null when it is valid. */
export function validateCron(expr: string): string | null {
  try {
    parseCron(expr);
    return null;
  } catch (e) {
    if (e instanceof CronError) return e.message;
    throw e;
  }
}

/** The reason a time zone is unusable, or null when Intl knows it. */
export function validateTimeZone(tz: string): string | null {
  if (tz.trim() === '') return 'time zone must not be empty';
  try {
    wallClock(0, tz);
    return null;
  } catch {
    return `unknown time zone "${tz}" (expected an IANA name such as "Europe/Berlin" or "UTC")`;
  }
}

const SECOND = 1_000;
const DAY = 86_400_000;

/** Offset of `tz` from UTC at instant `t`, in ms (wall = t + offset). */
function offsetAt(tz: string, t: number): number {
  const whole = Math.floor(t / SECOND) * SECOND;
  const p = wallClock(whole, tz);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - whole;
}

/**
 * The instant a wall-clock time (ms, read as if UTC) fires at, by the DST
 * policy above. Assumes at most one offset change within a day of `wall`,
 * which holds for every zone in the tz database since 1970.
 */
function wallToInstant(tz: string, wall: number): number {
  const before = offsetAt(tz, wall - DAY);
  const after = offsetAt(tz, wall + DAY);
  const candidates = [wall - before, wall - after].filter((t) => wall - offsetAt(tz, t) === t);
  if (candidates.length > 0) return Math.min(...candidates);
  // In the gap: the offset changes somewhere in (lo, hi]; find the instant it does.
  let lo = wall - after;
  let hi = wall - before;
  const first = offsetAt(tz, lo);
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / 2 / SECOND) * SECOND;
    if (offsetAt(tz, mid) === first) lo = mid;
    else hi = mid;
  }
  return hi;
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.daysOfMonth[d.getUTCDate()]!;
  const dow = s.daysOfWeek[d.getUTCDay()]!;
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The first wall-clock time >= `from` (whole seconds, read as if UTC) the schedule matches, or null past `limit`. */
function nextWallMatch(s: CronSchedule, from: number, limit: number): number | null {
  let t = from;
  while (t <= limit) {
    const d = new Date(t);
    const [y, mo, day, h, mi, sec] = [
      d.getUTCFullYear(),
      d.getUTCMonth(),
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
    ];
    if (!s.months[mo + 1]) t = Date.UTC(y, mo + 1, 1);
    else if (!dayMatches(s, d)) t = Date.UTC(y, mo, day + 1);
    else if (!s.hours[h]) t = Date.UTC(y, mo, day, h + 1);
    else if (!s.minutes[mi]) t = Date.UTC(y, mo, day, h, mi + 1);
    else if (!s.seconds[sec]) t = Date.UTC(y, mo, day, h, mi, sec + 1);
    else return t;
  }
  return null;
}

// Long enough for any satisfiable schedule (29 February on a weekday recurs within 28 years).
const SEARCH_HORIZON_MS = 30 * 366 * DAY;

/**
 * Up to `count` fire times strictly after `after`, ascending. Fewer (possibly
 * none) when the schedule never matches again, e.g. `0 0 0 30 2 *`.
 * Throws CronError for an invalid expression or time zone.
 */
export function nextFireTimes(expr: string, timezone: string, after: Date, count: number): Date[] {
  const schedule = parseCron(expr);
  const tzError = validateTimeZone(timezone);
  if (tzError) throw new CronError(tzError);
  const start = after.getTime();
  if (!Number.isFinite(start)) throw new CronError('invalid start date');

  // Any wall time up to the current one fires at or before `after` (first-occurrence rule), so start just past it.
  let wall = Math.floor((start + offsetAt(timezone, start)) / SECOND) * SECOND + SECOND;
  const limit = wall + SEARCH_HORIZON_MS;
  let last = start;
  const out: Date[] = [];
  while (out.length < count) {
    const match = nextWallMatch(schedule, wall, limit);
    if (match === null) break;
    const instant = wallToInstant(timezone, match);
    if (instant > last) {
      out.push(new Date(instant));
      last = instant;
    }
    wall = match + SECOND;
  }
  return out;
}

export function nextFireTime(expr: string, timezone: string, after: Date): Date | null {
  return nextFireTimes(expr, timezone, after, 1)[0] ?? null;
}
