import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@baton/config';
import { SECRETS_KEY_FILE, secretAad, secretsBox } from './secrets.js';

const PROD = { BATON_MODE: 'production', BATON_DATABASE_URL: 'mysql://root@127.0.0.1:3306/baton' };
const KEY = `k7:${'Q'.repeat(43)}`;

describe('secretsBox', () => {
  it('refuses production mode without BATON_SECRETS_KEY, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-secrets-'));
    const config = loadConfig({ ...PROD, BATON_DATA_DIR: dir }, dir);
    expect(() => secretsBox(config)).toThrow(ConfigError);
    expect(() => secretsBox(config)).toThrow(/BATON_SECRETS_KEY: required in production mode/);
    expect(existsSync(join(dir, SECRETS_KEY_FILE))).toBe(false);
  });

  it('uses the configured ring in production, and a generated key file in development', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-secrets-'));
    expect(secretsBox(loadConfig({ ...PROD, BATON_DATA_DIR: dir, BATON_SECRETS_KEY: KEY }, dir)).currentKeyId).toBe(
      'k7',
    );
    const dev = secretsBox(loadConfig({ BATON_DATA_DIR: dir }, dir));
    expect(existsSync(join(dir, SECRETS_KEY_FILE))).toBe(true);
    const sealed = dev.seal('v', secretAad('t1', 'A'));
    expect(secretsBox(loadConfig({ BATON_DATA_DIR: dir }, dir)).open(sealed.text, secretAad('t1', 'A'))).toBe('v');
    expect(dev.open(sealed.text, secretAad('t1', 'B'))).toBeNull();
  });
});
