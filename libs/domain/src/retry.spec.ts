import { describe, expect, it } from 'vitest';

import { DEFAULT_RETRY_POLICY, retryDelayMs, shouldRetry } from './retry.js';
import type { RetryPolicy } from './retry.js';

const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({ ...DEFAULT_RETRY_POLICY, ...p });

describe('shouldRetry', () => {
  it.each<[string, Partial<RetryPolicy>, number, number | null, boolean]>([
    ['default policy never retries', {}, 1, 1, false],
    ['retries while tries remain', { maxAttempts: 3 }, 1, 1, true],
    ['retries the second time too', { maxAttempts: 3 }, 2, 1, true],
    ['stops when tries are used up', { maxAttempts: 3 }, 3, 1, false],
    ['retries a listed exit code', { maxAttempts: 3, retryOn: [75, 111] }, 1, 75, true],
    ['does not retry an unlisted exit code', { maxAttempts: 3, retryOn: [75] }, 1, 1, false],
    ['retries a timeout or lost attempt despite retryOn', { maxAttempts: 3, retryOn: [75] }, 1, null, true],
    ['does not retry a timeout without tries left', { maxAttempts: 2, retryOn: [75] }, 2, null, false],
  ])('%s', (_name, p, used, exitCode, expected) => {
    expect(shouldRetry(policy(p), used, exitCode)).toBe(expected);
  });
});

describe('retryDelayMs', () => {
  const half = (): number => 0.5;
  const zero = (): number => 0;
  const almostOne = (): number => 0.999999;

  it.each<[string, Partial<RetryPolicy>, number, () => number, number]>([
    ['immediate', { backoff: 'immediate', delayMs: 5_000 }, 3, half, 0],
    ['fixed', { backoff: 'fixed', delayMs: 5_000 }, 1, zero, 5_000],
    ['fixed stays fixed', { backoff: 'fixed', delayMs: 5_000 }, 7, zero, 5_000],
    ['fixed is capped', { backoff: 'fixed', delayMs: 5_000, maxDelayMs: 2_000 }, 1, zero, 2_000],
    ['exponential after the first try', { backoff: 'exponential', delayMs: 1_000 }, 1, zero, 1_000],
    ['exponential doubles', { backoff: 'exponential', delayMs: 1_000 }, 2, zero, 2_000],
    ['exponential after four tries', { backoff: 'exponential', delayMs: 1_000 }, 4, zero, 8_000],
    ['exponential hits the cap', { backoff: 'exponential', delayMs: 1_000, maxDelayMs: 5_000 }, 4, zero, 5_000],
    [
      'exponential does not overflow',
      { backoff: 'exponential', delayMs: 1_000, maxDelayMs: 60_000 },
      5_000,
      zero,
      60_000,
    ],
    ['jitter subtracts a share of the delay', { backoff: 'fixed', delayMs: 10_000, jitter: 0.2 }, 1, half, 9_000],
    [
      'jitter applies after the cap',
      { backoff: 'exponential', delayMs: 1_000, maxDelayMs: 4_000, jitter: 0.5 },
      10,
      half,
      3_000,
    ],
    ['zero random takes nothing off', { backoff: 'fixed', delayMs: 10_000, jitter: 1 }, 1, zero, 10_000],
    ['full jitter can reach almost zero', { backoff: 'fixed', delayMs: 10_000, jitter: 1 }, 1, almostOne, 0],
  ])('%s', (_name, p, used, random, expected) => {
    expect(retryDelayMs(policy(p), used, random)).toBe(expected);
  });
});
