import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  type RawAgent,
  type TestDatabase,
  createTestCa,
  createTestDatabase,
  queryPlatformDatabase,
  rawAgent,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  tlsCredentials,
  waitFor,
  welcomed,
  writePemFiles,
} from '@baton/testing';

const kinds = await testDatabaseKinds();
const UNAVAILABLE = 14;
const PERMISSION_DENIED = 7;

/** The certificates of these tests: one CA the gateway trusts, one it does not, PEM texts and their files. */
async function certificates(dir: string) {
  const ca = await createTestCa('Baton Test CA');
  const rogue = await createTestCa('Rogue CA');
  const server = await ca.server();
  const pem = {
    ca: ca.cert,
    rogueCa: rogue.cert,
    server,
    agent: await ca.client('tls-agent'),
    victim: await ca.client('victim'),
    intruder: await ca.client('intruder', ['intruder.agents.test']),
    rogue: await rogue.client('victim'),
    local: await ca.client('local'),
  };
  const files = writePemFiles(dir, {
    'ca.pem': pem.ca,
    'server.pem': server.cert,
    'server-key.pem': server.key,
    'agent.pem': pem.agent.cert,
    'agent-key.pem': pem.agent.key,
    'local.pem': pem.local.cert,
    'local-key.pem': pem.local.key,
  });
  return { pem, files };
}

describe('the agent gateway over TLS and mutual TLS', () => {
  let dir: string;
  let certs: Awaited<ReturnType<typeof certificates>>;
  const open: RawAgent[] = [];
  const procs: AgentProcess[] = [];
  const platforms: Platform[] = [];
  const raw = (...args: Parameters<typeof rawAgent>) => {
    const a = rawAgent(...args);
    open.push(a);
    return a;
  };
  const tlsEnv = () => ({
    BATON_GRPC_TLS_CERT: certs.files['server.pem'],
    BATON_GRPC_TLS_KEY: certs.files['server-key.pem'],
  });
  const mtlsEnv = () => ({ ...tlsEnv(), BATON_GRPC_TLS_CLIENT_CA: certs.files['ca.pem'] });
  const start = async (opts: Parameters<typeof startPlatform>[0]) => {
    const p = await startPlatform(opts);
    platforms.push(p);
    return p;
  };
  /** Runs a one-task shell job on the agent with label pool=<pool>; resolves with the finished run. */
  const runOn = async (p: Platform, pool: string) => {
    const name = `tls-${pool}`;
    const put = await p.api('PUT', `/api/v1/jobs/${name}`, {
      name,
      tasks: [{ key: 'only', type: 'shell', command: 'echo over-tls', agentSelector: { pool } }],
    });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    const id = (await p.api('POST', `/api/v1/jobs/${name}/runs`, {})).body.id as string;
    return waitFor(`run ${id} on ${pool} to finish`, async () => {
      const r = (await p.api('GET', `/api/v1/runs/${id}`)).body;
      return ['succeeded', 'failed'].includes(r.state) ? r : null;
    });
  };
  const refusal = (a: RawAgent) => waitFor('the refusal', async () => a.error);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-tls-'));
    certs = await certificates(dir);
  });
  afterAll(async () => {
    for (const a of open) a.close();
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(platforms.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('TLS (sqlite)', () => {
    let p: Platform;
    beforeAll(async () => {
      p = await start({ databaseUrl: null, env: tlsEnv() });
    });

    it('lets `baton agent --tls-ca` connect and run a task', async () => {
      const agent = startAgentProcess({
        server: p.grpc,
        token: await p.agentToken(),
        name: 'tls-agent',
        labels: 'pool=tls-agent',
        workDir: join(dir, 'work-tls'),
        args: ['--tls-ca', certs.files['ca.pem']],
      });
      procs.push(agent);
      const run = await runOn(p, 'tls-agent');
      expect(run.state, agent.output()).toBe('succeeded');
      expect(p.output()).toMatch(/agent gateway listening.*tls/);
    });

    it('refuses a plaintext client, and a client that trusts another CA', async () => {
      const token = await p.agentToken();
      const plain = raw(p.grpc, token, 'plain');
      expect((await refusal(plain)).code).toBe(UNAVAILABLE);
      const wrongTrust = raw(p.grpc, token, 'wrong-trust', {}, tlsCredentials({ ca: certs.pem.rogueCa }));
      expect((await refusal(wrongTrust)).code).toBe(UNAVAILABLE);
      expect([...plain.of('welcome'), ...wrongTrust.of('welcome')]).toEqual([]);
      // The same raw client trusting the right CA is welcomed: the refusals were the transport's.
      const right = raw(p.grpc, token, 'right-trust', {}, tlsCredentials({ ca: certs.pem.ca }));
      await welcomed(right);
    });

    it('names the flag of a missing file in `baton agent`', async () => {
      const agent = startAgentProcess({
        server: p.grpc,
        token: 'unused',
        name: 'no-file',
        workDir: join(dir, 'work-no-file'),
        args: ['--tls-ca', join(dir, 'missing-ca.pem'), '--tls-cert', certs.files['agent.pem']],
      });
      procs.push(agent);
      const code = await new Promise<number | null>((r) => agent.proc.once('exit', (c) => r(c)));
      expect(code).toBe(2);
      expect(agent.output()).toContain('--tls-key: required with --tls-cert');
      expect(agent.output()).toMatch(/--tls-ca: cannot read .*missing-ca\.pem \(ENOENT\)/);
    });
  });

  describe.each(kinds)('mutual TLS (%s)', (kind) => {
    let p: Platform;
    let db: TestDatabase;
    const sqliteOnly = kind === 'sqlite';
    beforeAll(async () => {
      db = await createTestDatabase(kind);
      p = await start({ databaseUrl: db.url, env: mtlsEnv() });
    });
    afterAll(async () => {
      await db?.drop();
    });
    const mtls = (who: { cert: string; key: string }) =>
      tlsCredentials({ ca: certs.pem.ca, cert: who.cert, key: who.key });
    /** The detail of the platform's audit records of an action, behind the API (which does not show it). */
    const auditDetails = async (action: string): Promise<{ status: number; detail: Record<string, unknown> }[]> => {
      const sql = `SELECT status, detail FROM audit_events WHERE action = '${action}' ORDER BY seq`;
      const rows = await queryPlatformDatabase<{ status: number; detail: string }>(db, p.dataDir, sql);
      return rows.map((r) => ({ status: Number(r.status), detail: JSON.parse(r.detail) as Record<string, unknown> }));
    };

    it.runIf(sqliteOnly)('lets `baton agent` with a client certificate issued to its name run a task', async () => {
      const agent = startAgentProcess({
        server: p.grpc,
        token: await p.agentToken(),
        name: 'tls-agent',
        labels: 'pool=tls-agent',
        workDir: join(dir, `work-mtls-${kind}`),
        env: {
          BATON_AGENT_TLS_CA: certs.files['ca.pem'],
          BATON_AGENT_TLS_CERT: certs.files['agent.pem'],
          BATON_AGENT_TLS_KEY: certs.files['agent-key.pem'],
        },
      });
      procs.push(agent);
      const run = await runOn(p, 'tls-agent');
      expect(run.state, agent.output()).toBe('succeeded');
      expect(agent.output()).toContain('tls=mutual');
    });

    it.runIf(sqliteOnly)(
      'refuses a client without a certificate, and one whose certificate another CA signed',
      async () => {
        const token = await p.agentToken();
        const none = raw(p.grpc, token, 'victim', {}, tlsCredentials({ ca: certs.pem.ca }));
        const rogue = raw(p.grpc, token, 'victim', {}, mtls(certs.pem.rogue));
        expect((await refusal(none)).code).toBe(UNAVAILABLE);
        expect((await refusal(rogue)).code).toBe(UNAVAILABLE);
        expect([...none.of('welcome'), ...rogue.of('welcome')]).toEqual([]);
      },
    );

    it('refuses a certificate issued to another agent with PERMISSION_DENIED, audited; the named agent is untouched', async () => {
      const victimToken = await p.agentToken();
      const victim = raw(p.grpc, victimToken, 'victim', {}, mtls(certs.pem.victim));
      const w = await welcomed(victim);

      // Another token of the tenant, with a valid certificate of its own, claims the victim's name.
      const intruder = raw(p.grpc, await p.agentToken(), 'victim', { slots: 8 }, mtls(certs.pem.intruder));
      const err = await refusal(intruder);
      expect(err.code).toBe(PERMISSION_DENIED);
      expect(err.details).toBe(
        'agent "victim" refused: the client certificate is issued to "intruder.agents.test", not to "victim"',
      );
      expect(intruder.of('welcome')).toEqual([]);

      await new Promise((r) => setTimeout(r, 500));
      expect(victim.error).toBeNull();
      const agents = (await p.api('GET', '/api/v1/agents')).body.items as {
        id: string;
        name: string;
        status: string;
        slots: number;
      }[];
      expect(agents.filter((a) => a.name === 'victim').map((a) => [a.id, a.status, a.slots])).toEqual([
        [w.agentId, 'connected', 1],
      ]);
      await waitFor('the audited refusal', async () =>
        (await auditDetails('agent.connect')).some(
          (r) =>
            r.status === 403 &&
            r.detail.reason === 'client certificate of another agent' &&
            String(r.detail.detail).includes('"intruder.agents.test"'),
        ),
      );
    });
  });

  it('runs the local agent of `baton standalone` under mutual TLS with BATON_AGENT_TLS_*', async () => {
    const p = await start({
      databaseUrl: null,
      localAgent: true,
      env: {
        ...mtlsEnv(),
        BATON_LOCAL_AGENT_LABELS: 'pool=local',
        BATON_AGENT_TLS_CA: certs.files['ca.pem'],
        BATON_AGENT_TLS_CERT: certs.files['local.pem'],
        BATON_AGENT_TLS_KEY: certs.files['local-key.pem'],
      },
    });
    expect((await runOn(p, 'local')).state, p.output()).toBe('succeeded');
  });

  it('refuses to start standalone under TLS when the local agent has no CA, naming the variable', async () => {
    const err = await start({ databaseUrl: null, localAgent: true, env: tlsEnv() }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('BATON_AGENT_TLS_CA: the gateway uses TLS');
  });

  it.runIf(kinds.includes('mariadb'))(
    'refuses to start a plaintext gateway in production mode unless BATON_GRPC_ALLOW_PLAINTEXT=true',
    async () => {
      const db = await createTestDatabase('mariadb');
      const prod = {
        BATON_MODE: 'production',
        BATON_TRIGGER_SECRETS_KEY: 'A'.repeat(21) + 'b'.repeat(22),
        BATON_SECRETS_KEY: `k1:${'A'.repeat(21)}${'b'.repeat(22)}`,
        BATON_AUDIT_KEY: `a1:${'A'.repeat(21)}${'b'.repeat(22)}`,
      };
      try {
        const err = await start({ databaseUrl: db.url, env: prod }).catch((e: Error) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toContain(
          'production mode refuses a plaintext agent gateway: set BATON_GRPC_TLS_CERT and BATON_GRPC_TLS_KEY',
        );
        const allowed = await start({ databaseUrl: db.url, env: { ...prod, BATON_GRPC_ALLOW_PLAINTEXT: 'true' } });
        expect(allowed.output()).toMatch(/agent gateway listening.*plaintext/);
      } finally {
        await db.drop();
      }
    },
  );
});
