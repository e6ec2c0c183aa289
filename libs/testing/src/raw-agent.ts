import { join } from 'node:path';
import {
  type ChannelCredentials,
  type ClientDuplexStream,
  type ServiceError,
  credentials,
  loadPackageDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ROOT, waitFor } from './processes.js';

/*
 * An agent written from proto/ alone: the client is built from the .proto at
 * test time (proto-loader), not from the project's generated code or agent, so
 * it can send what the generated types would never let us write.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw protocol messages
export type Msg = Record<string, any>;

export interface RawAgent {
  received: Msg[];
  error: ServiceError | null;
  /** The messages of one kind received so far (`welcome`, `assign`, `cancel`, `resultAck`, ...). */
  of(kind: string): Msg[];
  send(m: Msg): void;
  /** Stops heartbeats with the stream left open: a frozen process, a half-open connection. */
  silence(): void;
  close(): void;
}

type ServiceCtor = new (
  address: string,
  creds: ChannelCredentials,
) => {
  Connect(): ClientDuplexStream<Msg, Msg>;
  close(): void;
};

let service: ServiceCtor | null = null;

function agentService(): ServiceCtor {
  if (service) return service;
  const definition = loadSync(join(ROOT, 'proto/baton/agent/v1/agent.proto'), {
    longs: Number,
    enums: Number,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    baton: { agent: { v1: { AgentService: ServiceCtor } } };
  };
  service = pkg.baton.agent.v1.AgentService;
  return service;
}

/** TLS credentials for a raw agent from PEM texts: `ca` alone for TLS, with `cert` and `key` for mutual TLS. */
export function tlsCredentials(tls: { ca?: string; cert?: string; key?: string }): ChannelCredentials {
  const pem = (s?: string) => (s === undefined ? null : Buffer.from(s));
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

/**
 * Connects and says Hello (with `hello` overriding the defaults). Like a real
 * agent it heartbeats every 150 ms naming the attempts it acknowledged and
 * whose results were not accepted yet; it never runs anything. `creds`:
 * plaintext unless given (see `tlsCredentials`).
 */
export function rawAgent(
  server: string,
  token: string,
  name: string,
  hello: Msg = {},
  creds: ChannelCredentials = credentials.createInsecure(),
): RawAgent {
  const Service = agentService();
  const client = new Service(server, creds);
  const call = client.Connect();
  const running = new Set<string>();
  const beat = setInterval(
    () => call.write({ heartbeat: { runningAttemptIds: [...running], freeSlots: 0, load: 0 } }),
    150,
  );
  const agent: RawAgent = {
    received: [],
    error: null,
    of: (kind) => agent.received.filter((m) => m.msg === kind).map((m) => m[kind] as Msg),
    send: (m) => {
      const ack = m.ack as { attemptId: string } | undefined;
      if (ack) running.add(ack.attemptId);
      call.write(m);
    },
    silence: () => clearInterval(beat),
    close: () => {
      clearInterval(beat);
      call.end();
      client.close();
    },
  };
  call.on('data', (m: Msg) => {
    agent.received.push(m);
    const answer = m.resultAck as { attemptId: string; accepted: boolean } | undefined;
    if (m.msg === 'resultAck' && answer?.accepted) running.delete(answer.attemptId);
  });
  call.on('error', (e: ServiceError) => {
    agent.error = e;
    clearInterval(beat);
  });
  call.write({
    hello: {
      token,
      name,
      labels: { pool: name },
      slots: 1,
      cpuMillis: 0,
      memoryMb: 0,
      version: 'raw',
      runningAttemptIds: [],
      ...hello,
    },
  });
  return agent;
}

export const welcomed = (a: RawAgent) => waitFor('Welcome', async () => a.of('welcome')[0]);

/** The n-th Assign the agent received (1-based). */
export const assigned = (a: RawAgent, n = 1) => waitFor(`Assign #${n}`, async () => a.of('assign')[n - 1]);

/** A Result message (SUCCEEDED unless `over` says otherwise). */
export const resultOf = (attemptId: string, over: Msg = {}): Msg => ({
  result: {
    attemptId,
    status: 1,
    exitCode: 0,
    outputJson: '',
    error: '',
    startedAtMs: Date.now() - 5,
    finishedAtMs: Date.now(),
    ...over,
  },
});
