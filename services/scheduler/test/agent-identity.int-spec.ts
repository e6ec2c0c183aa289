import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type RawAgent,
  type TestDatabase,
  assigned,
  createTestDatabase,
  rawAgent,
  resultOf as result,
  startPlatform,
  testDatabaseKinds,
  waitFor,
  welcomed,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

describe.each(kinds)('an agent token is bound to the agent name it claimed first (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let acme: string;
  const open: RawAgent[] = [];
  const asAcme = () => ({ authorization: `Bearer ${acme}` });
  const connect = (token: string, name: string, hello = {}) => {
    const a = rawAgent(platform.grpc, token, name, hello);
    open.push(a);
    return a;
  };
  const token = async (headers?: Record<string, string>) => {
    const r = await platform.api('POST', '/api/v1/agent-tokens', { name: 'identity' }, headers);
    expect(r.status).toBe(201);
    return r.body as { id: string; token: string };
  };
  const run = async (name: string, pool: string) => {
    const put = await platform.api('PUT', `/api/v1/jobs/${name}`, {
      name,
      tasks: [{ key: 'only', type: 'noop', agentSelector: { pool } }],
    });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    return (await platform.api('POST', `/api/v1/jobs/${name}/runs`, {})).body.id as string;
  };
  const runOf = async (id: string) => (await platform.api('GET', `/api/v1/runs/${id}`)).body;
  const succeeded = (id: string) =>
    waitFor(`run ${id} to succeed`, async () => {
      const r = await runOf(id);
      return r.state === 'succeeded' ? r : null;
    });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      env: { BATON_ACK_TIMEOUT_MS: '2000', BATON_LEASE_TTL_MS: '6000', BATON_HEARTBEAT_INTERVAL_MS: '200' },
    });
    acme = (await platform.api('POST', '/api/v1/tenants', { name: 'acme' })).body.adminToken as string;
  });
  afterAll(async () => {
    for (const a of open) a.close();
    await platform?.stop();
    await db?.drop();
  });

  it("refuses a second token of the tenant under a bound name, while the first runs a task; the task finishes on the first, and the first token's reconnect resumes", async () => {
    const first = await token();
    const second = await token();
    const owner = connect(first.token, 'bound-1');
    const welcome = await welcomed(owner);
    const id = await run('identity-job', 'bound-1');
    const a = await assigned(owner);
    owner.send({ ack: { attemptId: a!.attemptId } });
    await waitFor('the task to run', async () => (await runOf(id)).tasks[0].state === 'running');

    // The intruder names the owner's attempt too: nothing of it may be applied.
    const intruder = connect(second.token, 'bound-1', { runningAttemptIds: [a!.attemptId], slots: 4 });
    const err = await waitFor('the refusal', async () => intruder.error);
    expect(err.code).toBe(7); // PERMISSION_DENIED
    expect(err.details).toContain('agent name "bound-1" is bound to another agent token');
    expect(intruder.of('welcome')).toEqual([]);

    // The owner's session is untouched: still connected, its attempt still its own, and its result applies.
    await new Promise((r) => setTimeout(r, 500));
    expect(owner.error).toBeNull();
    const agents = (await platform.api('GET', '/api/v1/agents')).body.items as {
      name: string;
      status: string;
      tokenId: string;
    }[];
    expect(agents.filter((x) => x.name === 'bound-1').map((x) => [x.status, x.tokenId])).toEqual([
      ['connected', first.id],
    ]);
    owner.send(result(a!.attemptId, { outputJson: '{"by":"owner"}' }));
    const done = await succeeded(id);
    expect(done.tasks[0].attempts.map((x: { state: string }) => x.state)).toEqual(['succeeded']);
    expect(done.tasks[0].output).toEqual({ by: 'owner' });

    // The same token reconnecting (stream broken mid-task) resumes its agent and keeps its running attempt.
    const id2 = await run('identity-job', 'bound-1');
    const b = await assigned(owner, 2);
    owner.send({ ack: { attemptId: b!.attemptId } });
    await waitFor('the second task to run', async () => (await runOf(id2)).tasks[0].state === 'running');
    owner.close();
    const back = connect(first.token, 'bound-1', { runningAttemptIds: [b!.attemptId] });
    const again = await welcomed(back);
    expect(again.agentId).toBe(welcome.agentId);
    expect(again.rejectedAttemptIds).toEqual([]);
    back.send(result(b!.attemptId));
    const done2 = await succeeded(id2);
    expect(done2.tasks[0].attempts.map((x: { state: string }) => x.state)).toEqual(['succeeded']);

    // The refusal is audited; the name stayed with the first token.
    await waitFor('the audited refusal', async () => {
      const items = (await platform.api('GET', '/api/v1/audit?limit=500')).body.items as {
        action: string;
        actor: string;
        status: number;
      }[];
      return items.some((r) => r.action === 'agent.connect' && r.status === 403 && r.actor.includes(second.id));
    });
  });

  it("gives another tenant's token under the same name an agent of its own tenant", async () => {
    const mine = connect((await token()).token, 'shared-name');
    const theirs = connect((await token(asAcme())).token, 'shared-name');
    const [w1, w2] = await Promise.all([welcomed(mine), welcomed(theirs)]);
    expect(w2.agentId).not.toBe(w1.agentId);
    expect(mine.error).toBeNull();
    const acmeAgents = (await platform.api('GET', '/api/v1/agents', undefined, asAcme())).body.items as {
      id: string;
      name: string;
    }[];
    expect(acmeAgents.map((x) => [x.id, x.name])).toEqual([[w2.agentId, 'shared-name']]);
  });

  it('releases the name when its token is revoked: a new token may then claim it', async () => {
    const old = await token();
    const next = await token();
    const a = connect(old.token, 'bound-2');
    const w = await welcomed(a);
    a.close();
    const refused = connect(next.token, 'bound-2');
    expect((await waitFor('the refusal', async () => refused.error)).code).toBe(7);

    expect((await platform.api('DELETE', `/api/v1/agent-tokens/${old.id}`)).status).toBe(200);
    const b = connect(next.token, 'bound-2');
    expect((await welcomed(b)).agentId).toBe(w.agentId);
    const list = (await platform.api('GET', '/api/v1/agents')).body.items as { name: string; tokenId: string }[];
    expect(list.find((x) => x.name === 'bound-2')!.tokenId).toBe(next.id);
    // ...and it is bound to the new token now: the revoked one is refused anyway, another live one too.
    const third = connect((await token()).token, 'bound-2');
    expect((await waitFor('the refusal', async () => third.error)).code).toBe(7);
  });

  it('lets two tokens race for a new name: one wins, the other is refused', async () => {
    const [t1, t2] = await Promise.all([token(), token()]);
    const [x, y] = [connect(t1.token, 'raced'), connect(t2.token, 'raced')];
    await waitFor('one welcome and one refusal', async () =>
      (x.of('welcome').length === 1 && y.error) || (y.of('welcome').length === 1 && x.error) ? true : null,
    );
    const loser = x.error ? x : y;
    expect(loser.error!.code).toBe(7);
  });
});
