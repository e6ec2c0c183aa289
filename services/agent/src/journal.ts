import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result } from '@baton/proto';

/** The journal's file in its directory. */
export const JOURNAL_FILE = 'results.log';

/** Lines appended before the journal is rewritten with only what is still unacknowledged. */
const COMPACT_AFTER = 5_000;

/**
 * Results not yet acknowledged by the server, in one append-only file: a line
 * `{"put": Result}` when a result is written (before it is sent, so neither a
 * network cut nor an agent restart loses it) and `{"ack": attemptId}` once
 * its ResultAck arrives. Lines written in the same moment go out in one write
 * (and one fsync, when asked); the file is rewritten with what is still
 * unacknowledged once it has grown. Results journaled one file per attempt by
 * earlier agents (`<attempt>.json`) are read at start and taken over.
 */
export class ResultJournal {
  private readonly path: string;
  /** What the file holds unacknowledged (as of the lines queued). */
  private readonly pending = new Map<string, Result>();
  private queue: Array<{ line: string; durable: boolean; done: (err?: Error) => void }> = [];
  private flushing: Promise<void> | null = null;
  private fh: FileHandle | null = null;
  private lines = 0;

  constructor(
    readonly dir: string,
    private readonly fsync = false,
  ) {
    this.path = join(dir, JOURNAL_FILE);
  }

  /** Creates the directory, reads what is stored (dropping leftovers of interrupted writes), and rewrites the file. */
  loadSync(onBadFile: (file: string, err: unknown) => void): Result[] {
    mkdirSync(this.dir, { recursive: true });
    const stored = readJournalSync(this.dir, onBadFile);
    for (const [id, r] of stored.results) this.pending.set(id, r);
    this.rewriteSync();
    // Taken over, and leftovers of writes a crash interrupted (nothing was sent from those).
    for (const file of [...stored.legacy, ...stored.temporary]) tryUnlinkSync(join(this.dir, file));
    return [...this.pending.values()];
  }

  /** Resolves once the result is in the file (and on disk, with fsync). */
  write(result: Result): Promise<void> {
    this.pending.set(result.attemptId, result);
    return this.append(JSON.stringify({ put: result }), true);
  }

  /** The result was acknowledged: it is not sent again after a restart (best effort: a lost line only resends it). */
  remove(attemptId: string): Promise<void> {
    if (!this.pending.delete(attemptId)) return Promise.resolve();
    return this.append(JSON.stringify({ ack: attemptId }), false);
  }

  /** Results in the journal not yet acknowledged. */
  get size(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.fh?.close();
    this.fh = null;
  }

  private append(line: string, durable: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({
        line,
        durable,
        done: (err) => (err ? reject(err) : resolve()),
      });
      this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const part = this.queue;
        this.queue = [];
        try {
          this.fh ??= await open(this.path, 'a');
          await this.fh.write(part.map((x) => `${x.line}\n`).join(''));
          if (this.fsync && part.some((x) => x.durable)) await this.fh.datasync();
          this.lines += part.length;
          for (const x of part) x.done();
        } catch (err) {
          const e = err instanceof Error ? err : new Error(`journal write failed: ${JSON.stringify(err)}`);
          for (const x of part) x.done(e);
          await this.fh?.close().catch(() => undefined);
          this.fh = null;
        }
        if (this.lines > COMPACT_AFTER && this.lines > 4 * this.pending.size) await this.compact();
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Rewrites the file with what is unacknowledged (between appends, so nothing is written meanwhile). */
  private async compact(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const out = await open(tmp, 'w');
    try {
      await out.write(this.body());
      if (this.fsync) await out.sync();
    } finally {
      await out.close();
    }
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await rename(tmp, this.path);
    this.lines = this.pending.size;
  }

  private rewriteSync(): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, this.body(), { flush: this.fsync });
    renameSync(tmp, this.path);
    this.lines = this.pending.size;
  }

  private body(): string {
    return [...this.pending.values()].map((r) => `${JSON.stringify({ put: r })}\n`).join('');
  }
}

/**
 * What a journal directory holds unacknowledged, by attempt id: the log's
 * lines in order (a torn last line is an interrupted write, skipped), and
 * results of earlier agents stored one file per attempt (`legacy`), and the
 * temporary files of interrupted writes. Reads only.
 */
export function readJournalSync(
  dir: string,
  onBadFile: (file: string, err: unknown) => void = () => undefined,
): { results: Map<string, Result>; legacy: string[]; temporary: string[] } {
  const results = new Map<string, Result>();
  const legacy: string[] = [];
  const temporary: string[] = [];
  if (!existsSync(dir)) return { results, legacy, temporary };
  for (const file of readdirSync(dir).sort()) {
    const path = join(dir, file);
    if (file.endsWith('.tmp')) {
      temporary.push(file);
      continue;
    }
    if (!file.endsWith('.json')) continue;
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Result>;
      if (typeof parsed.attemptId !== 'string' || parsed.attemptId === '') throw new Error('no attemptId');
      results.set(parsed.attemptId, normalize(parsed));
      legacy.push(file);
    } catch (err) {
      onBadFile(file, err);
    }
  }
  const log = join(dir, JOURNAL_FILE);
  if (!existsSync(log)) return { results, legacy, temporary };
  const lines = readFileSync(log, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line === '') return;
    try {
      const entry = JSON.parse(line) as { put?: Partial<Result>; ack?: unknown };
      if (typeof entry.ack === 'string') results.delete(entry.ack);
      else if (entry.put && typeof entry.put.attemptId === 'string' && entry.put.attemptId !== '') {
        results.set(entry.put.attemptId, normalize(entry.put));
      } else throw new Error('neither a result nor an acknowledgement');
    } catch (err) {
      // The last line may be cut by a crash mid-write: that result was never sent.
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l !== '')) onBadFile(`${JOURNAL_FILE}:${i + 1}`, err);
    }
  });
  return { results, legacy, temporary };
}

function normalize(r: Partial<Result>): Result {
  return {
    attemptId: r.attemptId ?? '',
    status: r.status ?? 0,
    exitCode: r.exitCode ?? 0,
    outputJson: r.outputJson ?? '',
    error: r.error ?? '',
    startedAtMs: r.startedAtMs ?? 0,
    finishedAtMs: r.finishedAtMs ?? 0,
    cpuMillis: r.cpuMillis ?? 0,
  };
}

function tryUnlinkSync(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Best effort: a stale temp file is harmless.
  }
}
