import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Result } from '@baton/proto';
import { JOURNAL_FILE, ResultJournal, readJournalSync } from './journal.js';

const result = (attemptId: string, exitCode = 0): Result => ({
  attemptId,
  status: 1,
  exitCode,
  outputJson: '',
  error: '',
  startedAtMs: 1,
  finishedAtMs: 2,
  cpuMillis: 0,
});

describe('ResultJournal: one append-only file of results not yet acknowledged', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'baton-journal-')), 'journal');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  const reopen = (fsync = false) => {
    const j = new ResultJournal(dir, fsync);
    const bad: string[] = [];
    const loaded = j.loadSync((file) => bad.push(file));
    return { j, loaded, bad };
  };

  it.each([false, true])(
    'keeps what is written and forgets what is acknowledged, across a restart (fsync %s)',
    async (fsync) => {
      const { j } = reopen(fsync);
      // Written in the same moment: one write.
      await Promise.all([j.write(result('a')), j.write(result('b')), j.write(result('c'))]);
      await j.remove('b');
      await j.close();
      const again = reopen(fsync);
      expect(again.loaded.map((r) => r.attemptId).sort()).toEqual(['a', 'c']);
      // Rewritten at start with what is unacknowledged only.
      expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8').trim().split('\n')).toHaveLength(2);
      await again.j.close();
    },
  );

  it('skips a line cut by a crash at the end, and names a bad line in the middle', () => {
    reopen(); // creates the directory
    const file = join(dir, JOURNAL_FILE);
    writeFileSync(file, `${JSON.stringify({ put: result('a') })}\nnot json\n${JSON.stringify({ put: result('b') })}\n`);
    appendFileSync(file, '{"put":{"attemptId":"c"'); // torn
    const { loaded, bad } = reopen();
    expect(loaded.map((r) => r.attemptId).sort()).toEqual(['a', 'b']);
    expect(bad).toEqual([`${JOURNAL_FILE}:2`]);
  });

  it('takes over results an earlier agent stored one file per attempt, and drops interrupted temporary files', async () => {
    const { j } = reopen();
    await j.close();
    writeFileSync(join(dir, 'att-old.json'), JSON.stringify(result('att-old', 3)));
    writeFileSync(join(dir, '.att-x.1234.tmp'), '{"half');
    const { j: j2, loaded } = reopen();
    expect(loaded).toEqual([result('att-old', 3)]);
    expect(existsSync(join(dir, 'att-old.json'))).toBe(false);
    expect(existsSync(join(dir, '.att-x.1234.tmp'))).toBe(false);
    expect(readJournalSync(dir).results.get('att-old')).toEqual(result('att-old', 3));
    await j2.close();
  });

  it('rewrites itself once it has grown, keeping only what is unacknowledged', async () => {
    const { j } = reopen();
    for (let i = 0; i < 3_000; i++) {
      await j.write(result(`r${i}`));
      if (i % 1_000 !== 7) await j.remove(`r${i}`);
    }
    await j.close();
    const lines = readFileSync(join(dir, JOURNAL_FILE), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(5_000);
    expect([...readJournalSync(dir).results.keys()]).toEqual(['r7', 'r1007', 'r2007']);
  });
});
