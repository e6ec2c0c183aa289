import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '@baton/testing';

const web = resolve(__dirname, '..');

describe('the generated REST client', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ databaseUrl: null });
  }, 120_000);
  afterAll(async () => platform?.stop());

  it('matches a fresh generation from the served OpenAPI document (run `npm run gen:api -w web` after an API change)', () => {
    const out = mkdtempSync(join(tmpdir(), 'baton-gen-api-'));
    try {
      const fresh = join(out, 'openapi.gen.ts');
      execFileSync(process.execPath, [join(web, 'scripts/gen-api.mjs'), '--url', platform.url, '--out', fresh], {
        stdio: 'pipe',
      });
      expect(readFileSync(join(web, 'src/api/openapi.gen.ts'), 'utf8')).toBe(readFileSync(fresh, 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
