import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/** Raised at start when the environment is invalid; lists every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** `id:key[,id:key...]`: each key 32 random bytes base64url; the first is current, all are accepted. */
function keyRing() {
  return z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{43}(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{43})*$/,
      'must be id:key[,id:key...], each key 32 random bytes base64url (e.g. k1:$(openssl rand -base64 32 | tr "+/" "-_" | tr -d =)); the first key is current',
    )
    .optional();
}

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
    .default(def ? 'true' : 'false')
    .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

/** An operator-chosen secret: long enough, and not a placeholder left in a script. */
const secret = (min: number) =>
  z
    .string()
    .min(min, `must be at least ${min} characters`)
    .refine((t) => !/change-?me|example|placeholder/i.test(t) && new Set(t).size >= 10, {
      message: 'looks like a placeholder or is too regular; use a random value (e.g. openssl rand -hex 24)',
    });

// One schema for every Baton process; each variable is documented in the README.
const schema = z.object({
  BATON_MODE: z.enum(['development', 'production']).optional(),
  NODE_ENV: z.string().optional(),
  BATON_HTTP_HOST: z.string().default('0.0.0.0'),
  BATON_HTTP_PORT: int(8080),
  BATON_GRPC_HOST: z.string().default('0.0.0.0'),
  BATON_GRPC_PORT: int(7070),
  // PEM files: certificate and key turn on TLS on the agent gateway; a client CA turns on mutual TLS.
  BATON_GRPC_TLS_CERT: z.string().min(1).optional(),
  BATON_GRPC_TLS_KEY: z.string().min(1).optional(),
  BATON_GRPC_TLS_CLIENT_CA: z.string().min(1).optional(),
  // Production mode refuses a plaintext gateway unless this says so (TLS ends in front of it, or a trusted network).
  BATON_GRPC_ALLOW_PLAINTEXT: bool(false),
  BATON_PUBLIC_URL: z.string().url().optional(),
  // JSON and YAML request bodies; webhooks read their raw bodies with a limit of their own (1 MiB).
  BATON_MAX_BODY_BYTES: int(1_048_576, 1_024),
  // Proxies whose X-Forwarded-For names the client (Express `trust proxy`): hop count, or addresses / subnets / loopback.
  BATON_TRUST_PROXY: z
    .string()
    .regex(
      /^(\d{1,2}|(loopback|linklocal|uniquelocal|[0-9A-Fa-f.:]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9A-Fa-f.:]+(\/\d{1,3})?))*)$/,
      'must be a hop count, or addresses, subnets, loopback, linklocal or uniquelocal separated by commas',
    )
    .optional(),
  BATON_DATA_DIR: z.string().default('./data'),
  BATON_DATABASE_URL: z
    .string()
    .regex(/^(mysql|mariadb):\/\//, 'must start with mysql:// or mariadb://')
    .optional(),
  BATON_BOOTSTRAP_TOKEN: secret(24).optional(),
  BATON_ADMIN_EMAIL: z
    .string()
    .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address')
    .optional(),
  BATON_ADMIN_PASSWORD: secret(12).optional(),
  BATON_SESSION_IDLE_MS: int(7_200_000, 1_000),
  BATON_SESSION_MAX_MS: int(86_400_000, 1_000),
  BATON_LOGIN_ATTEMPTS_PER_EMAIL: int(5, 1),
  BATON_LOGIN_ATTEMPTS_PER_IP: int(50, 1),
  BATON_LOGIN_WINDOW_MS: int(900_000, 1_000),
  BATON_RATE_LIMIT_PER_MINUTE: int(3_000, 0),
  BATON_ENV: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,50}$/, 'must be a short name such as dev or prod')
    .default('dev'),
  BATON_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  BATON_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  BATON_HEARTBEAT_INTERVAL_MS: int(5_000, 50),
  BATON_LEASE_TTL_MS: int(30_000, 100),
  BATON_ACK_TIMEOUT_MS: int(10_000, 50),
  BATON_KILL_GRACE_MS: int(5_000, 0),
  BATON_SWEEP_INTERVAL_MS: int(1_000, 20),
  BATON_DISPATCH_BATCH: int(100, 1),
  BATON_TRIGGER_POLL_MS: int(5_000, 20),
  BATON_MISFIRE_TOLERANCE_MS: int(5_000, 0),
  BATON_TRIGGER_LEAD_MS: int(1_750, 0),
  BATON_KAFKA_BROKERS: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+:\d+(,[A-Za-z0-9_.-]+:\d+)*$/, 'must be host:port[,host:port...]')
    .optional(),
  BATON_KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{0,50}$/)
    .default('baton.'),
  BATON_KAFKA_PARTITIONS: int(3, 1),
  BATON_MIGRATE: bool(true),
  BATON_TRIGGER_SECRETS_KEY: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{43}$/,
      'must be 32 random bytes, base64url (e.g. openssl rand -base64 32 | tr "+/" "-_" | tr -d =)',
    )
    .optional(),
  BATON_WEBHOOK_TOLERANCE_MS: int(300_000, 1_000),
  // Seals the tenants' secrets: `id:key[,id:key...]`, the first seals, all open (rotation keeps the old ones).
  BATON_SECRETS_KEY: keyRing(),
  // Keys the audit log's hash chain and signs its checkpoints; kept outside the database. Same shape.
  BATON_AUDIT_KEY: keyRing(),
  // Email alerts: the SMTP server (smtp://user:pass@host:port, smtps:// for TLS) and the sender address.
  BATON_SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, 'must be smtp://[user:pass@]host:port or smtps://...')
    .optional(),
  BATON_SMTP_FROM: z.string().min(3).max(200).optional(),
  // One-time links: invitations into a tenant and password resets.
  BATON_INVITATION_TTL_MS: int(7 * 86_400_000, 60_000),
  BATON_PASSWORD_RESET_TTL_MS: int(3_600_000, 60_000),
  // OpenID Connect single sign-on (authorization code with PKCE); unset issuer: SSO is off.
  BATON_OIDC_ISSUER: z.string().url().optional(),
  BATON_OIDC_CLIENT_ID: z.string().min(1).max(255).optional(),
  BATON_OIDC_CLIENT_SECRET: z.string().min(1).max(1000).optional(),
  BATON_OIDC_REDIRECT_URL: z.string().url().optional(),
  BATON_OIDC_SCOPES: z
    .string()
    .regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'must be scopes separated by spaces')
    .refine((s) => s.split(' ').includes('openid'), 'must include openid')
    .default('openid email profile'),
  BATON_OIDC_ROLE_CLAIM: z.string().min(1).max(200).default('groups'),
  BATON_OIDC_ROLE_MAP: z.string().optional(),
  BATON_OIDC_TENANT_CLAIM: z.string().min(1).max(200).optional(),
  BATON_OIDC_TENANT: z.string().min(1).max(100).default('default'),
  // Webhook and Slack alert channels may point at loopback, link-local and private addresses (default: development mode only).
  BATON_ALERTS_ALLOW_PRIVATE_URLS: z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off']).optional(),
  BATON_LOCAL_AGENT: bool(true),
  BATON_LOCAL_AGENT_SLOTS: int(4, 1),
  BATON_LOCAL_AGENT_NAME: z.string().default('local'),
  BATON_LOCAL_AGENT_LABELS: z.string().default(''),
});

// The standard OpenTelemetry variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
const otelSchema = z.object({
  OTEL_SDK_DISABLED: bool(false),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  OTEL_TRACES_EXPORTER: z
    .string()
    .regex(/^(otlp|console|none)(,(otlp|console|none))*$/, 'must be otlp, console or none (comma-separated)')
    .optional(),
  OTEL_METRICS_EXPORTER: z
    .string()
    .regex(
      /^(otlp|prometheus|console|none)(,(otlp|prometheus|console|none))*$/,
      'must be otlp, prometheus, console or none (comma-separated)',
    )
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .enum(['http/protobuf', 'http/json', 'grpc'])
    .refine((p) => p !== 'grpc', 'grpc is not supported; use http/protobuf (port 4318) or http/json')
    .optional(),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_BSP_SCHEDULE_DELAY: int(5_000, 1),
  OTEL_METRIC_EXPORT_INTERVAL: int(60_000, 100),
  // Metric label cardinality: jobs with their own label per tenant, and tenants; the rest are `other`.
  BATON_METRICS_MAX_JOBS: int(50, 1),
  BATON_METRICS_MAX_TENANTS: int(200, 1),
});

/**
 * OpenTelemetry, from the standard `OTEL_*` variables. Tracing is off unless a
 * traces exporter is chosen (`OTEL_TRACES_EXPORTER`) or an OTLP endpoint is
 * set; metrics are always served on `/metrics` (Prometheus) and pushed over
 * OTLP only when `OTEL_METRICS_EXPORTER` names `otlp`.
 */
export interface TelemetryConfig {
  /** OTEL_SERVICE_NAME; null: the process's own (`baton-standalone`, `baton-scheduler`, `baton-agent`, ...). */
  serviceName: string | null;
  resourceAttributes: Record<string, string>;
  traces: { exporters: Array<'otlp' | 'console'>; endpoint: string; sampler: string; samplerArg: number | null };
  metrics: { otlp: boolean; endpoint: string; exportIntervalMs: number; maxJobsPerTenant: number; maxTenants: number };
  otlp: { protocol: 'http/protobuf' | 'http/json'; headers: Record<string, string> };
  batchDelayMs: number;
}

/** `k=v,k2=v2` with percent-encoded values (the OTEL_* list format). */
function keyValues(text: string | undefined): Record<string, string> {
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v.trim());
    } catch {
      return v.trim();
    }
  };
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[decode(part.slice(0, eq))] = decode(part.slice(eq + 1));
  }
  return out;
}

/** The OTEL_* variables of a process. */
export function readTelemetryEnv(env: NodeJS.ProcessEnv = process.env): TelemetryConfig {
  const parsed = otelSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const base = (e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '');
  const listed = (v: string | undefined) => new Set((v ?? '').split(',').filter(Boolean));
  const traces = listed(e.OTEL_TRACES_EXPORTER);
  // Off unless asked for: an exporter named, or (none named) an OTLP endpoint set.
  if (!e.OTEL_TRACES_EXPORTER && (e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)) {
    traces.add('otlp');
  }
  const metrics = listed(e.OTEL_METRICS_EXPORTER);
  const disabled = e.OTEL_SDK_DISABLED;
  return {
    serviceName: e.OTEL_SERVICE_NAME ?? null,
    resourceAttributes: keyValues(e.OTEL_RESOURCE_ATTRIBUTES),
    traces: {
      exporters: disabled || traces.has('none') ? [] : (['otlp', 'console'] as const).filter((x) => traces.has(x)),
      endpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`,
      sampler: e.OTEL_TRACES_SAMPLER,
      samplerArg: e.OTEL_TRACES_SAMPLER_ARG ?? null,
    },
    metrics: {
      otlp: !disabled && metrics.has('otlp'),
      endpoint: e.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? `${base}/v1/metrics`,
      exportIntervalMs: e.OTEL_METRIC_EXPORT_INTERVAL,
      maxJobsPerTenant: e.BATON_METRICS_MAX_JOBS,
      maxTenants: e.BATON_METRICS_MAX_TENANTS,
    },
    otlp: {
      protocol: e.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json' ? 'http/json' : 'http/protobuf',
      headers: keyValues(e.OTEL_EXPORTER_OTLP_HEADERS),
    },
    batchDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
  };
}

export interface BatonConfig {
  mode: 'development' | 'production';
  /** The environment name templates see as `{{ env }}`. */
  env: string;
  /**
   * `maxBodyBytes`: the largest JSON or YAML request body; a larger one is answered 413.
   * `trustProxy`: the proxies (the edge, a load balancer) whose X-Forwarded-For gives the client's address; null: none.
   */
  http: { host: string; port: number; publicUrl: string; maxBodyBytes: number; trustProxy: string | number | null };
  /**
   * The agent gateway. `tls`: PEM file paths (resolved); `clientCaFile` set = mutual TLS. `allowPlaintext`: production
   * mode may run the gateway without TLS.
   */
  grpc: {
    host: string;
    port: number;
    tls: { certFile: string; keyFile: string; clientCaFile: string | null } | null;
    allowPlaintext: boolean;
  };
  dataDir: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'mysql'; url: string };
  bootstrapToken: string | null;
  auth: {
    /** The first platform admin user; unset parts are `admin@localhost` and a generated password (not in production). */
    admin: { email: string | null; password: string | null };
    /** A session ends after this long without a call, and this long after login at the latest. */
    sessionIdleMs: number;
    sessionMaxMs: number;
    /** Failed logins allowed per email and per client address, refilled over `windowMs`. */
    login: { perEmail: number; perIp: number; windowMs: number };
    /** Calls allowed per API key and per session a minute in each process (a token bucket); 0: not limited. */
    callsPerMinute: number;
    /** Session cookies carry `Secure` (production mode). */
    secureCookies: boolean;
  };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; format: 'text' | 'json' };
  scheduler: {
    heartbeatIntervalMs: number;
    leaseTtlMs: number;
    ackTimeoutMs: number;
    killGraceMs: number;
    sweepIntervalMs: number;
    dispatchBatch: number;
  };
  /**
   * `leadMs`: time triggers fire this long before their slot; the run is created `scheduled` and starts at
   * the slot (0: created at the slot).
   */
  trigger: { pollIntervalMs: number; misfireToleranceMs: number; leadMs: number };
  /** `tls`: the bundled agent's TLS files (BATON_AGENT_TLS_*, resolved), used when the gateway has TLS. */
  localAgent: { enabled: boolean; slots: number; name: string; labels: Record<string, string>; tls: AgentTlsEnv };
  /** Kafka for the production topology; null = the in-process bus (one process only). */
  kafka: { brokers: string[] | null; topicPrefix: string; partitions: number };
  /** Run pending migrations at start (otherwise `baton migrate` does). */
  migrate: boolean;
  webhooks: {
    /** Seals webhook secrets at rest; every trigger replica needs the same key. Null: a key file in the data dir. */
    secretsKey: string | null;
    toleranceMs: number;
  };
  /** The tenants' secrets: the key ring (null: a key file in the data dir, development only). */
  secrets: { key: string | null };
  /** The audit chain's key ring (null: a key file in the data dir, development only). */
  audit: { key: string | null };
  /** Email alerts over SMTP; null: email channels are refused. `from` defaults to `baton@<the SMTP host>`. */
  smtp: { url: string; from: string } | null;
  /** OpenTelemetry (the standard OTEL_* variables, see TelemetryConfig). */
  telemetry: TelemetryConfig;
  /** How long an invitation link and a password reset link stay valid. */
  links: { invitationTtlMs: number; passwordResetTtlMs: number };
  /** OpenID Connect single sign-on; null: off. */
  oidc: OidcConfig | null;
  /**
   * `allowPrivateUrls`: webhook and Slack channels may reach loopback, link-local and private addresses
   * (BATON_ALERTS_ALLOW_PRIVATE_URLS; default true in development mode, the embedded default, false in production).
   */
  alerts: { allowPrivateUrls: boolean };
}

/** The tenant roles an SSO claim value may map to (`BATON_OIDC_ROLE_MAP`). */
export const OIDC_ROLES = ['tenant_admin', 'developer', 'operator', 'viewer', 'auditor'] as const;
export type OidcRole = (typeof OIDC_ROLES)[number];

export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** Null: a public client (PKCE only, `token_endpoint_auth_method: none`). */
  clientSecret: string | null;
  /** Where the provider sends the browser back: `<public URL>/api/v1/auth/oidc/callback` unless set. */
  redirectUrl: string;
  scopes: string[];
  /** The claim (ID token or userinfo) whose value, or values, `roleMap` maps to a role; the highest one wins. */
  roleClaim: string;
  roleMap: Record<string, OidcRole>;
  /** The claim naming the tenant (by name) to sign in to; null: always `tenant`. */
  tenantClaim: string | null;
  tenant: string;
  /** An `http://` issuer (a local provider, tests): refused in production mode. */
  allowHttp: boolean;
}

/** Parses `k=v,k2=v2` label lists; returns an error message or the map. */
export function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return `label "${part}" is not key=value`;
    const key = part.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_./-]{1,63}$/.test(key)) return `label key "${key}" is invalid`;
    labels[key] = part.slice(eq + 1).trim();
  }
  return labels;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): BatonConfig {
  const parsed = schema.safeParse(env);
  const otel = otelSchema.safeParse(env);
  if (!parsed.success || !otel.success) {
    throw new ConfigError(
      [...(parsed.error?.issues ?? []), ...(otel.error?.issues ?? [])].map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  const mode = e.BATON_MODE ?? (e.NODE_ENV === 'production' ? 'production' : 'development');
  const dataDir = isAbsolute(e.BATON_DATA_DIR) ? e.BATON_DATA_DIR : resolve(cwd, e.BATON_DATA_DIR);
  if (mode === 'production' && !e.BATON_DATABASE_URL) {
    problems.push('BATON_DATABASE_URL: required in production mode (SQLite is the embedded default only)');
  }
  const labels = parseLabels(e.BATON_LOCAL_AGENT_LABELS);
  if (typeof labels === 'string') problems.push(`BATON_LOCAL_AGENT_LABELS: ${labels}`);
  if (e.BATON_LEASE_TTL_MS <= e.BATON_HEARTBEAT_INTERVAL_MS) {
    problems.push('BATON_LEASE_TTL_MS: must be greater than BATON_HEARTBEAT_INTERVAL_MS');
  }
  if (e.BATON_SESSION_MAX_MS < e.BATON_SESSION_IDLE_MS) {
    problems.push('BATON_SESSION_MAX_MS: must be at least BATON_SESSION_IDLE_MS');
  }
  if (mode === 'production' && !!e.BATON_ADMIN_EMAIL !== !!e.BATON_ADMIN_PASSWORD) {
    // No generated password in production: the operator sets both, or neither (no admin user is created).
    problems.push(
      e.BATON_ADMIN_EMAIL
        ? 'BATON_ADMIN_PASSWORD: required in production mode when BATON_ADMIN_EMAIL is set'
        : 'BATON_ADMIN_EMAIL: required in production mode when BATON_ADMIN_PASSWORD is set',
    );
  }
  if (!!e.BATON_GRPC_TLS_CERT !== !!e.BATON_GRPC_TLS_KEY) {
    problems.push(
      e.BATON_GRPC_TLS_CERT
        ? 'BATON_GRPC_TLS_KEY: required with BATON_GRPC_TLS_CERT (the private key of the gateway certificate)'
        : 'BATON_GRPC_TLS_CERT: required with BATON_GRPC_TLS_KEY (the gateway certificate)',
    );
  }
  if (e.BATON_GRPC_TLS_CLIENT_CA && !e.BATON_GRPC_TLS_CERT) {
    problems.push('BATON_GRPC_TLS_CLIENT_CA: mutual TLS needs TLS: set BATON_GRPC_TLS_CERT and BATON_GRPC_TLS_KEY too');
  }
  for (const name of ['BATON_SECRETS_KEY', 'BATON_AUDIT_KEY'] as const) {
    const keyIds = (e[name] ?? '').split(',').map((k) => k.split(':')[0]);
    if (e[name] && new Set(keyIds).size !== keyIds.length) problems.push(`${name}: each key id must appear once`);
  }
  const oidc = oidcConfig(e, mode, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const file = (path: string | null) => (path ? resolve(cwd, path) : null);
  const agentTls = readClientEnv(env).agentTls;
  const publicHost = e.BATON_HTTP_HOST === '0.0.0.0' ? '127.0.0.1' : e.BATON_HTTP_HOST;
  return {
    mode,
    env: e.BATON_ENV,
    http: {
      host: e.BATON_HTTP_HOST,
      port: e.BATON_HTTP_PORT,
      publicUrl: e.BATON_PUBLIC_URL ?? `http://${publicHost}:${e.BATON_HTTP_PORT}`,
      maxBodyBytes: e.BATON_MAX_BODY_BYTES,
      trustProxy:
        e.BATON_TRUST_PROXY === undefined
          ? null
          : /^\d+$/.test(e.BATON_TRUST_PROXY)
            ? Number(e.BATON_TRUST_PROXY)
            : e.BATON_TRUST_PROXY,
    },
    grpc: {
      host: e.BATON_GRPC_HOST,
      port: e.BATON_GRPC_PORT,
      tls:
        e.BATON_GRPC_TLS_CERT && e.BATON_GRPC_TLS_KEY
          ? {
              certFile: resolve(cwd, e.BATON_GRPC_TLS_CERT),
              keyFile: resolve(cwd, e.BATON_GRPC_TLS_KEY),
              clientCaFile: e.BATON_GRPC_TLS_CLIENT_CA ? resolve(cwd, e.BATON_GRPC_TLS_CLIENT_CA) : null,
            }
          : null,
      allowPlaintext: e.BATON_GRPC_ALLOW_PLAINTEXT,
    },
    dataDir,
    database: e.BATON_DATABASE_URL
      ? { kind: 'mysql', url: e.BATON_DATABASE_URL }
      : { kind: 'sqlite', path: resolve(dataDir, 'baton.db') },
    bootstrapToken: e.BATON_BOOTSTRAP_TOKEN ?? null,
    auth: {
      admin: { email: e.BATON_ADMIN_EMAIL ?? null, password: e.BATON_ADMIN_PASSWORD ?? null },
      sessionIdleMs: e.BATON_SESSION_IDLE_MS,
      sessionMaxMs: e.BATON_SESSION_MAX_MS,
      login: {
        perEmail: e.BATON_LOGIN_ATTEMPTS_PER_EMAIL,
        perIp: e.BATON_LOGIN_ATTEMPTS_PER_IP,
        windowMs: e.BATON_LOGIN_WINDOW_MS,
      },
      callsPerMinute: e.BATON_RATE_LIMIT_PER_MINUTE,
      secureCookies: mode === 'production',
    },
    log: { level: e.BATON_LOG_LEVEL, format: e.BATON_LOG_FORMAT },
    scheduler: {
      heartbeatIntervalMs: e.BATON_HEARTBEAT_INTERVAL_MS,
      leaseTtlMs: e.BATON_LEASE_TTL_MS,
      ackTimeoutMs: e.BATON_ACK_TIMEOUT_MS,
      killGraceMs: e.BATON_KILL_GRACE_MS,
      sweepIntervalMs: e.BATON_SWEEP_INTERVAL_MS,
      dispatchBatch: e.BATON_DISPATCH_BATCH,
    },
    trigger: {
      pollIntervalMs: e.BATON_TRIGGER_POLL_MS,
      misfireToleranceMs: e.BATON_MISFIRE_TOLERANCE_MS,
      leadMs: e.BATON_TRIGGER_LEAD_MS,
    },
    kafka: {
      brokers: e.BATON_KAFKA_BROKERS ? e.BATON_KAFKA_BROKERS.split(',') : null,
      topicPrefix: e.BATON_KAFKA_TOPIC_PREFIX,
      partitions: e.BATON_KAFKA_PARTITIONS,
    },
    migrate: e.BATON_MIGRATE,
    webhooks: { secretsKey: e.BATON_TRIGGER_SECRETS_KEY ?? null, toleranceMs: e.BATON_WEBHOOK_TOLERANCE_MS },
    secrets: { key: e.BATON_SECRETS_KEY ?? null },
    audit: { key: e.BATON_AUDIT_KEY ?? null },
    smtp: e.BATON_SMTP_URL
      ? { url: e.BATON_SMTP_URL, from: e.BATON_SMTP_FROM ?? `baton@${smtpHost(e.BATON_SMTP_URL)}` }
      : null,
    telemetry: readTelemetryEnv(env),
    links: { invitationTtlMs: e.BATON_INVITATION_TTL_MS, passwordResetTtlMs: e.BATON_PASSWORD_RESET_TTL_MS },
    oidc:
      oidc && !e.BATON_OIDC_REDIRECT_URL
        ? {
            ...oidc,
            redirectUrl: `${(e.BATON_PUBLIC_URL ?? `http://${publicHost}:${e.BATON_HTTP_PORT}`).replace(/\/$/, '')}/api/v1/auth/oidc/callback`,
          }
        : oidc,
    alerts: {
      allowPrivateUrls:
        e.BATON_ALERTS_ALLOW_PRIVATE_URLS === undefined
          ? mode === 'development'
          : ['1', 'true', 'yes', 'on'].includes(e.BATON_ALERTS_ALLOW_PRIVATE_URLS),
    },
    localAgent: {
      enabled: e.BATON_LOCAL_AGENT,
      slots: e.BATON_LOCAL_AGENT_SLOTS,
      name: e.BATON_LOCAL_AGENT_NAME,
      labels: typeof labels === 'string' ? {} : labels,
      tls: { ...agentTls, ca: file(agentTls.ca), cert: file(agentTls.cert), key: file(agentTls.key) },
    },
  };
}

/**
 * Reads a PEM file named by a variable or flag (`what`): a file that is missing, unreadable or holds no PEM block
 * is a ConfigError naming `what` and the file.
 */
export function readPem(file: string, what: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([`${what}: cannot read ${file} (${code})`]);
  }
  if (!data.includes('-----BEGIN ')) throw new ConfigError([`${what}: ${file} holds no PEM block (-----BEGIN ...)`]);
  return data;
}

/** The TLS files of an agent (`baton agent --tls-*` or BATON_AGENT_TLS_*); each null when unset. */
export interface AgentTlsEnv {
  ca: string | null;
  cert: string | null;
  key: string | null;
  serverName: string | null;
}

/** The SSO settings, or null when no issuer is set; each problem is added to `problems`. */
function oidcConfig(
  e: z.output<typeof schema>,
  mode: 'development' | 'production',
  problems: string[],
): OidcConfig | null {
  if (!e.BATON_OIDC_ISSUER) {
    for (const name of ['BATON_OIDC_CLIENT_ID', 'BATON_OIDC_CLIENT_SECRET', 'BATON_OIDC_ROLE_MAP'] as const) {
      if (e[name]) problems.push(`${name}: set BATON_OIDC_ISSUER too (SSO is off without it)`);
    }
    return null;
  }
  const before = problems.length;
  const http = e.BATON_OIDC_ISSUER.startsWith('http://');
  if (!http && !e.BATON_OIDC_ISSUER.startsWith('https://')) problems.push('BATON_OIDC_ISSUER: must be an https:// URL');
  if (http && mode === 'production') {
    problems.push('BATON_OIDC_ISSUER: must be https:// in production mode (http:// is for a local provider)');
  }
  if (!e.BATON_OIDC_CLIENT_ID) problems.push('BATON_OIDC_CLIENT_ID: required with BATON_OIDC_ISSUER');
  const roleMap: Record<string, OidcRole> = {};
  if (!e.BATON_OIDC_ROLE_MAP) {
    problems.push(
      `BATON_OIDC_ROLE_MAP: required with BATON_OIDC_ISSUER: JSON mapping values of the ${e.BATON_OIDC_ROLE_CLAIM} claim to roles, e.g. {"baton-admins":"tenant_admin"}`,
    );
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(e.BATON_OIDC_ROLE_MAP);
    } catch {
      parsed = null;
    }
    const ok =
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      Object.keys(parsed).length > 0 &&
      Object.values(parsed).every((r) => (OIDC_ROLES as readonly unknown[]).includes(r));
    if (!ok) {
      problems.push(
        `BATON_OIDC_ROLE_MAP: must be a JSON object of claim values to roles (${OIDC_ROLES.join(', ')}), e.g. {"baton-admins":"tenant_admin"}`,
      );
    } else Object.assign(roleMap, parsed);
  }
  if (problems.length > before || !e.BATON_OIDC_CLIENT_ID) return null;
  return {
    issuer: e.BATON_OIDC_ISSUER,
    clientId: e.BATON_OIDC_CLIENT_ID,
    clientSecret: e.BATON_OIDC_CLIENT_SECRET ?? null,
    redirectUrl: e.BATON_OIDC_REDIRECT_URL ?? '',
    scopes: e.BATON_OIDC_SCOPES.split(' '),
    roleClaim: e.BATON_OIDC_ROLE_CLAIM,
    roleMap,
    tenantClaim: e.BATON_OIDC_TENANT_CLAIM ?? null,
    tenant: e.BATON_OIDC_TENANT,
    allowHttp: http,
  };
}

function smtpHost(url: string): string {
  try {
    return new URL(url).hostname || 'localhost';
  } catch {
    return 'localhost';
  }
}

/** Environment variables the CLI reads (server, token, config file). */
export interface ClientEnv {
  server: string | null;
  token: string | null;
  configPath: string | null;
  home: string | null;
  dataDir: string;
  agentToken: string | null;
  agentTls: AgentTlsEnv;
}

export function readClientEnv(env: NodeJS.ProcessEnv = process.env): ClientEnv {
  return {
    server: env.BATON_SERVER ?? null,
    token: env.BATON_TOKEN ?? null,
    configPath: env.BATON_CONFIG ?? null,
    home: env.HOME ?? null,
    dataDir: env.BATON_DATA_DIR ?? './data',
    agentToken: env.BATON_AGENT_TOKEN ?? null,
    agentTls: {
      ca: env.BATON_AGENT_TLS_CA || null,
      cert: env.BATON_AGENT_TLS_CERT || null,
      key: env.BATON_AGENT_TLS_KEY || null,
      serverName: env.BATON_AGENT_TLS_SERVER_NAME || null,
    },
  };
}

/** What integration tests read from the environment. */
export interface TestEnv {
  /** Server URL (no database) of the MySQL/MariaDB used by integration tests. */
  mysqlUrl: string;
  /** In CI the MariaDB run is required; elsewhere it is skipped when no server answers. */
  requireMysql: boolean;
  keepData: boolean;
  kafkaBrokers: string[];
}

export function readTestEnv(env: NodeJS.ProcessEnv = process.env): TestEnv {
  return {
    mysqlUrl: env.BATON_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
    requireMysql: env.CI === 'true' || env.BATON_TEST_REQUIRE_MYSQL === '1',
    keepData: env.BATON_TEST_KEEP === '1',
    kafkaBrokers: (env.BATON_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  };
}

/** The environment a child process of a test inherits. */
export function inheritedEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  // OTEL_* too: a test's processes export telemetry only where the test says so.
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('BATON_') && !k.startsWith('OTEL_')) out[k] = v;
  return out;
}
