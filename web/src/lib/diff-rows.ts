import { diffLines } from 'diff';

/** One line of a unified diff, with its line numbers in the old and the new text. */
export interface DiffLine {
  kind: 'add' | 'del' | 'same';
  text: string;
  oldNo: number | null;
  newNo: number | null;
}

/** The lines of `before` → `after` (jsdiff's line diff), numbered on both sides. */
export function unifiedLines(before: string, after: string): DiffLine[] {
  let oldNo = 0;
  let newNo = 0;
  return diffLines(before, after).flatMap((part) =>
    part.value
      .replace(/\n$/, '')
      .split('\n')
      .map((text): DiffLine => {
        const kind = part.added ? 'add' : part.removed ? 'del' : 'same';
        if (kind !== 'add') oldNo += 1;
        if (kind !== 'del') newNo += 1;
        return { kind, text, oldNo: kind === 'add' ? null : oldNo, newNo: kind === 'del' ? null : newNo };
      }),
  );
}

/** One row of a side-by-side diff: the old line on the left, the new on the right (null: nothing there). */
export interface SplitRow {
  left: DiffLine | null;
  right: DiffLine | null;
}

/**
 * The same lines side by side: unchanged lines face each other, and a run of
 * removed lines faces the run of added lines that replaced it, line by line
 * (the longer run faces blanks).
 */
export function splitRows(lines: readonly DiffLine[]): SplitRow[] {
  const rows: SplitRow[] = [];
  for (let i = 0; i < lines.length;) {
    const line = lines[i]!;
    if (line.kind === 'same') {
      rows.push({ left: line, right: line });
      i += 1;
      continue;
    }
    const dels: DiffLine[] = [];
    const adds: DiffLine[] = [];
    while (i < lines.length && lines[i]!.kind === 'del') dels.push(lines[i++]!);
    while (i < lines.length && lines[i]!.kind === 'add') adds.push(lines[i++]!);
    for (let k = 0; k < Math.max(dels.length, adds.length); k++)
      rows.push({ left: dels[k] ?? null, right: adds[k] ?? null });
  }
  return rows;
}
