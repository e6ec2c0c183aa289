import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Database, TaskLogEntity } from '@baton/persistence';
import { LOGGER, type Logger } from '@baton/telemetry';

/** Per-attempt cap: the server keeps the head of a runaway log and notes the cut. */
export const MAX_LOG_BYTES_PER_ATTEMPT = 4 * 1024 * 1024;

interface Pending {
  tenantId: string;
  attemptId: string;
  seq: number;
  stream: string;
  data: string;
  createdAt: number;
}

/** Buffers log chunks and writes them in batches, in order, once per flush. */
@Injectable()
export class LogSink implements OnApplicationShutdown {
  private buffer: Pending[] = [];
  private readonly lastSeq = new Map<string, number>();
  private readonly bytes = new Map<string, number>();
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
    // Chunks re-sent after a reconnect carry sequences already stored.
    if (seq <= (this.lastSeq.get(attemptId) ?? -1)) return;
    this.lastSeq.set(attemptId, seq);
    const used = this.bytes.get(attemptId) ?? 0;
    if (used >= MAX_LOG_BYTES_PER_ATTEMPT) return;
    let text = data.toString('utf8');
    if (used + data.length > MAX_LOG_BYTES_PER_ATTEMPT) {
      text = text.slice(0, MAX_LOG_BYTES_PER_ATTEMPT - used) + '\n[baton: log truncated at 4 MiB]\n';
    }
    this.bytes.set(attemptId, used + data.length);
    this.buffer.push({ tenantId, attemptId, seq, stream, data: text, createdAt: Date.now() });
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), 50);
  }

  /** Writes everything buffered (called before a result is applied). */
  flush(attemptId?: string): Promise<void> {
    if (attemptId) {
      this.lastSeq.delete(attemptId);
      this.bytes.delete(attemptId);
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      for (let i = 0; i < batch.length; i += 200) {
        await this.db
          .tx((m) => m.insert(TaskLogEntity, batch.slice(i, i + 200)))
          .catch((err: unknown) => {
            this.log.error('log write failed', { error: String(err), chunks: batch.length });
          });
      }
    });
    return this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }
}
