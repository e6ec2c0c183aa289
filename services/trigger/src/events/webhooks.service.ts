import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  WEBHOOK_ROOTS,
  parseSignatureHeader,
  renderParams,
  timestampFresh,
  webhookDedupeKey,
  webhookSignedPayload,
} from '@baton/domain';
import {
  Database,
  JobEntity,
  type TenantScope,
  TriggerEntity,
  TriggerSecretEntity,
  isUniqueViolation,
  scoped,
} from '@baton/persistence';
import { EVENT_BUS, type EventBus, OUTBOX_RELAY, type OutboxRelay, topic } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig, ConfigError } from '@baton/config';
import { ProblemException } from '@baton/http';
import { LOGGER, type Logger, activeSpan } from '@baton/telemetry';
import { SecretBox } from '@baton/auth';
import { triggerSpec } from '../time/trigger-spec.js';
import { newWebhookSecret } from './secret-box.js';
import { requestEventRun } from './run-requests.js';

export const SIGNATURE_HEADER = 'x-baton-signature';
export const TIMESTAMP_HEADER = 'x-baton-timestamp';
const MAX_IDEMPOTENCY_KEY = 200;
// Never handed to a mapping: credentials and the signature itself.
const HIDDEN_HEADERS = new Set(['authorization', 'cookie', SIGNATURE_HEADER]);

export interface WebhookDelivery {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer | undefined;
  tooLarge: boolean;
}

export interface WebhookAccepted {
  runRequested: true;
  /** True when this dedupe key was delivered before: no second run. */
  duplicate: boolean;
  dedupeKey: string;
}

function header(h: WebhookDelivery['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

const unauthorized = (detail: string) => new ProblemException(401, 'invalid_signature', detail);

/**
 * Webhook triggers: `POST /hooks/<trigger id>` signed with the trigger's
 * secret (HMAC-SHA256 over `<timestamp>.<raw body>`) requests a run, once
 * per Idempotency-Key (or body hash). Secrets are made when a webhook
 * trigger appears, sealed at rest, and shown only by a rotation.
 */
@Injectable()
export class WebhooksService implements OnApplicationBootstrap {
  private readonly box: SecretBox;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    if (config.mode === 'production' && !config.webhooks.secretsKey) {
      // Replicas must share the key, and one generated into a pod's disk would be a default secret.
      throw new ConfigError(['BATON_TRIGGER_SECRETS_KEY: required in production mode (it seals webhook secrets)']);
    }
    // Every trigger replica needs the same key: the configured one, else `<dataDir>/trigger-secrets.key` (embedded use).
    this.box = SecretBox.fromConfig(config.webhooks.secretsKey, config.dataDir, 'trigger-secrets.key');
    this.log = logger.child('webhooks');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.subscribe(topic('catalog-events'), 'trigger.webhook-secrets', () => this.syncSecrets());
    await this.syncSecrets();
  }

  /** Makes a secret for every webhook trigger without one; drops the secrets of triggers that are gone. */
  async syncSecrets(): Promise<void> {
    const missing = (await this.db.manager.query(
      'SELECT t.id AS id, t.tenant_id AS tenant FROM triggers t LEFT JOIN trigger_secrets s ON s.trigger_id = t.id ' +
        "WHERE t.type = 'webhook' AND s.trigger_id IS NULL",
    )) as Array<{ id: string; tenant: string }>;
    for (const t of missing) {
      try {
        await scoped(this.db.manager, { tenantId: t.tenant }).insert(TriggerSecretEntity, {
          triggerId: t.id,
          tenantId: t.tenant,
          secret: this.box.seal(newWebhookSecret()).text,
          createdAt: Date.now(),
          rotatedAt: null,
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err; // another replica made it
      }
    }
    await this.db.manager.query(
      "DELETE FROM trigger_secrets WHERE trigger_id NOT IN (SELECT id FROM triggers WHERE type = 'webhook')",
    );
  }

  /** A new secret for the job's trigger at `index`, returned this once. */
  async rotate(scope: TenantScope, jobName: string, index: number) {
    const job = await scoped(this.db.manager, scope).findOne(JobEntity, { where: { name: jobName } });
    if (!job) throw ProblemException.notFound(`job ${jobName}`);
    const t = await scoped(this.db.manager, scope).findOne(TriggerEntity, {
      where: { jobId: job.id, position: index },
    });
    if (!t) throw ProblemException.notFound(`trigger #${index} of job ${jobName}`);
    if (t.type !== 'webhook') throw ProblemException.invalidField('index', `trigger #${index} is a ${t.type} trigger`);
    const secret = newWebhookSecret();
    const now = Date.now();
    const sealed = this.box.seal(secret).text;
    // The catalog-event handler may be creating the first secret at this moment: update, else insert, else update.
    for (let attempt = 0; ; attempt++) {
      const upd = await scoped(this.db.manager, scope).update(
        TriggerSecretEntity,
        { triggerId: t.id },
        { secret: sealed, rotatedAt: now },
      );
      if (upd > 0) break;
      try {
        await scoped(this.db.manager, scope).insert(TriggerSecretEntity, {
          triggerId: t.id,
          tenantId: scope.tenantId,
          secret: sealed,
          createdAt: now,
          rotatedAt: now,
        });
        break;
      } catch (err) {
        if (!isUniqueViolation(err) || attempt > 0) throw err;
      }
    }
    this.log.info('webhook secret rotated', { job: jobName, trigger: t.id });
    return {
      triggerId: t.id,
      url: `${this.config.http.publicUrl}/hooks/${t.id}`,
      secret,
      algorithm: 'hmac-sha256',
      signatureHeader: 'X-Baton-Signature',
      timestampHeader: 'X-Baton-Timestamp',
      rotatedAt: new Date(now).toISOString(),
    };
  }

  /** Whether a webhook trigger has a secret yet (for the trigger view). */
  async hasSecret(scope: TenantScope, triggerIds: readonly string[]): Promise<Set<string>> {
    if (triggerIds.length === 0) return new Set();
    const rows = await scoped(this.db.manager, scope)
      .query(TriggerSecretEntity, 's', 's.trigger_id IN (:...ids)', { ids: triggerIds })
      .select('s.trigger_id', 'id')
      .getRawMany<{ id: string }>();
    return new Set(rows.map((r) => r.id));
  }

  async deliver(triggerId: string, d: WebhookDelivery): Promise<WebhookAccepted> {
    if (d.tooLarge) throw new ProblemException(413, 'payload_too_large', 'the body is larger than 1 MiB');
    const raw = d.rawBody ?? Buffer.alloc(0);
    // Unknown trigger, no secret, bad signature: one answer, so the route tells nothing about which trigger ids exist.
    const t = /^[0-9a-zA-Z-]{1,36}$/.test(triggerId)
      ? // across tenants: a webhook's address is its trigger id; the tenant is the trigger's
        await this.db.manager.findOne(TriggerEntity, { where: { id: triggerId, type: 'webhook' } })
      : null;
    const row = t
      ? await scoped(this.db.manager, t).findOne(TriggerSecretEntity, { where: { triggerId: t.id } })
      : null;
    const secret = row ? this.box.open(row.secret) : null;
    const timestamp = header(d.headers, TIMESTAMP_HEADER);
    if (!timestampFresh(timestamp, Date.now(), this.config.webhooks.toleranceMs))
      throw unauthorized('missing, malformed or stale X-Baton-Timestamp (unix seconds, within 300 s)');
    const given = parseSignatureHeader(header(d.headers, SIGNATURE_HEADER));
    const expected = secret
      ? createHmac('sha256', secret).update(webhookSignedPayload(timestamp!.trim(), raw)).digest()
      : null;
    if (!t || !expected || !given || !timingSafeEqual(Buffer.from(given, 'hex'), expected))
      throw unauthorized('missing or invalid X-Baton-Signature');
    const spec = triggerSpec(t.type, t.spec, t.enabled);
    if (spec.type !== 'webhook') throw unauthorized('missing or invalid X-Baton-Signature');
    // The call's span (what creates the run) names the job it triggers.
    activeSpan()?.setAttributes({
      'cicd.pipeline.name': t.jobName,
      'baton.tenant': t.tenantId,
      'baton.trigger.id': t.id,
    });
    if (!t.enabled) throw ProblemException.conflict('the webhook trigger is disabled');

    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        throw ProblemException.invalidField('(body)', 'must be JSON');
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.headers)) {
      const name = k.toLowerCase();
      if (v !== undefined && !HIDDEN_HEADERS.has(name)) headers[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    const params = renderParams(spec.params, WEBHOOK_ROOTS, { body, headers });
    if (!params.ok) {
      const [path, ...rest] = params.error.split(': ');
      throw ProblemException.invalidField(path!, rest.join(': '));
    }

    const idem = header(d.headers, 'idempotency-key')?.trim();
    if (idem !== undefined && (idem === '' || idem.length > MAX_IDEMPOTENCY_KEY))
      throw ProblemException.invalidField('Idempotency-Key', `must be 1..${MAX_IDEMPOTENCY_KEY} characters`);
    const key = idem ?? `sha256-${createHash('sha256').update(raw).digest('hex')}`;
    const wanted = webhookDedupeKey(t.id, key);
    let result: { requested: boolean; dedupeKey: string };
    try {
      result = await this.db.tx((m) =>
        requestEventRun(this.db, m, t, spec, {
          dedupeKey: wanted,
          logicalDate: null,
          params: params.value,
          traceparent: header(d.headers, 'traceparent'),
        }),
      );
    } catch (err) {
      // A concurrent delivery of the same key committed first.
      if (!isUniqueViolation(err)) throw err;
      result = { requested: false, dedupeKey: wanted };
    }
    if (result.requested) {
      this.relay.kick();
      this.log.info('webhook requested a run', { job: t.jobName, trigger: t.id });
    }
    return { runRequested: true, duplicate: !result.requested, dedupeKey: result.dedupeKey };
  }
}
