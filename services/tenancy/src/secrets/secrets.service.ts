import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { IsNull, Not } from 'typeorm';
import { type Principal, SecretBox, actorOf, auditRecord, channelSecretAad, secretAad, secretsBox } from '@baton/auth';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException } from '@baton/http';
import {
  AlertChannelEntity,
  Database,
  SecretEntity,
  type TenantScope,
  isUniqueViolation,
  newId,
  scoped,
} from '@baton/persistence';
import { LOGGER, type Logger, rememberSecretValues } from '@baton/telemetry';

/** What the API shows of a secret: never its value. */
export interface SecretView {
  name: string;
  keyId: string;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

const view = (s: SecretEntity): SecretView => ({
  name: s.name,
  keyId: s.keyId,
  createdAt: new Date(s.createdAt).toISOString(),
  updatedAt: new Date(s.updatedAt).toISOString(),
  updatedBy: s.updatedBy,
});

export interface RotationReport {
  keyId: string;
  /** Values sealed again under the current key. */
  rotated: number;
  /** Alert channels whose webhook signing secret was sealed again under the current key. */
  channels: number;
  /** Values no configured key opens (`tenant/name (key id)`, `tenant/alert channel name`): they stay as they are. */
  unreadable: string[];
}

const ROTATE_BATCH = 200;

/**
 * A tenant's secrets for its tasks: written and deleted by the API, sealed
 * at rest, and never read back by it. Only the scheduler opens them, to put
 * them into the Assign of a task that refers to them.
 */
@Injectable()
export class SecretsService {
  private readonly box: SecretBox;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.box = secretsBox(config);
    this.log = logger.child('secrets');
  }

  async list(scope: TenantScope): Promise<SecretView[]> {
    const rows = await scoped(this.db.manager, scope).find(SecretEntity, { where: {}, order: { name: 'ASC' } });
    return rows.map(view);
  }

  /** Creates or replaces a secret; answers whether it was created. */
  async put(p: Principal, name: string, value: string): Promise<{ created: boolean; secret: SecretView }> {
    rememberSecretValues([value]);
    const sealed = this.box.seal(value, secretAad(p.tenantId, name));
    const now = Date.now();
    const actor = actorOf(p);
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.db.tx(async (m) => {
          const patch = { sealed: sealed.text, keyId: sealed.keyId, updatedAt: now, updatedBy: actor };
          const changed = await scoped(m, p).update(SecretEntity, { name }, patch);
          let row: SecretEntity;
          if (changed > 0) {
            row = (await scoped(m, p).findOne(SecretEntity, { where: { name } }))!;
          } else {
            row = { id: newId(now), tenantId: p.tenantId, name, createdAt: now, ...patch };
            await scoped(m, p).insert(SecretEntity, row);
          }
          await this.audit(m, p, changed > 0 ? 'secret.updated' : 'secret.created', name, { keyId: sealed.keyId });
          return { created: changed === 0, secret: view(row) };
        });
        this.relay.kick();
        return out;
      } catch (err) {
        // Two first writes of one name at once: the loser replaces the winner's value.
        if (!isUniqueViolation(err) || attempt > 0) throw err;
      }
    }
  }

  async remove(p: Principal, name: string): Promise<SecretView> {
    const out = await this.db.tx(async (m) => {
      const row = await scoped(m, p).findOne(SecretEntity, { where: { name } });
      if (!row) throw ProblemException.notFound(`secret ${name}`);
      await scoped(m, p).delete(SecretEntity, { id: row.id });
      await this.audit(m, p, 'secret.deleted', name, {});
      return view(row);
    });
    this.relay.kick();
    return out;
  }

  /**
   * Seals every secret of every tenant that is not under the current key
   * again under it, and the alert channels' webhook secrets, which the same
   * key seals (platform admins: `baton secrets rotate-key`). Every process
   * must already have the new BATON_SECRETS_KEY, old keys after it.
   */
  async rotateKey(p: Principal): Promise<RotationReport> {
    const report: RotationReport = { keyId: this.box.currentKeyId, rotated: 0, channels: 0, unreadable: [] };
    const skipped = new Set<string>();
    for (;;) {
      // across tenants: a key rotation re-seals every tenant's values; each row is updated in its own tenant below.
      const found = await this.db.manager.find(SecretEntity, {
        where: { keyId: Not(this.box.currentKeyId) },
        order: { id: 'ASC' },
        take: ROTATE_BATCH + skipped.size,
      });
      const rows = found.filter((r) => !skipped.has(r.id));
      if (rows.length === 0) break;
      for (const r of rows) {
        const aad = secretAad(r.tenantId, r.name);
        const value = this.box.open(r.sealed, aad);
        if (value === null) {
          skipped.add(r.id);
          report.unreadable.push(`${r.tenantId}/${r.name} (key ${r.keyId})`);
          continue;
        }
        const sealed = this.box.seal(value, aad);
        // Only if nobody wrote it meanwhile (a new write is under the current key already).
        const n = await scoped(this.db.manager, { tenantId: r.tenantId }).update(
          SecretEntity,
          { id: r.id, sealed: r.sealed },
          { sealed: sealed.text, keyId: sealed.keyId },
        );
        report.rotated += n;
      }
    }
    await this.rotateChannelSecrets(report);
    const detail = {
      keyId: report.keyId,
      rotated: report.rotated,
      channels: report.channels,
      unreadable: report.unreadable.length,
    };
    await this.db.tx((m) =>
      enqueueAudit(m, auditRecord(p, 'secrets.key-rotated', `secrets key ${report.keyId}`, detail)),
    );
    this.relay.kick();
    this.log.info('secrets sealed again under the current key', {
      keyId: report.keyId,
      rotated: report.rotated,
      channels: report.channels,
      unreadable: report.unreadable.length,
    });
    return report;
  }

  /** The alert channels' webhook secrets (few rows, no key id column: the id is read from the sealed text). */
  private async rotateChannelSecrets(report: RotationReport): Promise<void> {
    // across tenants: a key rotation re-seals every tenant's channels; each row is updated in its own tenant below.
    const rows = await this.db.manager.find(AlertChannelEntity, {
      where: { secretSealed: Not(IsNull()) },
      select: { id: true, tenantId: true, name: true, secretSealed: true },
      order: { id: 'ASC' },
    });
    for (const c of rows) {
      const old = c.secretSealed!;
      if (SecretBox.keyIdOf(old) === this.box.currentKeyId) continue;
      const aad = channelSecretAad(c.tenantId, c.name);
      const value = this.box.open(old, aad);
      if (value === null) {
        report.unreadable.push(`${c.tenantId}/alert channel ${c.name} (key ${SecretBox.keyIdOf(old) ?? 'v1'})`);
        continue;
      }
      // Only if nobody wrote it meanwhile (a new write is under the current key already).
      report.channels += await scoped(this.db.manager, { tenantId: c.tenantId }).update(
        AlertChannelEntity,
        { id: c.id, secretSealed: old },
        { secretSealed: this.box.seal(value, aad).text },
      );
    }
  }

  /** The record of a write or delete: the name and the key id, never the value. */
  private audit(m: EntityManager, p: Principal, action: string, name: string, detail: Record<string, unknown>) {
    return enqueueAudit(m, auditRecord(p, action, `secret ${name}`, detail));
  }
}
