import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@baton/config';
import { createTestCa, writePemFiles } from '@baton/testing';
import { gatewayTransport } from './gateway-credentials.js';

const PROD = { BATON_MODE: 'production', BATON_DATABASE_URL: 'mysql://root@127.0.0.1:3306/baton' };

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    gatewayTransport(loadConfig(env, '/tmp'));
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
};

describe('the gateway transport', () => {
  let files: Record<'ca' | 'cert' | 'key' | 'otherKey', string>;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-gw-tls-'));
    const ca = await createTestCa();
    const [server, other] = [await ca.server(), await ca.server()];
    files = writePemFiles(dir, { ca: ca.cert, cert: server.cert, key: server.key, otherKey: other.key });
    writeFileSync(join(dir, 'not-pem'), 'hello');
  });
  const tls = () => ({ BATON_GRPC_TLS_CERT: files.cert, BATON_GRPC_TLS_KEY: files.key });

  it.each<[string, () => Record<string, string>, string | RegExp]>([
    ['development without TLS: plaintext', () => ({}), 'plaintext'],
    [
      'production without TLS: refused, naming what to set',
      () => PROD,
      /^BATON_GRPC_TLS_CERT: production mode refuses a plaintext agent gateway: set BATON_GRPC_TLS_CERT and BATON_GRPC_TLS_KEY .*BATON_GRPC_ALLOW_PLAINTEXT=true/,
    ],
    ['production allowing plaintext', () => ({ ...PROD, BATON_GRPC_ALLOW_PLAINTEXT: 'true' }), 'plaintext'],
    [
      'production allowing it with false',
      () => ({ ...PROD, BATON_GRPC_ALLOW_PLAINTEXT: 'false' }),
      /refuses a plaintext/,
    ],
    ['production with TLS', () => ({ ...PROD, ...tls() }), 'tls'],
    ['mutual TLS', () => ({ ...tls(), BATON_GRPC_TLS_CLIENT_CA: files.ca }), 'mtls'],
    [
      'a missing certificate file',
      () => ({ ...tls(), BATON_GRPC_TLS_CERT: join(dir, 'nope.pem') }),
      /^BATON_GRPC_TLS_CERT: cannot read .*nope\.pem \(ENOENT\)$/,
    ],
    [
      'a client CA that is no PEM',
      () => ({ ...tls(), BATON_GRPC_TLS_CLIENT_CA: join(dir, 'not-pem') }),
      /^BATON_GRPC_TLS_CLIENT_CA: .*not-pem holds no PEM block/,
    ],
    [
      'a key of another certificate',
      () => ({ ...tls(), BATON_GRPC_TLS_KEY: files.otherKey }),
      /^BATON_GRPC_TLS_KEY: the certificate and key are not a usable pair/,
    ],
    [
      'a certificate without its key',
      () => ({ BATON_GRPC_TLS_CERT: files.cert }),
      /^BATON_GRPC_TLS_KEY: required with/,
    ],
    [
      'a client CA without TLS',
      () => ({ BATON_GRPC_TLS_CLIENT_CA: files.ca }),
      /^BATON_GRPC_TLS_CLIENT_CA: mutual TLS needs TLS/,
    ],
  ])('%s', (_what, env, want) => {
    if (typeof want === 'string') {
      expect(problemsOf(env())).toEqual([]);
      expect(gatewayTransport(loadConfig(env(), '/tmp')).security).toBe(want);
    } else expect(problemsOf(env())).toEqual([expect.stringMatching(want)]);
  });
});
