import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { globToRegExp } from '@baton/domain';
import type { FileEvent, FileWatch } from '@baton/proto';
import type { AgentLogger } from './types.js';

export { globToRegExp };

interface Seen {
  size: number;
  mtimeMs: number;
  /** The version last reported, `size:mtime`. */
  reported: string | null;
}

/**
 * Watches the folders of this agent's file triggers by scanning them. A file
 * is reported once it has the same size and mtime on two scans in a row (it
 * stopped growing), and again only when it changes. A new watch set (sent
 * after every Welcome) reports everything present, and the server dedupes by
 * (trigger, path, size, mtime), so nothing is lost across reconnects.
 */
export class FileWatcher {
  private watches: FileWatch[] = [];
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;

  constructor(
    private readonly report: (e: FileEvent) => void,
    private readonly log: AgentLogger,
    private readonly scanMs = 1_000,
  ) {}

  set(watches: readonly FileWatch[]): void {
    this.watches = watches.filter((w) => {
      const ok = isAbsolute(w.pathGlob) && !/[*?]/.test(dirname(w.pathGlob));
      if (!ok)
        this.log.warn('file trigger ignored: the path must be absolute, with wildcards only in the file name', {
          path: w.pathGlob,
        });
      return ok;
    });
    this.seen.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.watches.length === 0) return;
    this.timer = setInterval(() => void this.scan(), this.scanMs);
    this.timer.unref();
    void this.scan();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at every watched folder; a call during a scan waits for that scan. */
  scan(): Promise<void> {
    this.current ??= this.look().finally(() => (this.current = null));
    return this.current;
  }

  private async look(): Promise<void> {
    {
      for (const w of this.watches) {
        const dir = dirname(w.pathGlob);
        const pattern = globToRegExp(basename(w.pathGlob));
        let names: string[];
        try {
          names = await readdir(dir);
        } catch {
          continue; // the folder may appear later
        }
        for (const name of names) {
          if (!pattern.test(name)) continue;
          const path = join(dir, name);
          let st;
          try {
            st = await stat(path);
          } catch {
            continue;
          }
          if (!st.isFile()) continue;
          const key = `${w.triggerId}\u0000${path}`;
          const prev = this.seen.get(key);
          const version = `${st.size}:${Math.trunc(st.mtimeMs)}`;
          if (!prev || prev.size !== st.size || prev.mtimeMs !== Math.trunc(st.mtimeMs)) {
            this.seen.set(key, { size: st.size, mtimeMs: Math.trunc(st.mtimeMs), reported: prev?.reported ?? null });
            continue; // still changing: wait for a second look
          }
          if (prev.reported === version) continue;
          prev.reported = version;
          this.report({ triggerId: w.triggerId, path, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
        }
      }
    }
  }
}
