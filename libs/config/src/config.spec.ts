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
