import { randomBytes } from 'node:crypto';
import { type ServiceProcess, callApi, freePort, startServiceProcess } from '@baton/testing';
import { type FanoutPlatform, type FanoutResult, runFanoutOn } from './fanout.js';
import { pidsByCommandLine } from './machine.js';
import { BENCH_ENV, type BenchTarget, withQueryCount } from './platform.js';
import type { QueryCounter } from './queries.js';

export const SCHEDULER_REPLICAS = 2;

/** The service that owns a REST path (the edge's routing table, docs/deployment.md, for what the bench calls). */
export function owner(path: string): 'scheduler' | 'catalog' | 'tenancy' {
  const p = path.split('?')[0]!;
  if (/^\/api\/v1\/(runs|agents|backfills)(\/|$)/.test(p) || /^\/api\/v1\/jobs\/[^/]+\/(runs|backfills)$/.test(p)) {
    return 'scheduler';
  }
  if (/^\/api\/v1\/jobs(\/|$)/.test(p)) return 'catalog';
  return 'tenancy';
}

export interface TopologyOptions {
  schedulers?: number;
  /** Trigger replicas (none by default: fan-out starts its runs through the API). */
  triggers?: number;
  /** Count every service's database statements. */
  queries?: QueryCounter;
}

/** The topology, with what a fault run needs: its scheduler replicas, killed and started again on their ports. */
export interface KafkaTopology extends FanoutPlatform {
  schedulerCount: number;
  /** `kill -9` scheduler replica i (0-based). */
  killScheduler(i: number): Promise<void>;
  /** Starts replica i again on its HTTP and gRPC ports (resolves once it is ready). */
  restartScheduler(i: number): Promise<void>;
  /** Agents connected to each scheduler replica now, by the replicas' own logs (connected minus disconnected). */
  agentsByReplica(): Record<string, number>;
}

/**
 * The production topology on a fresh MariaDB database and a Kafka broker:
 * tenancy, catalog, `triggers` trigger replicas and `schedulers` scheduler
 * replicas (SCHEDULER_REPLICAS by default), each its own process, with a
 * topic prefix of their own. Agent process g is sent to scheduler replica g
 * (the other replicas follow as its failover list); REST calls go to the
 * owning service, run and agent calls to the scheduler replicas in turn.
 */
export async function startKafkaTopology(
  t: BenchTarget,
  brokers: string[],
  o: TopologyOptions = {},
): Promise<KafkaTopology> {
  const schedulerCount = o.schedulers ?? SCHEDULER_REPLICAS;
  if (!t.db.url) throw new Error('the Kafka topology needs a MySQL/MariaDB database');
  const token = `bat_key_${randomBytes(24).toString('hex')}`;
  const env: Record<string, string> = {
    ...BENCH_ENV,
    BATON_MODE: 'production',
    BATON_DATABASE_URL: t.db.url,
    BATON_KAFKA_BROKERS: brokers.join(','),
    BATON_KAFKA_TOPIC_PREFIX: `bench${randomBytes(4).toString('hex')}.`,
    BATON_BOOTSTRAP_TOKEN: token,
    // Production mode has no default secrets: the trigger service seals webhook secrets with this key.
    BATON_TRIGGER_SECRETS_KEY: randomBytes(32).toString('base64url'),
    BATON_SECRETS_KEY: `k1:${randomBytes(32).toString('base64url')}`,
    BATON_AUDIT_KEY: `a1:${randomBytes(32).toString('base64url')}`,
    // Agents dial the scheduler replicas on loopback: plaintext, said explicitly (production refuses it otherwise).
    BATON_GRPC_ALLOW_PLAINTEXT: 'true',
  };
  const services: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
  };
  try {
    // Tenancy first: it migrates the schema and creates the admin key.
    /** A service's environment, counting its statements when asked. */
    const envOf = (name: string, extra: Record<string, string> = {}) => {
      const e = { ...env, ...extra };
      return o.queries ? withQueryCount(e, o.queries.env(name)) : e;
    };
    const tenancy = await startServiceProcess({ service: 'tenancy', env: envOf('tenancy') });
    services.push(tenancy);
    const grpc: string[] = [];
    const httpPorts: number[] = [];
    for (let i = 0; i < schedulerCount; i++) {
      grpc.push(`127.0.0.1:${await freePort()}`);
      httpPorts.push(await freePort());
    }
    const startScheduler = (i: number) =>
      startServiceProcess({
        service: 'scheduler',
        name: `scheduler-${i + 1}`,
        httpPort: httpPorts[i],
        env: envOf(`scheduler-${i + 1}`, { BATON_GRPC_HOST: '127.0.0.1', BATON_GRPC_PORT: grpc[i]!.split(':')[1]! }),
      });
    const started = await Promise.allSettled([
      startServiceProcess({ service: 'catalog', env: envOf('catalog') }),
      ...Array.from({ length: o.triggers ?? 0 }, (_, i) =>
        startServiceProcess({ service: 'trigger', name: `trigger-${i + 1}`, env: envOf(`trigger-${i + 1}`) }),
      ),
      ...grpc.map((_, i) => startScheduler(i)),
    ]);
    for (const s of started) if (s.status === 'fulfilled') services.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const all = started.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value);
    const catalog = all[0]!;
    const triggers = all.slice(1, 1 + (o.triggers ?? 0));
    const schedulers = all.slice(1 + (o.triggers ?? 0));
    let next = 0;
    const base = (path: string) => {
      const o = owner(path);
      if (o === 'scheduler') return schedulers[next++ % schedulers.length]!.url;
      return (o === 'catalog' ? catalog : tenancy).url;
    };
    return {
      api: (method, path, body) => callApi(base(path), token, method, path, body),
      agentToken: async () => {
        const r = await callApi<{ token: string }>(tenancy.url, token, 'POST', '/api/v1/agent-tokens', {
          name: 'bench',
        });
        if (r.status !== 201) throw new Error(`agent token: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body.token;
      },
      agentServer: (g) => {
        const first = g % grpc.length;
        return [...grpc.slice(first), ...grpc.slice(0, first)].join(',');
      },
      cpu: {
        // Per replica: how evenly they share the run shows in the report.
        ...Object.fromEntries(schedulers.map((s, i) => [s.name, () => [schedulers[i]!.proc.pid!]])),
        ...(triggers.length > 0 ? { triggers: () => triggers.map((x) => x.proc.pid!) } : {}),
        'catalog+tenancy': () => [catalog.proc.pid!, tenancy.proc.pid!],
        kafka: () => pidsByCommandLine('java', 'kafka.Kafka'),
      },
      memory: {
        ...Object.fromEntries(schedulers.map((s, i) => [s.name, () => [schedulers[i]!.proc.pid!]])),
        ...Object.fromEntries(triggers.map((x) => [x.name, () => [x.proc.pid!]])),
        catalog: () => [catalog.proc.pid!],
        tenancy: () => [tenancy.proc.pid!],
      },
      schedulerCount,
      killScheduler: async (i) => {
        await schedulers[i]!.kill('SIGKILL');
      },
      restartScheduler: async (i) => {
        const next = await startScheduler(i);
        services[services.indexOf(schedulers[i]!)] = next;
        schedulers[i] = next;
      },
      agentsByReplica: () =>
        Object.fromEntries(
          schedulers.map((s) => {
            const out = s.output();
            const count = (msg: string) => out.split(msg).length - 1;
            return [s.name, count('agent connected') - count('agent disconnected')];
          }),
        ),
      tail: () =>
        services.map((s) => `[${s.name}]\n${s.output().trimEnd().split('\n').slice(-8).join('\n')}`).join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Fan-out on MariaDB + Kafka with SCHEDULER_REPLICAS scheduler replicas (scenario fanout-kafka). */
export function runFanoutKafka(
  brokers: string[],
  n: number,
  timeoutMs: number,
  log: (s: string) => void,
): Promise<FanoutResult> {
  return runFanoutOn('mariadb', n, timeoutMs, log, (t) => startKafkaTopology(t, brokers), 'kafka');
}
