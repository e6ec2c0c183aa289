/** One refused API call (401 or 403), as the guard saw it. */
export interface DeniedCall {
  /** The tenant whose audit log gets the record. */
  tenantId: string;
  /** Who is counted: an API key, a session, or the source address of a call without a usable credential. */
  caller: string;
  /** How the record names the caller. */
  actor: string;
  status: number;
  /** `GET /api/v1/audit`: the method and the route's pattern. */
  route: string;
  at: number;
}

/** The denied calls of one caller in one tenant and one minute. */
export interface DeniedAggregate {
  tenantId: string;
  caller: string;
  actor: string;
  status: number;
  /** The minute's first millisecond (epoch). */
  minute: number;
  count: number;
  /** The distinct routes seen, at most `maxRoutes`; `otherRoutes`: at least this many calls went to routes not listed. */
  routes: string[];
  otherRoutes: number;
  firstAt: number;
  lastAt: number;
}

export const MINUTE_MS = 60_000;

/** The caller under which calls are counted once a minute holds `maxBuckets` callers: nothing is dropped. */
export const OVERFLOW_CALLER = 'overflow';

export function minuteOf(at: number): number {
  return Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

/**
 * Counts denied calls per (caller, tenant, status, minute) in memory, so that
 * a flood of refusals becomes one audit record per caller and minute instead
 * of one per call. Bounded: past `maxBuckets` buckets, new callers are
 * counted together per tenant under `OVERFLOW_CALLER`.
 */
export class DeniedCallTally {
  private readonly buckets = new Map<string, DeniedAggregate>();
  private readonly maxRoutes: number;
  private readonly maxBuckets: number;

  constructor(opts: { maxRoutes?: number; maxBuckets?: number } = {}) {
    this.maxRoutes = opts.maxRoutes ?? 20;
    this.maxBuckets = opts.maxBuckets ?? 10_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  add(call: DeniedCall): void {
    const minute = minuteOf(call.at);
    let key = bucketKey(call.tenantId, call.caller, call.status, minute);
    let b = this.buckets.get(key);
    if (!b && this.buckets.size >= this.maxBuckets) {
      key = bucketKey(call.tenantId, OVERFLOW_CALLER, call.status, minute);
      b = this.buckets.get(key);
      if (!b) call = { ...call, caller: OVERFLOW_CALLER, actor: 'several callers (too many to count apart)' };
    }
    if (!b) {
      b = {
        tenantId: call.tenantId,
        caller: call.caller,
        actor: call.actor,
        status: call.status,
        minute,
        count: 0,
        routes: [],
        otherRoutes: 0,
        firstAt: call.at,
        lastAt: call.at,
      };
      this.buckets.set(key, b);
    }
    b.count += 1;
    b.firstAt = Math.min(b.firstAt, call.at);
    b.lastAt = Math.max(b.lastAt, call.at);
    if (b.routes.includes(call.route)) return;
    if (b.routes.length < this.maxRoutes) b.routes.push(call.route);
    else b.otherRoutes += 1;
  }

  /** Removes and returns the aggregates of the minutes closed at `now` (every one with `all`, at shutdown). */
  take(now: number, all = false): DeniedAggregate[] {
    const open = minuteOf(now);
    const out: DeniedAggregate[] = [];
    for (const [key, b] of this.buckets) {
      if (!all && b.minute >= open) continue;
      out.push(b);
      this.buckets.delete(key);
    }
    return out.sort((a, b) => a.minute - b.minute || a.firstAt - b.firstAt);
  }

  /** Puts back aggregates that could not be written, merged with what was counted since: no count is lost. */
  restore(aggregates: readonly DeniedAggregate[]): void {
    for (const a of aggregates) {
      const key = bucketKey(a.tenantId, a.caller, a.status, a.minute);
      const b = this.buckets.get(key);
      if (!b) {
        this.buckets.set(key, { ...a, routes: [...a.routes] });
        continue;
      }
      b.count += a.count;
      b.firstAt = Math.min(b.firstAt, a.firstAt);
      b.lastAt = Math.max(b.lastAt, a.lastAt);
      b.otherRoutes += a.otherRoutes;
      for (const r of a.routes) {
        if (b.routes.includes(r)) continue;
        if (b.routes.length < this.maxRoutes) b.routes.push(r);
        else b.otherRoutes += 1;
      }
    }
  }
}

function bucketKey(tenantId: string, caller: string, status: number, minute: number): string {
  return `${tenantId}\u0000${caller}\u0000${status}\u0000${minute}`;
}
