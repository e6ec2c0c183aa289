import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env, '/tmp');
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
};

const PROD = { BATON_MODE: 'production', BATON_DATABASE_URL: 'mysql://root@127.0.0.1:3306/baton' };
const PASSWORD = 'q8Zr1vT4mX9kLp2w';

describe('identity configuration', () => {
  it.each<[string, Record<string, string>, RegExp | null]>([
    ['defaults in development', {}, null],
    ['an admin email and password', { BATON_ADMIN_EMAIL: 'ops@example.org', BATON_ADMIN_PASSWORD: PASSWORD }, null],
    ['admin@localhost', { BATON_ADMIN_EMAIL: 'admin@localhost' }, null],
    ['not an email', { BATON_ADMIN_EMAIL: 'ops' }, /^BATON_ADMIN_EMAIL: must be an email address$/],
    ['a short password', { BATON_ADMIN_PASSWORD: 'aB3$eF7*kL' }, /^BATON_ADMIN_PASSWORD: must be at least 12/],
    [
      'a placeholder password',
      { BATON_ADMIN_PASSWORD: 'change-me-please-now' },
      /^BATON_ADMIN_PASSWORD: looks like a placeholder/,
    ],
    ['production without an admin user', PROD, null],
    ['production with both', { ...PROD, BATON_ADMIN_EMAIL: 'ops@example.org', BATON_ADMIN_PASSWORD: PASSWORD }, null],
    [
      'production with an email only',
      { ...PROD, BATON_ADMIN_EMAIL: 'ops@example.org' },
      /^BATON_ADMIN_PASSWORD: required in production/,
    ],
    [
      'production with a password only',
      { ...PROD, BATON_ADMIN_PASSWORD: PASSWORD },
      /^BATON_ADMIN_EMAIL: required in production/,
    ],
    [
      'an absolute expiry shorter than the idle one',
      { BATON_SESSION_IDLE_MS: '60000', BATON_SESSION_MAX_MS: '30000' },
      /^BATON_SESSION_MAX_MS: must be at least/,
    ],
    ['no failed login allowed', { BATON_LOGIN_ATTEMPTS_PER_EMAIL: '0' }, /^BATON_LOGIN_ATTEMPTS_PER_EMAIL:/],
    ['trusting the loopback proxy', { BATON_TRUST_PROXY: 'loopback' }, null],
    ['trusting subnets', { BATON_TRUST_PROXY: '10.0.0.0/8, loopback, fd00::/8' }, null],
    ['trusting two hops', { BATON_TRUST_PROXY: '2' }, null],
    ['trusting everyone', { BATON_TRUST_PROXY: 'true' }, /^BATON_TRUST_PROXY: must be a hop count/],
  ])('%s', (_name, env, problem) => {
    const found = problems(env);
    if (problem === null) expect(found).toEqual([]);
    else expect(found).toEqual([expect.stringMatching(problem)]);
  });

  it('sets Secure cookies in production mode only, and reads the session and login limits', () => {
    expect(loadConfig({}, '/tmp').auth).toEqual({
      admin: { email: null, password: null },
      sessionIdleMs: 7_200_000,
      sessionMaxMs: 86_400_000,
      login: { perEmail: 5, perIp: 50, windowMs: 900_000 },
      callsPerMinute: 3_000,
      secureCookies: false,
    });
    expect(loadConfig({ BATON_RATE_LIMIT_PER_MINUTE: '0' }, '/tmp').auth.callsPerMinute).toBe(0);
    const prod = loadConfig({ ...PROD, BATON_LOGIN_ATTEMPTS_PER_IP: '7' }, '/tmp').auth;
    expect([prod.secureCookies, prod.login.perIp]).toEqual([true, 7]);
    expect(loadConfig({}, '/tmp').http.trustProxy).toBeNull();
    expect(loadConfig({ BATON_TRUST_PROXY: '2' }, '/tmp').http.trustProxy).toBe(2);
    expect(loadConfig({ BATON_TRUST_PROXY: 'loopback' }, '/tmp').http.trustProxy).toBe('loopback');
  });
});

describe('BATON_SECRETS_KEY', () => {
  const key = 'A'.repeat(21) + 'b'.repeat(22);
  it.each<[string, string, RegExp | null]>([
    ['one key', `k1:${key}`, null],
    ['a current and an older key', `k2:${key},k1:${key}`, null],
    ['a bare key (no id)', key, /^BATON_SECRETS_KEY: must be id:key/],
    ['a short key', 'k1:abc', /^BATON_SECRETS_KEY: must be id:key/],
    ['a key id twice', `k1:${key},k1:${key}`, /^BATON_SECRETS_KEY: each key id must appear once$/],
  ])('%s', (_what, value, error) => {
    const found = problems({ BATON_SECRETS_KEY: value });
    if (error === null) {
      expect(found).toEqual([]);
      expect(loadConfig({ BATON_SECRETS_KEY: value }, '/tmp').secrets.key).toBe(value);
    } else
      expect(
        found.some((p) => error.test(p)),
        found.join('; '),
      ).toBe(true);
  });
});

describe('gateway and agent TLS', () => {
  it('resolves the PEM paths against the working directory; a client CA means mutual TLS', () => {
    const c = loadConfig(
      {
        BATON_GRPC_TLS_CERT: 'tls/server.pem',
        BATON_GRPC_TLS_KEY: '/etc/baton/server-key.pem',
        BATON_GRPC_TLS_CLIENT_CA: 'tls/ca.pem',
        BATON_AGENT_TLS_CA: 'tls/ca.pem',
        BATON_AGENT_TLS_SERVER_NAME: 'gateway.example.org',
      },
      '/srv',
    );
    expect(c.grpc).toMatchObject({
      tls: { certFile: '/srv/tls/server.pem', keyFile: '/etc/baton/server-key.pem', clientCaFile: '/srv/tls/ca.pem' },
      allowPlaintext: false,
    });
    expect(c.localAgent.tls).toEqual({
      ca: '/srv/tls/ca.pem',
      cert: null,
      key: null,
      serverName: 'gateway.example.org',
    });
    expect(loadConfig({}, '/srv').grpc.tls).toBeNull();
    expect(loadConfig({ BATON_GRPC_ALLOW_PLAINTEXT: 'true' }, '/srv').grpc.allowPlaintext).toBe(true);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'a key without its certificate',
      { BATON_GRPC_TLS_KEY: 'k.pem' },
      /^BATON_GRPC_TLS_CERT: required with BATON_GRPC_TLS_KEY/,
    ],
    ['allow plaintext with a typo', { BATON_GRPC_ALLOW_PLAINTEXT: 'yes please' }, /^BATON_GRPC_ALLOW_PLAINTEXT:/],
  ])('%s', (_what, env, problem) => expect(problems(env)).toEqual([expect.stringMatching(problem)]));
});

describe('OpenTelemetry configuration (OTEL_*)', () => {
  it.each<[string, Record<string, string>, { traces: string[]; otlpMetrics: boolean; endpoint: string }]>([
    ['off by default', {}, { traces: [], otlpMetrics: false, endpoint: 'http://localhost:4318/v1/traces' }],
    [
      'an endpoint turns OTLP tracing on',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' },
      { traces: ['otlp'], otlpMetrics: false, endpoint: 'http://collector:4318/v1/traces' },
    ],
    [
      'an exporter named wins over the endpoint',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' },
      { traces: [], otlpMetrics: false, endpoint: 'http://c:4318/v1/traces' },
    ],
    [
      'a traces endpoint of its own, metrics pushed too',
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom',
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_TRACES_EXPORTER: 'otlp,console',
      },
      { traces: ['otlp', 'console'], otlpMetrics: true, endpoint: 'http://t:4318/custom' },
    ],
    [
      'the SDK disabled',
      { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp', OTEL_METRICS_EXPORTER: 'otlp' },
      { traces: [], otlpMetrics: false, endpoint: 'http://localhost:4318/v1/traces' },
    ],
  ])('%s', (_what, env, expected) => {
    const t = loadConfig(env, '/tmp').telemetry;
    expect({ traces: t.traces.exporters, otlpMetrics: t.metrics.otlp, endpoint: t.traces.endpoint }).toEqual(expected);
  });

  it('reads headers, resource attributes and the service name', () => {
    const t = loadConfig(
      {
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20x,x-team=ops',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
        OTEL_SERVICE_NAME: 'baton-eu',
      },
      '/tmp',
    ).telemetry;
    expect(t.otlp.headers).toEqual({ authorization: 'Bearer x', 'x-team': 'ops' });
    expect(t.resourceAttributes).toEqual({ 'deployment.environment': 'prod' });
    expect(t.serviceName).toBe('baton-eu');
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['grpc is refused', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /^OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported/],
    ['an unknown exporter', { OTEL_TRACES_EXPORTER: 'jaeger' }, /^OTEL_TRACES_EXPORTER:/],
    ['a bad endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' }, /^OTEL_EXPORTER_OTLP_ENDPOINT:/],
    ['a bad ratio', { OTEL_TRACES_SAMPLER_ARG: '2' }, /^OTEL_TRACES_SAMPLER_ARG:/],
  ])('%s', (_what, env, problem) => expect(problems(env)).toEqual([expect.stringMatching(problem)]));
});

describe('single sign-on (BATON_OIDC_*)', () => {
  const SSO = {
    BATON_OIDC_ISSUER: 'https://idp.example.org/realms/baton',
    BATON_OIDC_CLIENT_ID: 'baton',
    BATON_OIDC_ROLE_MAP: '{"baton-admins":"tenant_admin","staff":"viewer"}',
  };
  it.each<[string, Record<string, string>, RegExp | null]>([
    ['off by default', {}, null],
    ['an issuer, a client and a role map', SSO, null],
    ['no client id', { ...SSO, BATON_OIDC_CLIENT_ID: '' }, /^BATON_OIDC_CLIENT_ID/],
    [
      'no role map',
      { BATON_OIDC_ISSUER: SSO.BATON_OIDC_ISSUER, BATON_OIDC_CLIENT_ID: 'b' },
      /^BATON_OIDC_ROLE_MAP: required/,
    ],
    [
      'a role map that is not JSON',
      { ...SSO, BATON_OIDC_ROLE_MAP: 'admins=tenant_admin' },
      /^BATON_OIDC_ROLE_MAP: must be/,
    ],
    [
      'a role map to platform_admin',
      { ...SSO, BATON_OIDC_ROLE_MAP: '{"x":"platform_admin"}' },
      /^BATON_OIDC_ROLE_MAP: must be/,
    ],
    ['an http issuer in development', { ...SSO, BATON_OIDC_ISSUER: 'http://127.0.0.1:9000' }, null],
    [
      'an http issuer in production',
      { ...PROD, ...SSO, BATON_OIDC_ISSUER: 'http://idp:9000' },
      /^BATON_OIDC_ISSUER: must be https/,
    ],
    ['scopes without openid', { ...SSO, BATON_OIDC_SCOPES: 'email groups' }, /^BATON_OIDC_SCOPES: must include openid/],
    [
      'a client id without an issuer',
      { BATON_OIDC_CLIENT_ID: 'baton' },
      /^BATON_OIDC_CLIENT_ID: set BATON_OIDC_ISSUER/,
    ],
  ])('%s', (_what, env, problem) => {
    const found = problems(env);
    if (problem === null) expect(found).toEqual([]);
    else expect(found, found.join('; ')).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('reads the settings, with the callback under the public URL unless set', () => {
    expect(loadConfig({}, '/tmp').oidc).toBeNull();
    expect(loadConfig({ ...SSO, BATON_PUBLIC_URL: 'https://baton.example.org/' }, '/tmp').oidc).toEqual({
      issuer: SSO.BATON_OIDC_ISSUER,
      clientId: 'baton',
      clientSecret: null,
      redirectUrl: 'https://baton.example.org/api/v1/auth/oidc/callback',
      scopes: ['openid', 'email', 'profile'],
      roleClaim: 'groups',
      roleMap: { 'baton-admins': 'tenant_admin', staff: 'viewer' },
      tenantClaim: null,
      tenant: 'default',
      allowHttp: false,
    });
    const set = loadConfig(
      { ...SSO, BATON_OIDC_REDIRECT_URL: 'https://sso.example.org/cb', BATON_OIDC_TENANT_CLAIM: 'org' },
      '/tmp',
    );
    expect([set.oidc?.redirectUrl, set.oidc?.tenantClaim]).toEqual(['https://sso.example.org/cb', 'org']);
    expect(loadConfig({}, '/tmp').links).toEqual({ invitationTtlMs: 604_800_000, passwordResetTtlMs: 3_600_000 });
  });
});

describe('BATON_ALERTS_ALLOW_PRIVATE_URLS', () => {
  it.each<[string, Record<string, string>, boolean]>([
    ['development mode allows them (the embedded default)', {}, true],
    ['production mode refuses them', PROD, false],
    ['production mode, allowed explicitly', { ...PROD, BATON_ALERTS_ALLOW_PRIVATE_URLS: 'true' }, true],
    ['development mode, refused explicitly', { BATON_ALERTS_ALLOW_PRIVATE_URLS: 'false' }, false],
  ])('%s', (_what, env, allowed) => {
    expect(loadConfig(env, '/tmp').alerts.allowPrivateUrls).toBe(allowed);
  });

  it('names the variable when its value is not a boolean', () => {
    expect(problems({ BATON_ALERTS_ALLOW_PRIVATE_URLS: 'maybe' }).join('; ')).toMatch(
      /^BATON_ALERTS_ALLOW_PRIVATE_URLS: /,
    );
  });
});
