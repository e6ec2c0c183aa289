import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, parseLabels, readClientEnv, readTelemetryEnv } from '@baton/config';
import { createLogger, shutdownTelemetry, startTelemetry } from '@baton/telemetry';
import { ApiClient, CliError, clientFileToWrite, findClientFile, resolveConnection, resolveServer } from './client.js';
import {
  type BackfillOptions,
  apply,
  backfill,
  listAlerts,
  listSlots,
  cancelRun,
  listAgents,
  listPools,
  listJobs,
  listRuns,
  logs,
  markTask,
  parseParams,
  rerunRun,
  setPool,
  showRun,
  slaBacktest,
  triggerRun,
  type AlertsOptions,
  type BacktestOptions,
} from './commands.js';
import { deleteSecret, listSecrets, rotateSecretsKey, setSecret } from './secrets.js';
import {
  type ChannelOptions,
  type RuleOptions,
  collectList,
  deleteChannel,
  deleteRule,
  listChannels,
  listRules,
  setChannel,
  setRule,
} from './alert-config.js';
import { listTenants, moveTenant, purgeTenant } from './tenants.js';
import { QUOTA_FLAGS, parseQuotaValue, setQuota, showQuota, showUsage } from './quotas.js';
import { type AuditFilters, exportAudit, exportCheckpoints, listAudit, verifyAudit } from './audit.js';
import { login, logout, readLine, readSecret } from './session.js';
import { changePassword, invite, listInvitations, revokeInvitation } from './people.js';

const out = (line: string) => process.stdout.write(line + '\n');
const env = readClientEnv();

function api(cmd: Command): ApiClient {
  const o = cmd.optsWithGlobals<{ server?: string; token?: string; actIn?: string }>();
  return new ApiClient(resolveConnection(o, env));
}

const program = new Command('baton')
  .description('Baton: a deterministic executor of time + dependency + state')
  .option('--server <url>', 'Baton HTTP API (default: BATON_SERVER, data/client.json, http://127.0.0.1:8080)')
  .option(
    '--token <token>',
    'API key (default: BATON_TOKEN, else the session of `baton login` or the key in data/client.json)',
  )
  .option('--act-in <tenant>', 'platform admins: act inside this tenant (id or name); audited there')
  .showHelpAfterError();

program
  .command('standalone')
  .description('run the whole platform in one process (SQLite, in-process bus, local agent)')
  .option('--no-agent', 'do not start the bundled local agent')
  .action(async (o: { agent: boolean }) => {
    const config = loadConfig();
    const logger = createLogger({ level: config.log.level, format: config.log.format });
    const { startStandalone } = await import('@baton/standalone');
    const s = await startStandalone(config, logger, { agent: o.agent && config.localAgent.enabled });
    let closing = false;
    const stop = (sig: string) => {
      if (closing) process.exit(130);
      closing = true;
      logger.info(`received ${sig}; shutting down`);
      void s.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

program
  .command('login')
  .description('log in with email and password; later commands use the session (saved with the server address)')
  .option('--email <email>', 'your email (default: prompt)')
  .option('--password <password>', 'your password (default: prompt, or the first line of stdin; a flag shows in `ps`)')
  .option('--tenant <name>', 'the tenant to act in (default: your first membership)')
  .action(async (_o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<{ server?: string; email?: string; password?: string; tenant?: string }>();
    const email = o.email ?? (await readLine('Email: '));
    const password = o.password ?? (await readSecret('Password: '));
    const server = resolveServer(o, env, findClientFile(env).file);
    await login(server, { email, password, tenant: o.tenant }, clientFileToWrite(env), out);
  });

program
  .command('logout')
  .description('end the session of `baton login` and forget it')
  .action(async (_o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<{ server?: string; token?: string; actIn?: string }>();
    await logout(resolveConnection({ server: o.server }, { ...env, token: null }), out);
  });

program
  .command('password')
  .description('change the password of the user of `baton login` (prompts, or two lines on stdin: current, new)')
  .action(async (_o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<{ server?: string }>();
    await changePassword(resolveConnection({ server: o.server }, { ...env, token: null }), out);
  });

program
  .command('invite <email>')
  .description('tenant admins: invite an email into the tenant; prints the one-time link (also mailed with SMTP)')
  .requiredOption('--role <role>', 'tenant_admin, developer, operator, viewer or auditor (at most your own)')
  .action(async (email: string, o: { role: string }, cmd: Command) => invite(api(cmd), email, o.role, out));

const invitations = program
  .command('invitations')
  .description("the tenant's pending invitations")
  .action(async (_o: unknown, cmd: Command) => listInvitations(api(cmd), out));
invitations
  .command('revoke <id>')
  .description('revoke a pending invitation: its link stops working')
  .action(async (id: string, _o: unknown, cmd: Command) => revokeInvitation(api(cmd), id, out));

program
  .command('migrate')
  .description('apply database migrations and exit (production deploys)')
  .action(async () => {
    const config = loadConfig();
    const { Database } = await import('@baton/persistence');
    const db = await Database.open(config.database, { migrate: false });
    const done = await db.migrate();
    out(done.length ? `applied: ${done.join(', ')}` : 'database is up to date');
    await db.close();
  });

program
  .command('agent')
  .description('run an agent that executes tasks sent by the scheduler (--server host:port --token <agent token>)')
  // --server (gRPC host:port here) and --token (an agent token) are the global options.
  .option('--name <name>', 'agent name, unique per tenant', hostname())
  .option('--labels <k=v,...>', 'labels tasks can select on', '')
  .option('--slots <n>', 'tasks run at once', '4')
  .option('--work-dir <dir>', 'journal and scratch directory (default: data/agents/<name>)')
  .option('--fsync-journal', 'fsync each result before sending it (survives a power cut of the host, slower)')
  .option('--tls', "connect with TLS, verifying the gateway against the system's CAs (implied by the --tls-* flags)")
  .option(
    '--tls-ca <file>',
    'PEM CA that signed the gateway certificate: connect with TLS (default: BATON_AGENT_TLS_CA)',
  )
  .option(
    '--tls-cert <file>',
    'PEM client certificate for mutual TLS, issued to --name (default: BATON_AGENT_TLS_CERT)',
  )
  .option('--tls-key <file>', 'PEM private key of --tls-cert (default: BATON_AGENT_TLS_KEY)')
  .option(
    '--tls-server-name <name>',
    "the name on the gateway's certificate when it is not the --server host (default: BATON_AGENT_TLS_SERVER_NAME)",
  )
  .action(async (_o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<{
      server?: string;
      token?: string;
      name: string;
      labels: string;
      slots: string;
      workDir?: string;
      fsyncJournal?: boolean;
      tls?: boolean;
      tlsCa?: string;
      tlsCert?: string;
      tlsKey?: string;
      tlsServerName?: string;
    }>();
    if (!o.server)
      throw new CliError(
        '--server <host:port> is required: the scheduler gRPC address, e.g. 127.0.0.1:7070 (several replicas: a:7070,b:7070)',
      );
    const server = o.server;
    const token = o.token ?? env.agentToken;
    if (!token)
      throw new CliError('--token is required (or set BATON_AGENT_TOKEN); create one with `baton agent-token create`');
    const labels = parseLabels(o.labels);
    if (typeof labels === 'string') throw new CliError(`--labels: ${labels}`);
    const slots = Number(o.slots);
    if (!Number.isInteger(slots) || slots < 1) throw new CliError('--slots: must be a positive integer');
    const { loadAgentTls, startAgent } = await import('@baton/agent');
    let tls;
    try {
      tls = loadAgentTls(
        {
          tls: o.tls === true,
          ca: o.tlsCa ?? env.agentTls.ca,
          cert: o.tlsCert ?? env.agentTls.cert,
          key: o.tlsKey ?? env.agentTls.key,
          serverName: o.tlsServerName ?? env.agentTls.serverName,
        },
        { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' },
      );
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.problems.join('; '));
      throw err;
    }
    const logger = createLogger({ level: 'info', format: 'text', component: `agent ${o.name}` });
    const telemetry = (() => {
      try {
        return readTelemetryEnv();
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.problems.join('; '));
        throw err;
      }
    })();
    // Spans of the tasks it executes (OTEL_* variables; off unless set).
    startTelemetry(telemetry, 'baton-agent', logger);
    const handle = startAgent({
      server: server.replace(/^grpc:\/\//, ''),
      token,
      name: o.name,
      labels,
      slots,
      workDir: o.workDir ? resolve(o.workDir) : resolve(env.dataDir, 'agents', o.name),
      fsyncJournal: o.fsyncJournal === true,
      tls,
      logger,
    });
    logger.info('agent starting', { server, tls: tls ? (tls.cert ? 'mutual' : 'on') : 'off' });
    const stop = () =>
      void handle
        .stop()
        .then(() => shutdownTelemetry())
        .then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

program
  .command('apply')
  .description('create or update the jobs defined in a YAML or JSON file')
  .requiredOption('-f, --file <file>', 'job definition file (several YAML documents allowed)')
  .action(async (o: { file: string }, cmd: Command) => apply(api(cmd), o.file, out));

program
  .command('run <job>')
  .description('start a run of a job now')
  .option(
    '-p, --param <key=value>',
    'run parameter (repeatable; JSON values allowed)',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .option('--logical-date <iso>', 'logical date of the run (default: now)')
  .option('--idempotency-key <key>', 'the same key returns the same run')
  .option('-w, --wait', 'wait for the run to finish, printing task states; exit 1 unless it succeeded')
  .action(
    async (
      job: string,
      o: { param: string[]; logicalDate?: string; idempotencyKey?: string; wait?: boolean },
      cmd: Command,
    ) => {
      process.exitCode = await triggerRun(
        api(cmd),
        job,
        { params: parseParams(o.param), logicalDate: o.logicalDate, idempotencyKey: o.idempotencyKey, wait: !!o.wait },
        out,
      );
    },
  );

program
  .command('runs')
  .description('list recent runs')
  .option('--job <name>', 'only runs of this job')
  .addOption(
    new Option('--state <state>', 'only runs in this state').choices([
      'queued',
      'running',
      'succeeded',
      'failed',
      'cancelled',
    ]),
  )
  .option('--limit <n>', 'how many', '20')
  .action(async (o: { job?: string; state?: string; limit: string }, cmd: Command) => listRuns(api(cmd), o, out));

program
  .command('status <run-id>')
  .description("show a run and each task's state")
  .action(async (id: string, _o: unknown, cmd: Command) => showRun(api(cmd), id, out));

program
  .command('logs <run-id> <task-key>')
  .description("print a task's output (latest attempt unless --attempt)")
  .option('--attempt <n>', 'attempt number')
  .option('-f, --follow', 'keep printing new output until the attempt ends')
  .action(async (id: string, key: string, o: { attempt?: string; follow?: boolean }, cmd: Command) =>
    logs(api(cmd), id, key, o, (s) => process.stdout.write(s)),
  );

program
  .command('cancel <run-id>')
  .description('cancel a run; running tasks are stopped on their agents')
  .option('--reason <text>', 'recorded on the cancelled tasks')
  .action(async (id: string, o: { reason?: string }, cmd: Command) => cancelRun(api(cmd), id, o.reason, out));

program
  .command('rerun <run-id>')
  .description("rerun a finished run's failed tasks and what is downstream of them (or --all)")
  .option('--all', 'rerun every task')
  .option('-w, --wait', 'wait for the new run to finish')
  .action(async (id: string, o: { all?: boolean; wait?: boolean }, cmd: Command) => {
    process.exitCode = await rerunRun(api(cmd), id, o.all ? 'all' : 'failed', !!o.wait, out);
  });

program
  .command('mark <run-id> <task-key> <state>')
  .description('mark a task of a running run succeeded or skipped (e.g. one held as lost)')
  .action(async (id: string, key: string, state: string, _o: unknown, cmd: Command) => {
    if (state !== 'succeeded' && state !== 'skipped') throw new CliError('state must be succeeded or skipped');
    await markTask(api(cmd), id, key, state, out);
  });

program
  .command('backfill <job>')
  .description('run a job for every slot of its time trigger in a date range')
  .requiredOption('--from <iso>', 'first logical date (inclusive)')
  .requiredOption('--to <iso>', 'last logical date (inclusive)')
  .option('--max-active-runs <n>', 'runs at once', '1')
  .option('--trigger <index>', "which of the job's triggers gives the slots", '0')
  .option('--dry-run', 'list the slots, the runs they already have and what would happen; start nothing')
  .option('--rerun-existing', 'also run slots whose logical date already has a run (by default they are skipped)')
  .option('-w, --wait', 'wait until every slot has run')
  .action(async (job: string, o: BackfillOptions, cmd: Command) => {
    process.exitCode = await backfill(api(cmd), job, o, out);
  });

program
  .command('sla')
  .description("deadlines of a job's runs")
  .command('backtest <job>')
  .description("how often the job's last finished runs would have met a proposed SLA (exit 1 when any missed)")
  .option('--finish-by <time>', 'a wall-clock time HH:MM, optionally +Nd after the logical date, e.g. 06:00+1d')
  .option('--start-by <time>', 'the same, for the start')
  .option('--max-duration <duration>', 'from the run start, e.g. 2h')
  .option('--timezone <tz>', 'IANA time zone of --finish-by and --start-by (default UTC)')
  .option('--runs <n>', 'how many of the latest finished runs (default 100, at most 1,000)')
  .action(async (job: string, o: BacktestOptions, cmd: Command) => {
    process.exitCode = await slaBacktest(api(cmd), job, o, out);
  });

program
  .command('alerts')
  .description('alert history, newest first: what was sent (or held back by a throttle) to which channel, and why')
  .option('--rule <name>', 'only this rule')
  .option('--job <name>', 'only this job')
  .option('--state <state>', 'pending, sent, failed or suppressed')
  .option('--limit <n>', 'how many', '50')
  .action(async (o: AlertsOptions, cmd: Command) => listAlerts(api(cmd), o, out));

const alertChannel = program
  .command('alert-channel')
  .description('create, replace or delete an alert channel (where alerts go)');
alertChannel
  .command('set <name>')
  .description('create or replace a channel: a signed webhook, a Slack incoming webhook, or email')
  .addOption(
    new Option('--type <type>', 'the kind of channel').choices(['webhook', 'slack', 'email']).makeOptionMandatory(),
  )
  .option('--url <url>', 'webhook and slack: where to POST')
  .option('--to <addresses>', 'email: recipients, comma-separated or repeated', collectList)
  .option(
    '--secret <secret>',
    'webhook: sign each POST with this secret (16+ characters; "-" reads it from standard input, out of the shell history)',
  )
  .action(async (name: string, o: ChannelOptions, cmd: Command) => setChannel(api(cmd), name, o, out));
alertChannel
  .command('delete <name>')
  .description('delete a channel no rule uses')
  .action(async (name: string, _o: unknown, cmd: Command) => deleteChannel(api(cmd), name, out));
program
  .command('alert-channels')
  .description("list the tenant's alert channels (a webhook's secret is never shown)")
  .action(async (_o: unknown, cmd: Command) => listChannels(api(cmd), out));

const alertRule = program
  .command('alert-rule')
  .description('create, replace or delete an alert rule (which events of which jobs go to which channels)');
alertRule
  .command('set <name>')
  .description('create or replace a rule')
  .requiredOption(
    '--events <events>',
    'run_failed, task_failed, task_lost, sla_at_risk, sla_missed, agent_offline, trigger_misfired (comma-separated)',
    collectList,
  )
  .requiredOption('--channels <names>', 'channels to send to (comma-separated)', collectList)
  .option('--jobs <names>', 'job names or globs (comma-separated; default every job)', collectList)
  .option('--throttle <duration>', 'at most one alert per job within it, e.g. 10m')
  .option('--agent-offline-after <duration>', 'agent_offline: how long an agent is away before it alerts (default 2m)')
  .option('--disabled', 'store the rule switched off')
  .action(async (name: string, o: RuleOptions, cmd: Command) => setRule(api(cmd), name, o, out));
alertRule
  .command('delete <name>')
  .description('delete a rule (its history stays)')
  .action(async (name: string, _o: unknown, cmd: Command) => deleteRule(api(cmd), name, out));
program
  .command('alert-rules')
  .description("list the tenant's alert rules")
  .action(async (_o: unknown, cmd: Command) => listRules(api(cmd), out));

program
  .command('slots <job>')
  .description("the slot ledger: each planned slot of the job's time triggers and what became of it")
  .option('--limit <n>', 'how many, newest first', '50')
  .action(async (job: string, o: { limit: string }, cmd: Command) => listSlots(api(cmd), job, o.limit, out));

program
  .command('jobs')
  .description('list jobs')
  .action(async (_o: unknown, cmd: Command) => listJobs(api(cmd), out));
program
  .command('agents')
  .description('list agents')
  .action(async (_o: unknown, cmd: Command) => listAgents(api(cmd), out));

program
  .command('pools')
  .description("list the tenant's pools with the slots in use")
  .action(async (_o: unknown, cmd: Command) => listPools(api(cmd), out));
program
  .command('pool <name>')
  .description('create a pool or set its slots')
  .requiredOption('--slots <n>', 'slots the pool has')
  .option('--description <text>', 'what the pool is for')
  .action(async (name: string, o: { slots: string; description?: string }, cmd: Command) =>
    setPool(api(cmd), name, o.slots, o.description, out),
  );

const audit = program
  .command('audit')
  .description("the tenant's audit log: review and export it, verify it, export its checkpoints");
/** The review filters both `audit list` and `audit export` take. */
const auditFilters = (c: Command) =>
  c
    .option('--actor <text>', 'records whose actor contains this')
    .option('--action <prefix>', 'records whose action starts with this (e.g. "POST /api/v1/jobs" or "auth.denied")')
    .option('--target <text>', 'records whose target (the resource) contains this')
    .option('--from <time>', 'records at or after this ISO time')
    .option('--to <time>', 'records before this ISO time')
    .option('--status <code>', 'records with this status (403) or class (4xx)');
auditFilters(audit.command('list').description('the newest matching records, newest first'))
  .option('--limit <n>', 'how many records (default 50)')
  .action(async (o: AuditFilters & { limit?: string }, cmd: Command) => {
    const { limit, ...f } = o;
    await listAudit(api(cmd), f, limit, out);
  });
auditFilters(
  audit
    .command('export')
    .description('every matching record as CSV (seq, occurredAt, actor, action, target, status, detail, hash)'),
)
  .requiredOption('--out <file>', 'the CSV file to write')
  .action(async (o: AuditFilters & { out: string }, cmd: Command) => {
    const { out: file, ...f } = o;
    await exportAudit(api(cmd), f, file, out);
  });
audit
  .command('verify')
  .description('recompute the keyed chain and check its signed checkpoints (exit 1 when it does not hold)')
  .option('--checkpoints <file>', 'also check against checkpoints exported earlier (baton audit checkpoints --out)')
  .action(async (o: { checkpoints?: string }, cmd: Command) => {
    process.exitCode = await verifyAudit(api(cmd), o.checkpoints, out);
  });
audit
  .command('checkpoints')
  .description('the signed checkpoints of the chain, as JSON (keep a copy outside the database)')
  .option('--out <file>', 'write them to this file instead of standard output')
  .option('--now', 'sign a checkpoint of the current head first')
  .action(async (o: { out?: string; now?: boolean }, cmd: Command) => exportCheckpoints(api(cmd), o, out));

program
  .command('tenants')
  .description('platform admins: every tenant with its state')
  .option('--state <state>', 'only tenants in this state (active, suspended, deleted)')
  .action(async (o: { state?: string }, cmd: Command) => listTenants(api(cmd), o.state, out));
const tenant = program.command('tenant').description('platform admins: suspend, resume, delete or purge a tenant');
tenant
  .command('suspend <tenant>')
  .description('refuse its calls (403 with the reason) and agents, and fire none of its triggers')
  .requiredOption('--reason <text>', 'told to its callers and recorded in the audit log')
  .action(async (name: string, o: { reason: string }, cmd: Command) =>
    moveTenant(api(cmd), name, 'suspend', o.reason, out),
  );
tenant
  .command('resume <tenant>')
  .description('let a suspended tenant work again')
  .action(async (name: string, _o: unknown, cmd: Command) => moveTenant(api(cmd), name, 'resume', undefined, out));
tenant
  .command('delete <tenant>')
  .description('delete softly: refused like a suspended tenant, its data kept until `baton tenant purge`')
  .option('--reason <text>', 'recorded in the audit log')
  .action(async (name: string, o: { reason?: string }, cmd: Command) =>
    moveTenant(api(cmd), name, 'delete', o.reason, out),
  );
tenant
  .command('purge <tenant>')
  .description('delete every row of a deleted tenant, for good')
  .option('--yes', 'confirm: this cannot be undone')
  .action(async (name: string, o: { yes?: boolean }, cmd: Command) => {
    if (!o.yes) throw new CliError(`purging tenant ${name} cannot be undone: pass --yes to confirm`);
    await purgeTenant(api(cmd), name, out);
  });

const quota = program
  .command('quota')
  .description("the tenant's quotas, each against what it uses now")
  .action(async (_o: unknown, cmd: Command) => showQuota(api(cmd), out));
const setQuotaCommand = quota
  .command('set <tenant>')
  .description('platform admins: set quotas of a tenant (a number, or "none" to lift one); others stay as they are');
for (const flag of Object.keys(QUOTA_FLAGS)) setQuotaCommand.option(`--${flag} <n>`);
setQuotaCommand.action(async (name: string, o: Record<string, string>, cmd: Command) => {
  const change: Record<string, number | null> = {};
  for (const [flag, field] of Object.entries(QUOTA_FLAGS)) {
    const key = flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (o[key] !== undefined) change[field] = parseQuotaValue(flag, o[key]);
  }
  await setQuota(api(cmd), name, change, out);
});
program
  .command('usage')
  .description("the tenant's usage per UTC day: runs, task-seconds, CPU-seconds, agent-hours (chargeback)")
  .option('--from <day>', 'first day (YYYY-MM-DD); default 29 days before --to')
  .option('--to <day>', 'last day (YYYY-MM-DD); default today')
  .option('--csv', 'print CSV (for a spreadsheet or a billing system)')
  .action(async (o: { from?: string; to?: string; csv?: boolean }, cmd: Command) => showUsage(api(cmd), o, out));

const secrets = program
  .command('secrets')
  .description("list the tenant's secrets (names and who wrote them; values are never shown)")
  .action(async (_o: unknown, cmd: Command) => listSecrets(api(cmd), out));
secrets
  .command('rotate-key')
  .description('platform admins: seal every secret again under the first key of BATON_SECRETS_KEY')
  .action(async (_o: unknown, cmd: Command) => {
    process.exitCode = await rotateSecretsKey(api(cmd), out);
  });
const secret = program.command('secret').description('store or delete one secret ({{ secrets.NAME }} in jobs)');
secret
  .command('set <name>')
  .description('create or replace a secret; the value comes from --value or standard input')
  .option('--value <value>', 'the value (visible in the shell history and process list: prefer standard input)')
  .action(async (name: string, o: { value?: string }, cmd: Command) => setSecret(api(cmd), name, o.value, out));
secret
  .command('delete <name>')
  .description('delete a secret; tasks that still refer to it fail at dispatch')
  .action(async (name: string, _o: unknown, cmd: Command) => deleteSecret(api(cmd), name, out));

program
  .command('agent-token')
  .description('manage agent tokens')
  .command('create')
  .option('--name <name>', 'a label for the token', 'agent')
  .action(async (o: { name: string }, cmd: Command) => {
    const t = await api(cmd).request<{ id: string; token: string }>('POST', '/api/v1/agent-tokens', { name: o.name });
    out(t.token);
    process.stderr.write(`agent token ${t.id} created; it is shown once\n`);
  });

program
  .command('preview')
  .description('show the next fire times of a cron expression')
  .requiredOption('--cron <expr>', '6-field cron (seconds first) or 5-field')
  .option('--timezone <tz>', 'IANA time zone', 'UTC')
  .option('--count <n>', 'how many', '5')
  .action(async (o: { cron: string; timezone: string; count: string }, cmd: Command) => {
    const r = await api(cmd).request<{ fireTimes: string[] }>('POST', '/api/v1/schedule/preview', {
      cron: o.cron,
      timezone: o.timezone,
      count: Number(o.count),
    });
    for (const t of r.fireTimes) out(t);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`baton: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`baton: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`baton: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
