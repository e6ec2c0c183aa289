import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEvent } from '@baton/proto';
import { FileWatcher, globToRegExp } from './file-watcher.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('globToRegExp', () => {
  it.each([
    ['*.csv', 'a.csv', true],
    ['*.csv', 'a.csv.tmp', false],
    ['data-??.json', 'data-01.json', true],
    ['data-??.json', 'data-1.json', false],
    ['a+b.txt', 'a+b.txt', true],
    ['*', '.hidden', true],
  ])('%s matches %s: %s', (glob, name, match) => {
    expect(globToRegExp(glob).test(name)).toBe(match);
  });
});

describe('FileWatcher', () => {
  it('reports a file once it stopped changing, and again only when it changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-watch-'));
    const events: FileEvent[] = [];
    const w = new FileWatcher((e) => events.push(e), quiet, 60_000);
    writeFileSync(join(dir, 'a.csv'), 'one');
    writeFileSync(join(dir, 'skip.txt'), 'x');
    w.set([{ triggerId: 't1', pathGlob: join(dir, '*.csv') }]);
    await w.scan(); // first look at a.csv (set() started one too)
    await w.scan();
    expect(events.map((e) => [e.triggerId, e.path, e.size])).toEqual([['t1', join(dir, 'a.csv'), 3]]);
    await w.scan();
    expect(events).toHaveLength(1);
    writeFileSync(join(dir, 'a.csv'), 'one two');
    await w.scan();
    expect(events).toHaveLength(1); // changed: wait for it to settle
    await w.scan();
    expect(events.map((e) => e.size)).toEqual([3, 7]);
    w.stop();
  });

  it('ignores relative paths and wildcards in folders', () => {
    const w = new FileWatcher(() => undefined, quiet, 60_000);
    w.set([
      { triggerId: 'a', pathGlob: 'rel/*.csv' },
      { triggerId: 'b', pathGlob: '/data/*/x.csv' },
    ]);
    w.stop();
  });
});
