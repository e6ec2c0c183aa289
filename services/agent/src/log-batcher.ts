import { LogChunk_Stream } from '@baton/proto';

export const LOG_FLUSH_BYTES = 32 * 1024;
export const LOG_FLUSH_MS = 50;

/**
 * Collects a task's output into chunks of up to 32 KiB, flushed at that size
 * or 50 ms after the first pending byte, so a chatty task does not send one
 * message per write(). A change of stream flushes first, which keeps stdout
 * and stderr in the order they were read.
 */
export class LogBatcher {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingStream: LogChunk_Stream = LogChunk_Stream.STDOUT;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly emit: (stream: LogChunk_Stream, data: Buffer) => void,
    private readonly maxBytes = LOG_FLUSH_BYTES,
    private readonly flushMs = LOG_FLUSH_MS,
  ) {}

  write(stream: LogChunk_Stream, data: Buffer): void {
    if (data.length === 0) return;
    if (this.pendingBytes > 0 && stream !== this.pendingStream) this.flush();
    this.pendingStream = stream;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= this.maxBytes) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pendingBytes === 0) return;
    const all = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    for (let off = 0; off < all.length; off += this.maxBytes) {
      this.emit(this.pendingStream, all.subarray(off, off + this.maxBytes));
    }
  }
}
