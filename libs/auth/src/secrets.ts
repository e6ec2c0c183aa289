import { In, type EntityManager } from 'typeorm';
import { type BatonConfig, ConfigError } from '@baton/config';
import { SecretEntity, type TenantScope, scoped } from '@baton/persistence';
import { SecretBox } from './secret-box.js';

/** The largest secret value, in bytes (UTF-8). */
export const MAX_SECRET_BYTES = 16 * 1024;

/** The development key file in the data dir, made on first use when BATON_SECRETS_KEY is not set. */
export const SECRETS_KEY_FILE = 'secrets.key';

/**
 * The box that seals the tenants' secrets: `BATON_SECRETS_KEY`, or in
 * development a key generated into `<dataDir>/secrets.key`. Production mode
 * refuses to start without the variable: replicas must share the key, and one
 * generated onto a pod's disk would be a default secret.
 */
export function secretsBox(config: BatonConfig): SecretBox {
  if (config.mode === 'production' && !config.secrets.key) {
    throw new ConfigError(["BATON_SECRETS_KEY: required in production mode (it seals the tenants' secrets)"]);
  }
  return SecretBox.fromConfig(config.secrets.key, config.dataDir, SECRETS_KEY_FILE);
}

/** Binds a ciphertext to its tenant and name: a sealed value copied to another row does not open. */
export function secretAad(tenantId: string, name: string): string {
  return `baton-secret:${tenantId}:${name}`;
}

/** Binds a sealed alert webhook secret to its tenant and channel: copied to another row, it does not open. */
export function channelSecretAad(tenantId: string, name: string): string {
  return `baton-alert-channel:${tenantId}:${name}`;
}

export interface OpenedSecrets {
  values: Record<string, string>;
  /** Secrets that exist but do not open with the configured keys (a key left out of BATON_SECRETS_KEY). */
  unreadable: string[];
}

/** The values of the named secrets of one tenant; names that do not exist are absent. */
export async function openSecrets(
  m: EntityManager,
  scope: TenantScope,
  box: SecretBox,
  names: readonly string[],
): Promise<OpenedSecrets> {
  const out: OpenedSecrets = { values: {}, unreadable: [] };
  if (names.length === 0) return out;
  const rows = await scoped(m, scope).find(SecretEntity, { where: { name: In([...names]) } });
  for (const r of rows) {
    const value = box.open(r.sealed, secretAad(r.tenantId, r.name));
    if (value === null) out.unreadable.push(`${r.name} (key ${r.keyId})`);
    else out.values[r.name] = value;
  }
  return out;
}
