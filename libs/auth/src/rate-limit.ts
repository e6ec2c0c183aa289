import { BoundedCache } from '@baton/domain';

/** A token bucket: `tokens` left at instant `at` (epoch ms). */
export interface Bucket {
  readonly tokens: number;
  readonly at: number;
}

/** A bucket of `capacity` tokens refilling `capacity` every `windowMs`, seen at `now`. */
export function refill(b: Bucket | undefined, capacity: number, windowMs: number, now: number): Bucket {
  if (!b) return { tokens: capacity, at: now };
  const tokens = Math.min(capacity, b.tokens + ((now - b.at) * capacity) / windowMs);
  return { tokens, at: now };
}

/** Milliseconds until the bucket holds a whole token again (0: it holds one now). */
export function waitForToken(b: Bucket, capacity: number, windowMs: number): number {
  return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * windowMs) / capacity);
}

/**
 * Failed attempts per key (an email, a client address), in this process. An
 * attempt takes a token before it is checked and a success gives it back, so
 * that attempts running at once cannot all pass a check made before any of
 * them failed. While a key's bucket is empty every attempt for it is refused,
 * a right password included, until a token has refilled.
 */
export class AttemptLimiter {
  private readonly buckets: BoundedCache<string, Bucket>;

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
    maxKeys = 100_000,
  ) {
    this.buckets = new BoundedCache(maxKeys);
  }

  /** Takes a token for an attempt: 0, or the milliseconds to wait when there is none (nothing taken). */
  take(key: string, now = Date.now()): number {
    const b = refill(this.buckets.get(key), this.capacity, this.windowMs, now);
    const wait = waitForToken(b, this.capacity, this.windowMs);
    this.buckets.set(key, wait > 0 ? b : { tokens: b.tokens - 1, at: now });
    return wait;
  }

  /** Gives back the token of an attempt that succeeded. */
  refund(key: string, now = Date.now()): void {
    const b = refill(this.buckets.get(key), this.capacity, this.windowMs, now);
    this.buckets.set(key, { tokens: Math.min(this.capacity, b.tokens + 1), at: now });
  }
}
