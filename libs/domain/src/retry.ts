export type Backoff = 'immediate' | 'fixed' | 'exponential';

export const BACKOFFS: readonly Backoff[] = ['immediate', 'fixed', 'exponential'];

export interface RetryPolicy {
  /** Total tries including the first; 1 means no retry. */
  maxAttempts: number;
  backoff: Backoff;
  delayMs: number;
  maxDelayMs: number;
  /** 0..1: up to this fraction of the delay is taken off at random. */
  jitter: number;
  /** Exit codes that retry; empty = any failure retries. */
  retryOn: readonly number[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 1,
  backoff: 'fixed',
  delayMs: 10_000,
  maxDelayMs: 3_600_000,
  jitter: 0,
  retryOn: Object.freeze([]) as readonly number[],
});

/**
 * `exitCode` null means the attempt timed out or was lost. Those always retry
 * while tries remain: `retryOn` filters what the program said about itself,
 * and a timeout or a lost agent says nothing. Whether a lost non-idempotent
 * task may run again is the caller's decision, not the policy's.
 */
export function shouldRetry(policy: RetryPolicy, attemptsUsed: number, exitCode: number | null): boolean {
  if (attemptsUsed >= policy.maxAttempts) return false;
  if (exitCode === null || policy.retryOn.length === 0) return true;
  return policy.retryOn.includes(exitCode);
}

/**
 * Delay before the next try after `attemptsUsed` tries. Jitter only ever
 * shortens the delay, so the cap holds; `random` returns [0, 1) like
 * Math.random and makes the result reproducible in tests.
 */
export function retryDelayMs(policy: RetryPolicy, attemptsUsed: number, random: () => number): number {
  let base: number;
  switch (policy.backoff) {
    case 'immediate':
      return 0;
    case 'fixed':
      base = policy.delayMs;
      break;
    case 'exponential':
      base = policy.delayMs * 2 ** (Math.max(1, attemptsUsed) - 1);
      break;
    default: {
      const unknown: never = policy.backoff;
      throw new Error(`unknown backoff ${String(unknown)}`);
    }
  }
  const capped = Math.min(base, policy.maxDelayMs);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.max(0, Math.round(capped - capped * jitter * random()));
}
