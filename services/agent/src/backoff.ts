/** Exponential backoff with jitter; reset after a successful Welcome. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the next try. Jitter (50..100 % of the step) keeps many agents from reconnecting in lockstep. */
  next(): number {
    const step = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.round(step * (0.5 + 0.5 * this.random()));
  }

  /** Delay at the maximum, used while the token is rejected so a revoked agent does not hammer the server. */
  max(): number {
    this.attempt += 1;
    return Math.round(this.maxMs * (0.5 + 0.5 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
