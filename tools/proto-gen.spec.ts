import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const committed = join(root, 'libs/proto/src/gen');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('generated protobuf code', () => {
  it('matches a fresh ts-proto generation from proto/ (run `npm run proto:gen` after editing a .proto)', () => {
    const out = mkdtempSync(join(tmpdir(), 'baton-proto-'));
    execFileSync(process.execPath, [join(root, 'tools/proto-gen.mjs'), '--out', out], { stdio: 'pipe' });
    const fresh = files(out)
      .map((f) => relative(out, f))
      .sort();
    expect(
      files(committed)
        .map((f) => relative(committed, f))
        .sort(),
    ).toEqual(fresh);
    for (const f of fresh) {
      expect(readFileSync(join(committed, f), 'utf8'), f).toBe(readFileSync(join(out, f), 'utf8'));
    }
  }, 60_000);
});
