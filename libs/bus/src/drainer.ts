/**
 * Runs a drain one at a time, push-driven: `kick()` starts it at once, a kick
 * while it runs makes it run once more after, a failure (a throw, or a drain
 * that answers false) runs it again after a growing pause (50 ms doubling, at
 * most 5 s), and `intervalMs` is only the safety net. The outbox relay and the
 * scheduler's run-request intake share it.
 */
export class Drainer {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly drain: () => Promise<boolean | void>,
    private readonly opts: { intervalMs: number; onError(err: unknown, failures: number): void },
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.opts.intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Stops kicks and waits for a drain in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain()
      .then((clean) => {
        if (clean === false) this.retryLater();
        else this.failures = 0;
      })
      .catch((err: unknown) => {
        this.opts.onError(err, this.failures + 1);
        this.retryLater();
      })
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private retryLater(): void {
    this.failures++;
    const t = setTimeout(() => this.kick(), Math.min(5_000, 50 * 2 ** this.failures));
    t.unref();
  }
}
