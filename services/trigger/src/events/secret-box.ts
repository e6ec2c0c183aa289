import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 'v1';

/**
 * Seals webhook secrets at rest with AES-256-GCM. The key is 32 random bytes
 * in `<dataDir>/trigger-secrets.key` (mode 0600), made on first use; every
 * trigger replica needs the same file (or, later, a configured key).
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The configured key (`BATON_TRIGGER_SECRETS_KEY`), else a key file in the data dir (embedded use). */
  static fromConfig(key: string | null, dataDir: string): SecretBox {
    return key ? new SecretBox(Buffer.from(key, 'base64url')) : SecretBox.fromDataDir(dataDir);
  }

  static fromDataDir(dataDir: string): SecretBox {
    const path = join(dataDir, 'trigger-secrets.key');
    if (!existsSync(path)) {
      mkdirSync(dataDir, { recursive: true });
      try {
        // `wx`: two processes starting together must not overwrite each other's key.
        writeFileSync(path, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
        chmodSync(path, 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
    if (key.length !== 32) throw new Error(`${path} must hold 32 bytes (base64url)`);
    return new SecretBox(key);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return [VERSION, iv.toString('base64url'), c.getAuthTag().toString('base64url'), data.toString('base64url')].join(
      '.',
    );
  }

  /** The secret, or null when the text was not sealed with this key. */
  open(sealed: string): string | null {
    const [v, iv, tag, data] = sealed.split('.');
    if (v !== VERSION || !iv || !tag || data === undefined) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

/** A new webhook secret: 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}
