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
 * Failed attempts per key (an email, a client address), in this process. Each
 * failure takes a token; while a key's bucket is empty every attempt for it
 * is refused, a right password included, until a token has refilled.
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

  /** Milliseconds the caller must wait before trying `key` again (0: go ahead). */
  retryAfterMs(key: string, now = Date.now()): number {
    return waitForToken(refill(this.buckets.get(key), this.capacity, this.windowMs, now), this.capacity, this.windowMs);
  }

  fail(key: string, now = Date.now()): void {
    const b = refill(this.buckets.get(key), this.capacity, this.windowMs, now);
    this.buckets.set(key, { tokens: Math.max(0, b.tokens - 1), at: now });
  }
}
