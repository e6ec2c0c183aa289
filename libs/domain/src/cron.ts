/**
 * Cron schedules: `sec min hour day-of-month month day-of-week`, or the
 * classic 5 fields (seconds = 0), evaluated on the wall clock of an IANA time
 * zone. croner parses and matches the fields; the DST policy below is
 * Baton's own and sits on top of it.
 *
 * Fields accept `*`, `?` (same as `*`, in any field), lists `a,b`, ranges
 * `a-b`, steps `*\/n`, `a-b/n` and `a/n` (a to the field's maximum), month
 * names JAN-DEC and weekday names SUN-SAT (case-insensitive). Day-of-week is
 * numbered as in Unix cron: 0 and 7 are Sunday, 1 Monday ... 6 Saturday
 * (Quartz numbers 1 = Sunday ... 7 = Saturday: shift Quartz numbers down by
 * one, or use the names, which mean the same in both); a range may end on
 * Sunday (`MON-SUN`, `SAT-SUN`). Quartz day syntax:
 * - day-of-month `L` (last day), `nW` (the weekday nearest day n, within the
 *   month), `LW` (last weekday of the month);
 * - day-of-week `d#n` (the n-th d of the month, n = 1..5, e.g. `MON#3`) and
 *   `dL` (the last d of the month, e.g. `FRIL` or `5L`).
 * Macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly.
 * When both day-of-month and day-of-week are restricted, a day matches if
 * EITHER matches (Vixie cron's rule); only a bare `*` or `?` counts as
 * unrestricted, so `*\/2` in day-of-month is a restriction. Quartz's year
 * field (a seventh field) is not accepted.
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

import { Cron } from 'croner';
import { BoundedCache } from './bounded-cache.js';
import { wallClock } from './time.js';

const SECOND = 1_000;
const DAY = 86_400_000;

type Field = 'second' | 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

const FIELDS: ReadonlyArray<{ name: Field; min: number; max: number }> = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
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

// utcOffset 0: croner reads the wall clock as if it were UTC and never applies a zone; the zone is Baton's (below).
// sloppyRanges: `a/n` means a to the field's maximum, as Baton has always read it.
const CRONER_OPTIONS = { utcOffset: 0, paused: true, mode: '6-part', sloppyRanges: true } as const;

export interface CronSchedule {
  /** The six fields (macros expanded, `0` seconds added to a 5-field expression). */
  readonly fields: readonly string[];
  /** The first wall-clock time (whole seconds, read as if UTC) at or after `wallMs` that the fields match, or null. */
  nextWallMatch(wallMs: number): number | null;
}

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

// A fresh options object each time: croner writes its defaults into the one it is given.
const compile = (fields: readonly string[]): Cron => new Cron(fields.join(' '), { ...CRONER_OPTIONS });

/** croner's message for a field, in Baton's words: what is wrong, quoting the field's text. */
function explain(field: (typeof FIELDS)[number], text: string, err: unknown): string {
  const raw = (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: (Syntax error, )?/, '');
  const value = /^Invalid value for (\w+): (-?\d+)/.exec(raw);
  if (value) {
    // croner stores day-of-month and month from 0; report the number as written.
    const n = Number(value[2]) + (['day', 'month', 'nearestWeekdays'].includes(value[1]!) ? 1 : 0);
    return `${n} is out of range ${field.min}-${field.max}`;
  }
  const badStep = text.split(',').find((item) => item.split('/').length === 2 && !/\/\d+$/.test(item));
  if (/illegal characters/.test(raw) && badStep !== undefined) return `step must be a positive integer in "${badStep}"`;
  if (/illegal characters|has to stand alone|is not a number|illegal lower|illegal upper/.test(raw))
    return `invalid value "${text}"`;
  if (/illegal stepping: (0|\(NaN\))$/.test(raw)) return `step must be a positive integer in "${text}"`;
  if (/illegal stepping/.test(raw)) return `invalid step in "${text}"`;
  if (/From value is larger/.test(raw)) return `range ${/'([^']*)'/.exec(raw)?.[1] ?? text} goes backwards`;
  if (/illegal range/.test(raw)) return `invalid range "${/'([^']*)'/.exec(raw)?.[1] ?? text}"`;
  if (/is empty/.test(raw)) return `empty list item in "${text}"`;
  if (/nth weekday out of range/.test(raw)) return `the n of d#n must be 1-5 in "${text}"`;
  if (/L has to be a value of its own/.test(raw)) return `L must stand alone (no L-n offsets) in "${text}"`;
  // croner quotes the field and names it in words of its own; Baton quotes and names it once.
  const reason = raw.replace(/ \('[^']*'\)\.?$/, '').replace(/ in (day-of-month|day-of-week)$/, '');
  return `${reason.replace(/\.$/, '')} in "${text}"`;
}

/** How many values croner keeps for each field: a step of at least this many hits only the start. */
const FIELD_SIZES = [60, 60, 24, 31, 12, 7];

/**
 * Baton has always accepted a step larger than its field (`*\/90` in minutes
 * fires at :00 only); croner refuses one, so it is cut to the field's size,
 * which means the same.
 */
function clampSteps(text: string, index: number): string {
  return text.replace(/\/(\d+)/g, (step, n: string) =>
    Number(n) > FIELD_SIZES[index]! ? `/${FIELD_SIZES[index]!}` : step,
  );
}

/** Syntax croner accepts and Baton does not: `/n` without a start, and croner's `+` (AND) day-of-week prefix. */
function unsupported(index: number, text: string): string | null {
  const field = FIELDS[index]!;
  const bare = text.split(',').find((item) => item.startsWith('/'));
  if (bare !== undefined) {
    const example = /^\/\d+$/.test(bare) ? ` (e.g. *${bare})` : '';
    return `${field.name}: a step needs a start in "${bare}"${example}`;
  }
  if (text.startsWith('+')) return `${field.name}: invalid value "${text}"`;
  return null;
}

/** The reason croner rejects a field on its own (the others left `*`), in Baton's words, or null. */
function fieldError(fields: readonly string[], index: number): string | null {
  try {
    compile(FIELDS.map((_, i) => (i === index ? fields[i]! : '*')));
    return null;
  } catch (err) {
    return `${FIELDS[index]!.name}: ${explain(FIELDS[index]!, fields[index]!, err)}`;
  }
}

const compiled = new BoundedCache<string, CronSchedule>(1_000);

/** Parses an expression; throws CronError with a message naming the field. */
export function parseCron(expr: string): CronSchedule {
  const hit = compiled.get(expr);
  if (hit) return hit;
  const trimmed = expr.trim();
  const expanded = trimmed.startsWith('@') ? MACROS[trimmed.toLowerCase()] : trimmed;
  if (expanded === undefined) throw new CronError(`unknown macro "${trimmed}"`);
  const parts = expanded.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5 && parts.length !== 6)
    throw new CronError(`expected 5 or 6 fields (sec min hour day-of-month month day-of-week), got ${parts.length}`);
  const fields = (parts.length === 5 ? ['0', ...parts] : parts).map(clampSteps);
  // croner reads a range's end `-SUN` as 7 (so MON-SUN is every day), which makes SUN-SUN every day too.
  fields[5] = fields[5]!.replace(/(^|,)(SUN|0)-SUN(?=$|[,/])/gi, '$10-0');
  let cron: Cron | null = null;
  let failure: unknown = null;
  try {
    cron = compile(fields);
  } catch (err) {
    failure = err;
  }
  // Name the first bad field, whichever check finds it.
  for (let i = 0; i < fields.length; i++) {
    const reason = unsupported(i, fields[i]!) ?? (failure === null ? null : fieldError(fields, i));
    if (reason) throw new CronError(reason);
  }
  if (cron === null) {
    throw new CronError((failure instanceof Error ? failure.message : String(failure)).replace(/^CronPattern: /, ''));
  }
  const schedule: CronSchedule = {
    fields,
    nextWallMatch: (wallMs) => cron.nextRun(new Date(wallMs - SECOND))?.getTime() ?? null,
  };
  compiled.set(expr, schedule);
  return schedule;
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

/**
 * The instant a wall-clock time of `tz` falls on, by the same DST policy as
 * the cron schedules (a time in a spring-forward gap is the gap's end; one
 * that repeats in autumn is the first).
 */
export function zonedInstant(tz: string, y: number, month: number, day: number, hour = 0, minute = 0): number {
  return wallToInstant(tz, Date.UTC(y, month - 1, day, hour, minute));
}

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
  let last = start;
  const out: Date[] = [];
  while (out.length < count) {
    const match = schedule.nextWallMatch(wall);
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
