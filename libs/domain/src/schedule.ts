/**
 * Slot arithmetic of time triggers: when the next slot is, which due slots
 * fire and which are misfired, and what a new slot does to a run that is
 * still active. All times are epoch ms.
 */
import { nextFireTime } from './cron.js';
import type { OverlapPolicy, TriggerDefinition } from './job-definition.js';

/**
 * The first slot strictly after `afterMs`, or null when there is none.
 * `anchorMs` (when the trigger was created) anchors a fixedRate trigger
 * without `startAt`. fixedDelay has no slots of its own: see fixedDelayNext.
 */
export function nextSlot(trigger: TriggerDefinition, afterMs: number, anchorMs: number): number | null {
  switch (trigger.type) {
    case 'cron':
      return nextFireTime(trigger.cron, trigger.timezone, new Date(afterMs))?.getTime() ?? null;
    case 'fixedRate': {
      const anchor = trigger.startAt ?? anchorMs;
      if (afterMs < anchor) return anchor;
      return anchor + (Math.floor((afterMs - anchor) / trigger.everyMs) + 1) * trigger.everyMs;
    }
    case 'once':
      return trigger.at > afterMs ? trigger.at : null;
    case 'fixedDelay':
    case 'webhook':
    case 'dependency':
    case 'event':
    case 'file':
      return null;
    default: {
      const unknown: never = trigger;
      throw new Error(`unknown trigger ${JSON.stringify(unknown)}`);
    }
  }
}

/** A fixedDelay trigger's next slot: measured from the end of the previous run. */
export function fixedDelayNext(previousRunEndMs: number, delayMs: number): number {
  return previousRunEndMs + delayMs;
}

export interface PlanDueOptions {
  /** A slot at most this late is on time and always fires; default 5000. */
  toleranceMs?: number;
  /** At most this many slots are looked at (per scan); default 10000. */
  maxScan?: number;
  /**
   * Slots up to this far ahead of now fire already (their runs are created
   * ahead and start at the slot); lateness is still counted from now. Default 0.
   */
  aheadMs?: number;
}

export interface DuePlan {
  /** Slots to start runs for, oldest first. */
  fire: number[];
  /** Due slots that do not run, oldest first. */
  misfired: number[];
  /** The first slot after now, or null when the trigger has no more (once, fixedDelay). */
  next: number | null;
}

export const DEFAULT_MISFIRE_TOLERANCE_MS = 5000;
export const DEFAULT_MAX_SCAN = 10_000;

/** Slots in [from, now] starting at `from` (itself a slot), at most `limit`; `complete` when none was left out. */
function scan(
  trigger: TriggerDefinition,
  from: number | null,
  nowMs: number,
  anchorMs: number,
  limit: number,
): { slots: number[]; complete: boolean } {
  const slots: number[] = [];
  let slot = from;
  while (slot !== null && slot <= nowMs) {
    if (slots.length >= limit) return { slots, complete: false };
    slots.push(slot);
    slot = nextSlot(trigger, slot, anchorMs);
  }
  return { slots, complete: true };
}

/**
 * The latest due slots after `afterMs`: enough to cover the tolerance window
 * and `need` late ones. Cron cannot step backwards, so this scans forward
 * from ever earlier starts; each scan stays within `maxScan`.
 */
function latestSlots(
  trigger: TriggerDefinition,
  afterMs: number,
  nowMs: number,
  anchorMs: number,
  need: number,
  periodMs: number,
  toleranceMs: number,
  maxScan: number,
): number[] {
  let span = toleranceMs + (need + 1) * Math.max(periodMs, 1);
  for (;;) {
    const start = Math.max(afterMs, nowMs - span);
    const { slots } = scan(trigger, nextSlot(trigger, start, anchorMs), nowMs, anchorMs, maxScan);
    const late = slots.filter((s) => s < nowMs - toleranceMs).length;
    if (start === afterMs || late >= need || slots.length >= maxScan) return slots;
    span *= 2;
  }
}

/**
 * Which due slots of a trigger fire, given its stored next fire time. Slots
 * at most `toleranceMs` late always fire; of the later ones `fire_once`
 * fires the latest, `catch_up` the latest `catchUpLimit`, `skip` none. When
 * more than `maxScan` slots are due (a long outage of a frequent schedule),
 * the oldest `maxScan` and the latest ones are considered and the slots
 * between them are passed over without being listed.
 */
export function planDue(
  trigger: TriggerDefinition,
  nextFireAtMs: number,
  nowMs: number,
  anchorMs: number,
  opts: PlanDueOptions = {},
): DuePlan {
  const toleranceMs = opts.toleranceMs ?? DEFAULT_MISFIRE_TOLERANCE_MS;
  const maxScan = Math.max(1, opts.maxScan ?? DEFAULT_MAX_SCAN);
  const horizon = nowMs + Math.max(0, opts.aheadMs ?? 0);
  if (nextFireAtMs > horizon) return { fire: [], misfired: [], next: nextFireAtMs };

  const head = scan(trigger, nextFireAtMs, horizon, anchorMs, maxScan);
  let slots = head.slots;
  if (!head.complete) {
    const last = slots[slots.length - 1]!;
    const period = slots.length > 1 ? (last - slots[0]!) / (slots.length - 1) : 1000;
    const need = trigger.misfire === 'catch_up' ? trigger.catchUpLimit : 1;
    slots = [...slots, ...latestSlots(trigger, last, horizon, anchorMs, need, period, toleranceMs, maxScan)];
  }

  const onTimeFrom = nowMs - toleranceMs;
  const late = slots.filter((s) => s < onTimeFrom);
  let keep: number;
  switch (trigger.misfire) {
    case 'fire_once':
      keep = 1;
      break;
    case 'catch_up':
      keep = trigger.catchUpLimit;
      break;
    case 'skip':
      keep = 0;
      break;
    default: {
      const unknown: never = trigger.misfire;
      throw new Error(`unknown misfire policy ${String(unknown)}`);
    }
  }
  const firedLate = new Set(keep > 0 ? late.slice(-keep) : []);
  return {
    fire: slots.filter((s) => s >= onTimeFrom || firedLate.has(s)),
    misfired: slots.filter((s) => s < onTimeFrom && !firedLate.has(s)),
    next: nextSlot(trigger, horizon, anchorMs),
  };
}

export type OverlapDecision = 'start' | 'skip' | 'queue' | 'cancel_previous';

/** What a new slot does while `activeRuns` runs of the job are still active. */
export function decideOverlap(policy: OverlapPolicy, activeRuns: number): OverlapDecision {
  if (activeRuns <= 0) return 'start';
  switch (policy) {
    case 'allow':
      return 'start';
    case 'skip':
    case 'queue':
    case 'cancel_previous':
      return policy;
    default: {
      const unknown: never = policy;
      throw new Error(`unknown overlap policy ${String(unknown)}`);
    }
  }
}
