import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientDuplexStream, credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMessage, AgentServiceClient, type Assign, Result_Status, type ServerMessage } from '@baton/proto';
import {
  type AgentProcess,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

/** A hand-driven agent: speaks the protocol but acknowledges nothing unless told to. */
function rawAgent(server: string, token: string, name: string) {
  const client = new AgentServiceClient(server, credentials.createInsecure());
  const call: ClientDuplexStream<AgentMessage, ServerMessage> = client.connect();
  const received: ServerMessage[] = [];
  call.on('data', (m: ServerMessage) => received.push(m));
  call.on('error', () => undefined);
  call.write({
    msg: {
      $case: 'hello',
      value: {
        token,
        name,
        labels: { raw: 'yes' },
        slots: 1,
        cpuMillis: 0,
        memoryMb: 0,
        version: 'raw',
        runningAttemptIds: [],
      },
    },
  });
  return {
    received,
    assigns: () => received.flatMap((m) => (m.msg?.$case === 'assign' ? [m.msg.value as Assign] : [])),
    send: (m: AgentMessage) => call.write(m),
    close: () => {
      call.end();
      client.close();
    },
  };
}

describe.each(kinds)('agent protocol edge cases (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let real: AgentProcess | null = null;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, env: { BATON_ACK_TIMEOUT_MS: '800' } });
  });
  afterAll(async () => {
    await real?.stop();
    await platform?.stop();
    await db?.drop();
  });

  it('re-queues an unacknowledged assignment without using a try, and records a late result without applying it', async () => {
    const silentToken = await platform.agentToken();
    const raw = rawAgent(platform.grpc, silentToken, 'silent');
    await waitFor('Welcome', async () => raw.received.some((m) => m.msg?.$case === 'welcome'));
    await platform.api('PUT', '/api/v1/jobs/acked', {
      name: 'acked',
      tasks: [{ key: 'only', type: 'shell', command: 'echo real', agentSelector: { raw: 'yes' } }],
    });
    const id = (await platform.api('POST', '/api/v1/jobs/acked/runs', {})).body.id as string;
    const assign = await waitFor('the assignment', async () => raw.assigns()[0]);
    expect(assign.idempotencyKey).toBe(`${id}:only`);
    // Never acknowledged: back to the queue, no try used.
    const expired = await waitFor('the assignment to expire', async () => {
      const r = (await platform.api('GET', `/api/v1/runs/${id}`)).body;
      return r.tasks[0].attempts[0]?.state === 'expired' ? r : null;
    });
    expect(expired.tasks[0].attemptsUsed).toBe(0);
    raw.close();

    real = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name: 'real',
      labels: 'raw=yes',
      workDir: mkdtempSync(join(tmpdir(), 'baton-real-')),
    });
    const done = await waitFor('the run on the real agent', async () => {
      const r = (await platform.api('GET', `/api/v1/runs/${id}`)).body;
      return r.state === 'succeeded' ? r : null;
    });
    // The silent agent may have been offered the task again before it left: every offer expired, none used a try.
    const attempts = done.tasks[0].attempts.map((a: { number: number; state: string; agent: string }) => [
      a.number,
      a.state,
      a.agent,
    ]);
    expect(attempts[attempts.length - 1]).toEqual([1, 'succeeded', 'real']);
    for (const a of attempts.slice(0, -1)) expect(a).toEqual([1, 'expired', 'silent']);

    // The silent agent comes back (with its own token: the name is bound to it) and reports the superseded
    // attempt: recorded, ignored.
    const late = rawAgent(platform.grpc, silentToken, 'silent');
    await waitFor('Welcome again', async () => late.received.some((m) => m.msg?.$case === 'welcome'));
    late.send({
      msg: {
        $case: 'result',
        value: {
          attemptId: assign.attemptId,
          status: Result_Status.FAILED,
          exitCode: 42,
          outputJson: '',
          error: 'late',
          startedAtMs: Date.now(),
          finishedAtMs: Date.now(),
          cpuMillis: 0,
        },
      },
    });
    await waitFor('the ResultAck', async () => late.received.some((m) => m.msg?.$case === 'resultAck'));
    late.close();
    const after = (await platform.api('GET', `/api/v1/runs/${id}`)).body;
    expect(after.state).toBe('succeeded');
    expect(after.tasks[0].state).toBe('succeeded');
    expect(after.tasks[0].attempts[0].state).toBe('expired');
    expect(after.tasks[0].attempts[0].lateResult).toMatchObject({ state: 'failed', exitCode: 42 });
  });

  it('closes the stream of an agent whose token is revoked', async () => {
    const tokenRes = await platform.api('POST', '/api/v1/agent-tokens', { name: 'doomed' });
    const raw = rawAgent(platform.grpc, tokenRes.body.token, 'doomed');
    await waitFor('Welcome', async () => raw.received.some((m) => m.msg?.$case === 'welcome'));
    expect((await platform.api('DELETE', `/api/v1/agent-tokens/${tokenRes.body.id}`)).status).toBe(200);
    await waitFor('the agent to be disconnected', async () => {
      const r = await platform.api('GET', '/api/v1/agents');
      return r.body.items.find((a: { name: string }) => a.name === 'doomed')?.status === 'disconnected';
    });
    raw.close();
  });
});
