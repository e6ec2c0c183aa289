import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { LessThanOrEqual } from 'typeorm';
import { Database, TaskLogEntity, scoped, scopedTo } from '@baton/persistence';
import { LOGGER, type Logger } from '@baton/telemetry';

/** Per-attempt cap: the server keeps the tail of a long log, the most recent 4 MiB. */
export const MAX_LOG_BYTES_PER_ATTEMPT = 4 * 1024 * 1024;

export const DROPPED_LOG_NOTICE = '[baton: earlier output was dropped; the last 4 MiB are kept]\n';

interface Pending {
  tenantId: string;
  attemptId: string;
  seq: number;
  stream: string;
  data: string;
  createdAt: number;
}

interface AttemptLog {
  tenantId: string;
  lastSeq: number;
  /** Last chunk time: entries of attempts that ended elsewhere are swept after a while. */
  touched: number;
  /** Chunks kept, oldest first, with their sizes. */
  kept: Array<{ seq: number; bytes: number }>;
  bytes: number;
  /** Chunks up to this sequence are to be removed from the store. */
  dropThrough: number;
}

/**
 * Buffers log chunks and writes them in batches, in order. Each attempt keeps
 * a bounded tail: once it passes the cap, its oldest chunks are deleted.
 */
@Injectable()
export class LogSink implements OnApplicationShutdown {
  private buffer: Pending[] = [];
  private readonly attempts = new Map<string, AttemptLog>();
  private readonly drops = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('logs');
  }

  add(tenantId: string, attemptId: string, seq: number, stream: string, data: Buffer): void {
    let a = this.attempts.get(attemptId);
    if (!a) {
      a = { tenantId, lastSeq: -1, touched: 0, kept: [], bytes: 0, dropThrough: -1 };
      this.attempts.set(attemptId, a);
      if (this.attempts.size % 1_000 === 0) this.sweep();
    }
    a.touched = Date.now();
    // Chunks re-sent after a reconnect carry sequences already stored.
    if (seq <= a.lastSeq) return;
    a.lastSeq = seq;
    a.kept.push({ seq, bytes: data.length });
    a.bytes += data.length;
    while (a.bytes > MAX_LOG_BYTES_PER_ATTEMPT && a.kept.length > 1) {
      const old = a.kept.shift()!;
      a.bytes -= old.bytes;
      a.dropThrough = old.seq;
    }
    if (a.dropThrough >= 0) this.drops.set(attemptId, a.dropThrough);
    this.buffer.push({ tenantId, attemptId, seq, stream, data: data.toString('utf8'), createdAt: Date.now() });
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), 50);
  }

  /** Drops bookkeeping of attempts silent for 10 minutes (they ended on another replica, or were lost). */
  private sweep(): void {
    const old = Date.now() - 600_000;
    for (const [id, a] of this.attempts) if (a.touched < old) this.attempts.delete(id);
  }

  /** The attempt ended: its bookkeeping goes (its stored chunks stay). */
  forget(attemptId: string): void {
    this.attempts.delete(attemptId);
  }

  /** Writes everything buffered (called before results are applied). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const drops = new Map(this.drops);
    this.drops.clear();
    const tenantOf = new Map<string, string>();
    for (const [id] of drops) tenantOf.set(id, this.attempts.get(id)?.tenantId ?? '');
    // Chunks already past the tail are not written at all.
    const batch = this.buffer.filter((c) => c.seq > (drops.get(c.attemptId) ?? -1));
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      try {
        await this.db.tx(async (m) => {
          if (batch.length > 0) {
            // Chunks are up to 64 KiB each: 200 a statement stays far below the server's packet limit.
            const logs = scopedTo(
              m,
              batch.map((c) => c.tenantId),
            );
            for (let i = 0; i < batch.length; i += 200) await logs.insert(TaskLogEntity, batch.slice(i, i + 200));
          }
          for (const [attemptId, through] of drops) {
            const tenantId = tenantOf.get(attemptId);
            if (!tenantId) continue;
            await scoped(m, { tenantId }).delete(TaskLogEntity, { attemptId, seq: LessThanOrEqual(through) });
          }
        });
      } catch (err) {
        this.log.error('log write failed', { error: String(err), chunks: batch.length });
      }
    });
    return this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }
}
