import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  type TestDatabase,
  assigned,
  createTestDatabase,
  rawAgent,
  resultOf as result,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  waitFor,
  welcomed,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

describe.each(kinds)('an agent written from the .proto alone cannot disturb others (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let real: AgentProcess | null = null;
  let acme: string;
  const asAcme = () => ({ authorization: `Bearer ${acme}` });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      env: { BATON_ACK_TIMEOUT_MS: '1000', BATON_LEASE_TTL_MS: '1500', BATON_HEARTBEAT_INTERVAL_MS: '200' },
    });
    acme = (await platform.api('POST', '/api/v1/tenants', { name: 'acme' })).body.adminToken as string;
  });
  afterAll(async () => {
    await real?.stop();
    await platform?.stop();
    await db?.drop();
  });

  const job = async (name: string, pool: string, headers?: Record<string, string>) => {
    const put = await platform.api(
      'PUT',
      `/api/v1/jobs/${name}`,
      { name, tasks: [{ key: 'only', type: 'noop', agentSelector: { pool } }] },
      headers,
    );
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    const run = await platform.api('POST', `/api/v1/jobs/${name}/runs`, {}, headers);
    return run.body.id as string;
  };
  const runOf = async (id: string, headers?: Record<string, string>) =>
    (await platform.api('GET', `/api/v1/runs/${id}`, undefined, headers)).body;

  it('rejects bad Hellos with the field named', async () => {
    const token = await platform.agentToken();
    for (const [hello, field] of [
      [{ slots: -1 }, 'hello.slots'],
      [{ slots: 0 }, 'hello.slots'],
      [{ name: '../etc' }, 'hello.name'],
      [{ runningAttemptIds: ['not-an-id'] }, 'hello.running_attempt_ids[0]'],
    ] as const) {
      const a = rawAgent(platform.grpc, token, 'bad-hello', hello);
      const err = await waitFor('the stream error', async () => a.error);
      expect(err.code).toBe(3); // INVALID_ARGUMENT
      expect(err.details).toContain(field);
      a.close();
    }
  });

  it("answers one agent's bad messages to it alone, while other agents' and tenants' ACKs and results of the same moment apply", async () => {
    const evil = rawAgent(platform.grpc, await platform.agentToken(), 'evil');
    const good = rawAgent(platform.grpc, await platform.agentToken(), 'good');
    const other = rawAgent(
      platform.grpc,
      (await platform.api('POST', '/api/v1/agent-tokens', { name: 'acme-agent' }, asAcme())).body.token as string,
      'other',
    );
    await Promise.all([welcomed(evil), welcomed(good), welcomed(other)]);
    expect(evil.of('welcome')[0]!.ackTimeoutMs).toBe(1000);

    const evilRun = await job('evil-job', 'evil');
    const goodRun = await job('good-job', 'good');
    const otherRun = await job('acme-job', 'other', asAcme());
    const [e, g, o] = await Promise.all([assigned(evil), assigned(good), assigned(other)]);

    // The same moment: two ACKs of healthy agents (two tenants) and a barrage of bad messages.
    good.send({ ack: { attemptId: g!.attemptId } });
    other.send({ ack: { attemptId: o!.attemptId } });
    evil.send({ ack: { attemptId: e!.attemptId } });
    evil.send(result(e!.attemptId, { status: 99 }));
    evil.send(result(e!.attemptId, { outputJson: 'not json' }));
    evil.send(result(g!.attemptId)); // the same tenant's attempt of another agent
    evil.send(result(o!.attemptId)); // another tenant's attempt
    evil.send({ ack: { attemptId: g!.attemptId } });

    const acks = await waitFor('four ResultAcks', async () => {
      const r = evil.of('resultAck');
      return r.length >= 4 ? r : null;
    });
    const why = (id: string, n = 0) => acks.filter((a) => a.attemptId === id)[n]!;
    expect(why(e!.attemptId)).toMatchObject({ accepted: false, rejection: 4 });
    expect(why(e!.attemptId).detail).toContain('result.status');
    expect(why(e!.attemptId, 1)).toMatchObject({ accepted: false, rejection: 4 });
    expect(why(e!.attemptId, 1).detail).toContain('result.output_json');
    expect(why(g!.attemptId)).toMatchObject({ accepted: false, rejection: 2 }); // FOREIGN
    expect(why(o!.attemptId)).toMatchObject({ accepted: false, rejection: 3 }); // UNKNOWN_ATTEMPT
    // An ACK of someone else's attempt is answered with Cancel, to the sender only.
    await waitFor('the Cancel', async () => evil.of('cancel').some((c) => c.attemptId === g!.attemptId));
    expect(good.of('cancel')).toEqual([]);

    // The healthy agents' attempts started (their ACKs were not lost) and finish normally.
    good.send(result(g!.attemptId, { outputJson: '{"ok":true}' }));
    other.send(result(o!.attemptId));
    await waitFor('the good run', async () => (await runOf(goodRun)).state === 'succeeded');
    await waitFor('the other tenant run', async () => (await runOf(otherRun, asAcme())).state === 'succeeded');
    for (const r of [await runOf(goodRun), await runOf(otherRun, asAcme())]) {
      expect(r.tasks[0].attempts.map((a: { state: string }) => a.state)).toEqual(['succeeded']);
      expect(r.tasks[0].attemptsUsed).toBe(1);
    }
    expect((await runOf(goodRun)).tasks[0].output).toEqual({ ok: true });
    // Nothing the evil agent said moved its own task either: it is still running its one attempt.
    expect((await runOf(evilRun)).tasks[0].state).toBe('running');

    // Malformed messages other than results end the sender's stream with the field named.
    evil.send({ heartbeat: { runningAttemptIds: [], freeSlots: -4, load: 0 } });
    const err = await waitFor('the stream error', async () => evil.error);
    expect(err.code).toBe(3);
    expect(err.details).toContain('heartbeat.free_slots');
    for (const a of [evil, good, other]) a.close();
  });

  it('gives no new work to a silent agent; its attempt is lost at the end of its lease and retried on a live agent', async () => {
    const put = await platform.api('PUT', '/api/v1/jobs/frozen-job', {
      name: 'frozen-job',
      tasks: [
        {
          key: 'only',
          type: 'noop',
          idempotent: true,
          retry: { maxAttempts: 3, backoff: 'immediate' },
          agentSelector: { pool: 'shared' },
        },
      ],
    });
    expect(put.status).toBeLessThan(300);
    const frozen = rawAgent(platform.grpc, await platform.agentToken(), 'frozen', {
      labels: { pool: 'shared' },
      slots: 4,
    });
    await welcomed(frozen);
    const id = (await platform.api('POST', '/api/v1/jobs/frozen-job/runs', {})).body.id as string;
    const first = await assigned(frozen);
    // It takes the task, then goes silent with its stream open (a frozen process, a half-open connection).
    frozen.send({ ack: { attemptId: first!.attemptId } });
    frozen.silence();
    await waitFor('the attempt to run', async () => (await runOf(id)).tasks[0].state === 'running');
    real = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name: 'alive',
      labels: 'pool=shared',
      workDir: mkdtempSync(join(tmpdir(), 'baton-alive-')),
    });
    const done = await waitFor(
      'the retry on the live agent',
      async () => {
        const r = await runOf(id);
        return r.state === 'succeeded' ? r : null;
      },
      20_000,
    );
    const attempts = done.tasks[0].attempts.map((a: { state: string; agent: string }) => [a.state, a.agent]);
    expect(attempts[0]).toEqual(['lost', 'frozen']);
    expect(attempts[attempts.length - 1]).toEqual(['succeeded', 'alive']);
    // Three free slots, yet the silent agent was never offered the retry.
    expect(frozen.of('assign')).toHaveLength(1);
    frozen.close();
    await real.stop();
    real = null;
  });

  it('never expires an ACK that arrived while the server was stalled, and answers a late ACK with Cancel', async () => {
    const agent = rawAgent(platform.grpc, await platform.agentToken(), 'stalled');
    await welcomed(agent);
    const id = await job('stall-job', 'stalled');
    const offer = await assigned(agent);
    // The host stalls past the ACK timeout; the agent's ACK waits in the socket meanwhile.
    process.kill(platform.proc.pid!, 'SIGSTOP');
    agent.send({ ack: { attemptId: offer!.attemptId } });
    await new Promise((r) => setTimeout(r, 3_000));
    process.kill(platform.proc.pid!, 'SIGCONT');
    await waitFor('the attempt to run', async () => (await runOf(id)).tasks[0].state === 'running');
    await new Promise((r) => setTimeout(r, 2_500));
    const r = await runOf(id);
    expect(r.tasks[0].attempts.map((a: { state: string }) => a.state)).toEqual(['running']);
    expect(agent.of('cancel')).toEqual([]);
    expect(agent.of('assign')).toHaveLength(1);
    agent.send(result(offer!.attemptId));
    await waitFor('the run', async () => (await runOf(id)).state === 'succeeded');

    // An offer that really was not acknowledged in time expires; its late ACK gets Cancel.
    const id2 = await job('late-job', 'stalled');
    const late = await waitFor('the second offer', async () => agent.of('assign')[1]);
    await waitFor(
      'the offer to expire',
      async () => (await runOf(id2)).tasks[0].attempts[0]?.state === 'expired',
      10_000,
    );
    agent.send({ ack: { attemptId: late!.attemptId } });
    const cancel = await waitFor('the Cancel', async () =>
      agent.of('cancel').find((c) => c.attemptId === late!.attemptId),
    );
    expect(cancel!.reason).toContain('expired');
    // The task was offered again with a new attempt and no try used.
    const again = await waitFor('the new offer', async () => agent.of('assign')[2]);
    expect(again!.attemptId).not.toBe(late!.attemptId);
    expect((await runOf(id2)).tasks[0].attemptsUsed).toBe(0);
    agent.close();
  });
});
