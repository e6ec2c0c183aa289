import { type BatonConfig, ConfigError } from '@baton/config';
import { SecretBox, parseKeyRing } from '@baton/auth';
import type { AuditKey } from './chain.js';

/** The development key file in the data dir, made on first use when BATON_AUDIT_KEY is not set. */
export const AUDIT_KEY_FILE = 'audit.key';

/** The audit key ring: the first key chains new records and signs checkpoints; every key verifies. */
export interface AuditKeys {
  current: AuditKey;
  byId: ReadonlyMap<string, AuditKey>;
}

/**
 * `BATON_AUDIT_KEY`, or in development a key generated into
 * `<dataDir>/audit.key`. Production mode refuses to start without the
 * variable: the key must live outside the database it protects (and be the
 * same on every replica).
 */
export function auditKeys(config: BatonConfig): AuditKeys {
  if (config.mode === 'production' && !config.audit.key) {
    throw new ConfigError([
      'BATON_AUDIT_KEY: required in production mode (it keys the audit chain and signs its checkpoints)',
    ]);
  }
  let keys: AuditKey[];
  try {
    keys = config.audit.key ? parseKeyRing(config.audit.key) : SecretBox.keyFile(config.dataDir, AUDIT_KEY_FILE);
  } catch (err) {
    throw new ConfigError([`BATON_AUDIT_KEY: ${(err as Error).message}`]);
  }
  return { current: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) };
}
