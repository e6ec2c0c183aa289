import { randomBytes } from 'node:crypto';
import { type ServiceProcess, callApi, freePort, startServiceProcess } from '@baton/testing';
import { type FanoutPlatform, type FanoutResult, runFanoutOn } from './fanout.js';
import { pidsByCommandLine } from './machine.js';
import { BENCH_ENV, type BenchTarget } from './platform.js';

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

/**
 * The production topology on a fresh MariaDB database and a Kafka broker:
 * tenancy, catalog and SCHEDULER_REPLICAS scheduler replicas, each its own
 * process, with a topic prefix of their own. Agent process g is sent to
 * scheduler replica g (the other replicas follow as its failover list); REST
 * calls go to the owning service, run and agent calls to the scheduler
 * replicas in turn.
 */
export async function startKafkaTopology(t: BenchTarget, brokers: string[]): Promise<FanoutPlatform> {
  if (!t.db.url) throw new Error('the Kafka topology needs a MySQL/MariaDB database');
  const token = `bat_key_${randomBytes(24).toString('hex')}`;
  const env: Record<string, string> = {
    ...BENCH_ENV,
    BATON_MODE: 'production',
    BATON_DATABASE_URL: t.db.url,
    BATON_KAFKA_BROKERS: brokers.join(','),
    BATON_KAFKA_TOPIC_PREFIX: `bench${randomBytes(4).toString('hex')}.`,
    BATON_BOOTSTRAP_TOKEN: token,
  };
  const services: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
  };
  try {
    // Tenancy first: it migrates the schema and creates the admin key.
    const tenancy = await startServiceProcess({ service: 'tenancy', env });
    services.push(tenancy);
    const grpc: string[] = [];
    for (let i = 0; i < SCHEDULER_REPLICAS; i++) grpc.push(`127.0.0.1:${await freePort()}`);
    const started = await Promise.allSettled([
      startServiceProcess({ service: 'catalog', env }),
      ...grpc.map((addr, i) =>
        startServiceProcess({
          service: 'scheduler',
          name: `scheduler-${i + 1}`,
          env: { ...env, BATON_GRPC_HOST: '127.0.0.1', BATON_GRPC_PORT: addr.split(':')[1]! },
        }),
      ),
    ]);
    for (const s of started) if (s.status === 'fulfilled') services.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [catalog, ...schedulers] = started.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value) as [
      ServiceProcess,
      ...ServiceProcess[],
    ];
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
        // Per replica: how evenly the two share the run shows in the report.
        ...Object.fromEntries(schedulers.map((s) => [s.name, () => [s.proc.pid!]])),
        'catalog+tenancy': () => [catalog.proc.pid!, tenancy.proc.pid!],
        kafka: () => pidsByCommandLine('java', 'kafka.Kafka'),
      },
      memory: {
        ...Object.fromEntries(schedulers.map((s) => [s.name, () => [s.proc.pid!]])),
        catalog: () => [catalog.proc.pid!],
        tenancy: () => [tenancy.proc.pid!],
      },
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
