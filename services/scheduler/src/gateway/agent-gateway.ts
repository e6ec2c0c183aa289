import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Server, type ServerDuplexStream, status } from '@grpc/grpc-js';
import { type EntityManager, In, IsNull } from 'typeorm';
import {
  AgentEntity,
  AgentTokenEntity,
  TenantEntity,
  AttemptEntity,
  Database,
  TransitionStore,
  addAgentTime,
  connectedAgents,
  forUpdate,
  isUniqueViolation,
  lockQuota,
  newId,
  scoped,
} from '@baton/persistence';
import { hashToken } from '@baton/auth';
import { MISSED_HEARTBEATS_UNHEALTHY, certificateMismatch, exceeds, truncateUtf8 } from '@baton/domain';
import { EVENT_BUS, type EventBus, OUTBOX_RELAY, type OutboxRelay, enqueueAudit, topic } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger } from '@baton/telemetry';
import {
  type AgentMessage,
  AgentServiceService,
  type Hello,
  ResultAck_Rejection,
  type ServerMessage,
} from '@baton/proto';
import { AgentCommands } from '../engine/agent-commands.js';
import { Dispatcher } from '../engine/dispatcher.js';
import { FileTriggers } from './file-triggers.js';
import { type GatewayTransport, gatewayTransport } from './gateway-credentials.js';
import {
  type Verdict,
  checkAck,
  checkFileEvent,
  checkHeartbeat,
  checkHello,
  checkLogChunk,
  checkResult,
  describe,
  LIMITS,
} from './messages.js';
import { type AgentSession, SessionRegistry } from './sessions.js';

type Call = ServerDuplexStream<AgentMessage, ServerMessage>;

const HELLO_TIMEOUT_MS = 10_000;

const REJECTIONS = {
  stale: ResultAck_Rejection.STALE,
  foreign: ResultAck_Rejection.FOREIGN,
  unknown: ResultAck_Rejection.UNKNOWN_ATTEMPT,
} as const;

/**
 * The gRPC gateway agents connect to. One bidirectional stream per agent:
 * Hello (token check) -> Welcome, then Assign/Ack/Heartbeat/LogChunk/Result.
 * Messages of one stream are handled in order.
 */
@Injectable()
export class AgentGateway implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | null = null;
  private readonly log: Logger;
  private security: GatewayTransport['security'] = 'plaintext';
  boundPort = 0;

  constructor(
    private readonly db: Database,
    private readonly transitions: TransitionStore,
    private readonly sessions: SessionRegistry,
    private readonly dispatcher: Dispatcher,
    private readonly commands: AgentCommands,
    private readonly files: FileTriggers,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('gateway');
  }

  async onApplicationBootstrap(): Promise<void> {
    // Refuses to start (a ConfigError) before anything else: plaintext in production, unreadable TLS files.
    const transport = gatewayTransport(this.config);
    this.security = transport.security;
    await this.bus.subscribe(
      topic('tenancy-events'),
      `gateway.${newId()}`,
      async (e) => {
        if (e.type !== 'agent-token.revoked') return;
        const { tokenId } = e.payload as { tokenId: string };
        for (const s of this.sessions.all()) {
          if (s.tokenId === tokenId) s.close(status.UNAUTHENTICATED, 'agent token revoked');
        }
      },
      { latest: true },
    );
    const server = new Server({ 'grpc.keepalive_permit_without_calls': 1 });
    server.addService(AgentServiceService, { connect: (call: Call) => this.connect(call) });
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${this.config.grpc.host}:${this.config.grpc.port}`, transport.credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
    this.log.info('agent gateway listening', { port: this.boundPort, security: transport.security });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    // Tell agents to reconnect (to another replica, or to us after a restart).
    for (const s of this.sessions.all()) {
      s.send({ msg: { $case: 'drain', value: { reason: 'server shutting down', reconnectAfterMs: 500 } } });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1_000);
      server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private connect(call: Call): void {
    let session: AgentSession | null = null;
    /** When the session began, for the tenant's agent-hours. */
    let sessionStart = 0;
    let chain: Promise<void> = Promise.resolve();
    let closed = false;
    const helloTimer = setTimeout(() => fail(status.DEADLINE_EXCEEDED, 'no Hello received'), HELLO_TIMEOUT_MS);
    const fail = (code: number, details: string) => {
      if (closed) return;
      closed = true;
      call.emit('error', Object.assign(new Error(details), { code, details }));
    };
    const cleanup = () => {
      clearTimeout(helloTimer);
      if (!session) return;
      const s = session;
      session = null;
      this.sessions.remove(s);
      this.log.info('agent disconnected', { agent: s.name, session: s.id });
      void this.db
        .tx(async (m) => {
          const end = Date.now();
          await scoped(m, s).update(
            AgentEntity,
            { id: s.agentId, sessionId: s.id },
            { status: 'disconnected', lastSeenAt: end },
          );
          // Agent-hours connected, once per session (usage per tenant and day).
          await addAgentTime(this.db, m, s, sessionStart, end);
        })
        .catch(() => undefined);
    };
    call.on('data', (msg: AgentMessage) => {
      chain = chain
        .then(async () => {
          if (closed) return;
          const m = msg.msg;
          if (!m) return fail(status.INVALID_ARGUMENT, 'msg: an AgentMessage must hold one message');
          if (!session) {
            if (m.$case !== 'hello') return fail(status.FAILED_PRECONDITION, 'the first message must be Hello');
            clearTimeout(helloTimer);
            const verdict = checkHello(m.value);
            if (!verdict.ok) return fail(status.INVALID_ARGUMENT, describe(verdict));
            sessionStart = Date.now();
            session = await this.hello(call, m.value, fail);
            return;
          }
          const s = session;
          const now = Date.now();
          const wasHealthy = this.sessions.healthy(s, now);
          s.lastSeenAt = now;
          // A frozen agent that speaks again may take work again.
          if (!wasHealthy) this.dispatcher.kick();
          // A malformed message is a protocol error of its sender only: its stream ends, naming the field.
          const reject = (v: Verdict) => (v.ok ? false : (fail(status.INVALID_ARGUMENT, describe(v)), true));
          switch (m.$case) {
            case 'hello':
              return fail(status.FAILED_PRECONDITION, 'Hello sent twice');
            case 'ack':
              if (reject(checkAck(m.value))) return;
              // Applied in the next batch; the chain moves on without waiting for the commit.
              this.commands.ack(s, m.value.attemptId).catch(() => undefined);
              return;
            case 'heartbeat':
              if (reject(checkHeartbeat(m.value))) return;
              return this.commands.heartbeat(s, m.value.runningAttemptIds);
            case 'logChunk':
              if (reject(checkLogChunk(m.value))) return;
              return this.commands.logChunk(s, m.value);
            case 'result': {
              const v = m.value;
              const verdict = checkResult(v, now);
              if (!verdict.ok) {
                // Answered, not fatal: the agent forgets a result the server will never accept.
                s.send({
                  msg: {
                    $case: 'resultAck',
                    value: {
                      attemptId: String(v.attemptId).slice(0, 100),
                      accepted: false,
                      rejection: ResultAck_Rejection.INVALID,
                      detail: describe(verdict),
                    },
                  },
                });
                return;
              }
              // ResultAck only after the result is committed; on failure the agent resends it later.
              this.commands
                .result(s, {
                  attemptId: v.attemptId,
                  status: v.status,
                  exitCode: v.exitCode,
                  output: v.outputJson,
                  error: truncateUtf8(v.error, LIMITS.maxErrorBytes),
                  finishedAt: v.finishedAtMs,
                  cpuMillis: v.cpuMillis,
                })
                .then(
                  (d) =>
                    s.send({
                      msg: {
                        $case: 'resultAck',
                        value: d.accepted
                          ? { attemptId: v.attemptId, accepted: true, rejection: 0, detail: '' }
                          : {
                              attemptId: v.attemptId,
                              accepted: false,
                              rejection: REJECTIONS[d.rejection],
                              detail: d.detail,
                            },
                      },
                    }),
                  () => undefined,
                );
              return;
            }
            case 'fileEvent':
              if (reject(checkFileEvent(m.value, now))) return;
              return this.files.onFileEvent(s, m.value);
            default: {
              const never: never = m;
              return never;
            }
          }
        })
        .catch((err: unknown) => {
          this.log.error('agent message failed', { error: err instanceof Error ? err.stack : String(err) });
          fail(status.INTERNAL, 'server error');
        });
    });
    call.on('end', () => {
      cleanup();
      if (!closed) {
        closed = true;
        call.end();
      }
    });
    call.on('error', () => cleanup());
    call.on('close', () => cleanup());
    call.on('cancelled', () => cleanup());
  }

  private async hello(
    call: Call,
    h: Hello,
    fail: (code: number, details: string) => void,
  ): Promise<AgentSession | null> {
    // across tenants: the token says which tenant the agent is of
    const token = await this.db.manager.findOne(AgentTokenEntity, {
      where: { hash: hashToken(h.token), revokedAt: IsNull() },
    });
    if (!token) {
      this.log.warn('agent rejected: unknown or revoked token', { name: h.name });
      fail(status.UNAUTHENTICATED, 'agent token is unknown or revoked');
      return null;
    }
    // across tenants: the token's tenant, read to refuse the agents of a suspended or deleted one
    const tenant = await this.db.manager.findOne(TenantEntity, { where: { id: token.tenantId } });
    if (!tenant || tenant.state !== 'active') {
      const why = `tenant ${tenant?.name ?? token.tenantId} is ${tenant?.state ?? 'gone'}`;
      this.log.warn('agent rejected: its tenant is not active', { name: h.name, tenant: token.tenantId });
      fail(status.PERMISSION_DENIED, tenant?.stateReason ? `${why}: ${tenant.stateReason}` : why);
      return null;
    }
    const now = Date.now();
    const sessionId = newId(now);
    const slots = h.slots;
    const audit = (m: EntityManager, code: number, detail: Record<string, unknown>) =>
      enqueueAudit(m, {
        tenantId: token.tenantId,
        action: 'agent.connect',
        actor: `agent:${h.name} (token ${token.id})`,
        target: `agent ${h.name}`,
        status: code,
        detail,
        occurredAt: now,
      });
    if (this.security === 'mtls') {
      // The handshake already proved the certificate is the client CA's; it must also be issued to this agent.
      const peer = call.getAuthContext().sslPeerCertificate;
      const mismatch = peer
        ? certificateMismatch(h.name, { commonName: peer.subject?.CN, subjectAltName: peer.subjectaltname })
        : 'no verified client certificate';
      if (mismatch) {
        await this.db.tx((m) => audit(m, 403, { reason: 'client certificate of another agent', detail: mismatch }));
        this.relay.kick();
        this.log.warn('agent rejected: client certificate of another agent', {
          name: h.name,
          token: token.id,
          mismatch,
        });
        fail(status.PERMISSION_DENIED, `agent "${h.name}" refused: ${mismatch}`);
        return null;
      }
    }
    const connect = () =>
      this.db.tx(async (m) => {
        // The agent row is locked so that two tokens claiming one name at once are decided one after the other.
        let agent = await forUpdate(
          this.db,
          scoped(m, token).query(AgentEntity, 'a', 'a.name = :name', { name: h.name }),
        ).getOne();
        // A name is bound to the token that claimed it (agents.token_id) while that token lives; a revoked
        // (or deleted) token releases it, so a new token may take the name over. Another live token is refused
        // before anything is written: the bound agent's session and attempts stay as they are.
        if (agent && agent.tokenId && agent.tokenId !== token.id) {
          const bound = await scoped(m, token).findOne(AgentTokenEntity, {
            where: { id: agent.tokenId, revokedAt: IsNull() },
            select: { id: true },
          });
          if (bound) {
            await audit(m, 403, { reason: 'name bound to another token', boundTokenId: bound.id });
            return { refused: true as const };
          }
        }
        // The tenant's maxAgents quota: agents connected and heard from lately, this name aside (a reconnect
        // of this agent is never refused); the quota row is locked so that concurrent Hellos count in turn.
        const limits = await lockQuota(this.db, m, token);
        if (limits.maxAgents !== null) {
          const since = now - this.config.scheduler.heartbeatIntervalMs * MISSED_HEARTBEATS_UNHEALTHY - 5_000;
          const over = exceeds('maxAgents', limits.maxAgents, await connectedAgents(m, token, since, h.name));
          if (over) {
            await audit(m, 429, { reason: 'quota', quota: over.quota, limit: over.limit });
            return { refused: 'quota' as const, message: over.message };
          }
        }
        const fields = {
          labels: h.labels,
          slots,
          cpuMillis: h.cpuMillis,
          memoryMb: h.memoryMb,
          version: h.version.slice(0, 40),
          status: 'connected' as const,
          sessionId,
          tokenId: token.id,
          connectedAt: now,
          lastSeenAt: now,
        };
        if (agent) await scoped(m, token).update(AgentEntity, { id: agent.id }, fields);
        else {
          agent = { id: newId(now), tenantId: token.tenantId, name: h.name, createdAt: now, ...fields };
          await scoped(m, token).insert(AgentEntity, agent);
        }
        // Running attempts named by a reconnecting agent keep their lease if still current; one whose ACK
        // was lost with the old stream is acknowledged now (the agent runs it, so it must not be offered again).
        const named = [...new Set(h.runningAttemptIds)];
        const kept: string[] = [];
        const rejected: string[] = [];
        for (let i = 0; i < named.length; i += 500) {
          const ids = named.slice(i, i + 500);
          await this.commands.startAttempts(m, token.tenantId, agent.id, ids, now);
          await this.transitions.touchAttempts(m, token, { ids, agentId: agent.id }, ['running'], {
            sessionId,
            expiresAt: now + this.config.scheduler.leaseTtlMs,
          });
          const live = await scoped(m, token).find(AttemptEntity, {
            where: { agentId: agent.id, state: 'running', id: In(ids) },
            select: { id: true },
          });
          const ok = new Set(live.map((a) => a.id));
          for (const id of ids) (ok.has(id) ? kept : rejected).push(id);
        }
        await audit(m, 200, { labels: h.labels, slots, version: h.version.slice(0, 40), kept: kept.length });
        return { refused: false as const, agentId: agent.id, kept, rejected };
      });
    // Two first connections of one new name at once: the loser's insert meets the unique index, and on a
    // second try it finds the winner's row, bound to the winner's token.
    const outcome = await connect().catch((err: unknown) => {
      if (isUniqueViolation(err)) return connect();
      throw err;
    });
    this.relay.kick();
    if (outcome.refused === 'quota') {
      this.log.warn('agent rejected: tenant quota', { name: h.name, tenant: token.tenantId });
      fail(status.RESOURCE_EXHAUSTED, `agent "${h.name}" refused: ${outcome.message}`);
      return null;
    }
    if (outcome.refused) {
      this.log.warn('agent rejected: name bound to another token', { name: h.name, token: token.id });
      fail(
        status.PERMISSION_DENIED,
        `agent name "${h.name}" is bound to another agent token of this tenant; ` +
          'connect under another name, or revoke that token to release the name',
      );
      return null;
    }
    const { agentId, kept, rejected } = outcome;
    const session: AgentSession = {
      id: sessionId,
      agentId,
      tenantId: token.tenantId,
      tokenId: token.id,
      name: h.name,
      labels: h.labels,
      slots,
      cpuMillis: Math.max(0, h.cpuMillis),
      memoryMb: Math.max(0, h.memoryMb),
      usedCpu: 0,
      usedMemory: 0,
      inFlight: new Set(kept),
      lastSeenAt: now,
      send: (msg) => {
        if (!call.writableEnded && !call.destroyed) call.write(msg);
      },
      close: (code, reason) => {
        call.emit('error', Object.assign(new Error(reason), { code, details: reason }));
      },
    };
    this.sessions.add(session);
    session.send({
      msg: {
        $case: 'welcome',
        value: {
          sessionId,
          agentId,
          heartbeatIntervalMs: this.config.scheduler.heartbeatIntervalMs,
          leaseTtlMs: this.config.scheduler.leaseTtlMs,
          rejectedAttemptIds: rejected,
          ackTimeoutMs: this.config.scheduler.ackTimeoutMs,
          serverTimeMs: Date.now(),
        },
      },
    });
    await this.files.sendWatches(session);
    this.log.info('agent connected', { agent: h.name, session: sessionId, slots, labels: h.labels, kept: kept.length });
    this.dispatcher.kick();
    return session;
  }
}
