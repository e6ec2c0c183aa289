import 'reflect-metadata';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsNull } from 'typeorm';
import { AgentTokenEntity, type Database, scoped } from '@baton/persistence';
import { hashToken } from '@baton/auth';
import { type BatonConfig, ConfigError } from '@baton/config';
import type { Logger } from '@baton/telemetry';
import { createBatonApp } from '@baton/runtime';
import { AgentTokensService, BootstrapService, TenancyModule } from '@baton/tenancy';
import { AuditModule } from '@baton/audit';
import { InsightModule } from '@baton/insight';
import { CatalogModule } from '@baton/catalog';
import { TriggerModule } from '@baton/trigger';
import { AgentGateway, SchedulerModule } from '@baton/scheduler';
import { type AgentHandle, type AgentTlsOptions, loadAgentTls, startAgent } from '@baton/agent';
import { PortalModule } from './portal.module.js';

export interface StandaloneOptions {
  /** Start the bundled local agent (default: config.localAgent.enabled). */
  agent?: boolean;
}

export interface Standalone {
  httpUrl: string;
  grpcPort: number;
  adminToken: string | null;
  close(): Promise<void>;
}

/** The client settings `baton` reads when no flag or env names a server. */
export interface ClientFile {
  server: string;
  token?: string;
  /** The generated first admin login (`baton login` uses it when no email is given). */
  admin?: { email: string; password: string };
}

function writePrivate(path: string, data: unknown) {
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
}

function readSaved(path: string): Partial<ClientFile> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<ClientFile>;
  } catch {
    return {}; // none yet, or unreadable: written anew
  }
}

/**
 * The whole platform in one process (`baton standalone`, `npm start`): every
 * service module on one HTTP port and one gRPC port, SQLite (or MySQL when
 * configured), the in-process bus, and a local agent.
 */
export async function startStandalone(
  config: BatonConfig,
  logger: Logger,
  opts: StandaloneOptions = {},
): Promise<Standalone> {
  mkdirSync(config.dataDir, { recursive: true });
  const startLocal = opts.agent ?? config.localAgent.enabled;
  // Checked before anything starts: a local agent that could never connect is a configuration error.
  const localTls = startLocal ? localAgentTls(config) : null;
  const baton = await createBatonApp('standalone', config, logger, [
    TenancyModule,
    CatalogModule,
    TriggerModule,
    SchedulerModule,
    AuditModule,
    InsightModule,
    PortalModule.serve(),
  ]);
  const { app, db } = baton;
  // Bootstrap before listening, so the first request already finds the admin key.
  const boot = await app.get(BootstrapService).run();
  await app.listen(config.http.port, config.http.host);
  const grpcPort = app.get(AgentGateway).boundPort;

  const clientFile = join(config.dataDir, 'client.json');
  const adminToken = boot.generatedToken ?? config.bootstrapToken;
  if (boot.generatedToken) {
    logger.info('generated the first admin API key; it is shown once and saved for the CLI', { file: clientFile });
    process.stderr.write(`\n  Admin API key (shown once): ${boot.generatedToken}\n\n`);
  }
  const admin = boot.admin?.generatedPassword
    ? { email: boot.admin.email, password: boot.admin.generatedPassword }
    : null;
  if (admin) {
    logger.info('created the first platform admin user; its password is shown once and saved for the CLI', {
      email: admin.email,
      file: clientFile,
    });
    process.stderr.write(`\n  Admin login (password shown once): ${admin.email} / ${admin.password}\n\n`);
  } else if (boot.admin) {
    logger.info('created the first platform admin user', { email: boot.admin.email });
  }
  if (adminToken || admin) {
    // What an earlier start saved (the generated admin login, a `baton login` session) stays.
    const saved = readSaved(clientFile);
    writePrivate(clientFile, {
      ...saved,
      server: config.http.publicUrl,
      ...(adminToken ? { token: adminToken } : {}),
      ...(admin ? { admin } : {}),
    } satisfies ClientFile);
  }

  let agent: AgentHandle | null = null;
  if (startLocal) {
    const token = await localAgentToken(config, db, app.get(AgentTokensService), boot.tenantId);
    agent = startAgent({
      server: `127.0.0.1:${grpcPort}`,
      token,
      name: config.localAgent.name,
      labels: config.localAgent.labels,
      slots: config.localAgent.slots,
      workDir: join(config.dataDir, 'agent'),
      tls: localTls,
      logger: logger.child('agent'),
    });
  }
  const httpUrl = `http://127.0.0.1:${config.http.port}`;
  logger.info('Baton is up', {
    http: httpUrl,
    grpc: grpcPort,
    database: config.database.kind,
    localAgent: agent ? config.localAgent.name : 'off',
  });
  return {
    httpUrl,
    grpcPort,
    adminToken,
    close: async () => {
      await agent?.stop();
      await baton.close();
    },
  };
}

/**
 * The local agent dials the gateway like any agent: in plaintext, or, when the gateway has TLS, with the
 * BATON_AGENT_TLS_* files (the CA that signed the gateway certificate; under mutual TLS its client certificate).
 */
function localAgentTls(config: BatonConfig): AgentTlsOptions | null {
  const gateway = config.grpc.tls;
  if (!gateway) return null;
  const files = config.localAgent.tls;
  const problems: string[] = [];
  const off = 'or BATON_LOCAL_AGENT=false (run agents with `baton agent` instead)';
  if (!files.ca)
    problems.push(
      `BATON_AGENT_TLS_CA: the gateway uses TLS, so the local agent needs the CA of its certificate, ${off}`,
    );
  if (gateway.clientCaFile && !(files.cert && files.key)) {
    problems.push(
      `BATON_AGENT_TLS_CERT: the gateway requires client certificates (BATON_GRPC_TLS_CLIENT_CA), so the local agent needs one issued to "${config.localAgent.name}" with BATON_AGENT_TLS_KEY, ${off}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return loadAgentTls(files, { ca: 'BATON_AGENT_TLS_CA', cert: 'BATON_AGENT_TLS_CERT', key: 'BATON_AGENT_TLS_KEY' });
}

/** The local agent keeps one token across restarts, stored beside the data. */
async function localAgentToken(
  config: BatonConfig,
  db: Database,
  tokens: AgentTokensService,
  tenantId: string,
): Promise<string> {
  const file = join(config.dataDir, 'local-agent.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { token?: string };
    if (saved.token) {
      const live = await scoped(db.manager, { tenantId }).findOne(AgentTokenEntity, {
        where: { hash: hashToken(saved.token), revokedAt: IsNull() },
      });
      if (live) return saved.token;
    }
  }
  const issued = await tokens.create({ tenantId }, `local-agent-${config.localAgent.name}`);
  writePrivate(file, { token: issued.token });
  return issued.token;
}
