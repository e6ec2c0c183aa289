import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Result } from '@baton/proto';
import { safeName } from './safe-name.js';

/**
 * Results not yet acknowledged by the server, one JSON file per attempt.
 * A result is written here before it is sent, so neither a network cut nor an
 * agent restart loses it; the file goes once ResultAck arrives.
 */
export class ResultJournal {
  constructor(
    readonly dir: string,
    private readonly fsync = false,
  ) {}

  /** Creates the directory, drops leftovers of interrupted writes, and returns the stored results. */
  loadSync(onBadFile: (file: string, err: unknown) => void): Result[] {
    mkdirSync(this.dir, { recursive: true });
    const results: Result[] = [];
    for (const file of readdirSync(this.dir).sort()) {
      const path = join(this.dir, file);
      if (file.endsWith('.tmp')) {
        // A crash between write and rename; the result was never sent from this file.
        tryUnlinkSync(path);
        continue;
      }
      if (!file.endsWith('.json')) continue;
      try {
        const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Result>;
        if (typeof parsed.attemptId !== 'string' || parsed.attemptId === '') throw new Error('no attemptId');
        results.push(normalize(parsed));
      } catch (err) {
        onBadFile(file, err);
      }
    }
    return results;
  }

  async write(result: Result): Promise<void> {
    const name = safeName(result.attemptId);
    const tmp = join(this.dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(result));
      // fsync so the rename below never exposes an empty file after a power cut (when asked to).
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, `${name}.json`));
  }

  async remove(attemptId: string): Promise<void> {
    try {
      await unlink(this.pathOf(attemptId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  pathOf(attemptId: string): string {
    return join(this.dir, `${safeName(attemptId)}.json`);
  }
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
