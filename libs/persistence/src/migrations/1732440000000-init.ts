import { type MigrationInterface, type QueryRunner, Table, TableIndex, type TableColumnOptions } from 'typeorm';

type Col = TableColumnOptions;

export class Init1732440000000 implements MigrationInterface {
  name = 'Init1732440000000';

  async up(q: QueryRunner): Promise<void> {
    const mysql = q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb';
    const id = (name = 'id'): Col => ({ name, type: 'varchar', length: '36', isPrimary: true });
    const str = (name: string, length: number, isNullable = false): Col => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable,
    });
    const ref = (name: string, isNullable = false) => str(name, 36, isNullable);
    const ms = (name: string, isNullable = false): Col => ({ name, type: 'bigint', isNullable });
    const int = (name: string, isNullable = false, def?: number): Col => ({
      name,
      type: 'int',
      isNullable,
      ...(def === undefined ? {} : { default: def }),
    });
    // MySQL TEXT stops at 64 KiB; definitions and outputs can be larger.
    const text = (name: string, isNullable = false): Col => ({
      name,
      type: mysql ? 'longtext' : 'text',
      isNullable,
    });
    const serial = (name: string): Col => ({
      name,
      type: mysql ? 'bigint' : 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    });
    const table = async (name: string, columns: Col[], indices: TableIndex[] = []) => {
      await q.createTable(new Table({ name, columns, indices }), true);
    };
    const idx = (name: string, columnNames: string[], isUnique = false) =>
      new TableIndex({ name, columnNames, isUnique });

    await table('tenants', [id(), str('name', 100), ms('created_at')], [idx('uq_tenants_name', ['name'], true)]);
    await table(
      'api_keys',
      [
        id(),
        ref('tenant_id'),
        str('name', 100),
        str('role', 40),
        str('prefix', 24),
        str('hash', 64),
        ms('created_at'),
        ms('revoked_at', true),
      ],
      [idx('uq_api_keys_hash', ['hash'], true), idx('ix_api_keys_tenant', ['tenant_id', 'created_at'])],
    );
    await table(
      'agent_tokens',
      [
        id(),
        ref('tenant_id'),
        str('name', 100),
        str('prefix', 24),
        str('hash', 64),
        ms('created_at'),
        ms('revoked_at', true),
      ],
      [idx('uq_agent_tokens_hash', ['hash'], true), idx('ix_agent_tokens_tenant', ['tenant_id', 'created_at'])],
    );
    await table(
      'agents',
      [
        id(),
        ref('tenant_id'),
        str('name', 100),
        text('labels'),
        int('slots'),
        int('cpu_millis'),
        int('memory_mb'),
        str('version', 40),
        str('status', 20),
        ref('session_id', true),
        ref('token_id', true),
        ms('connected_at', true),
        ms('last_seen_at', true),
        ms('created_at'),
      ],
      [idx('uq_agents_tenant_name', ['tenant_id', 'name'], true)],
    );
    await table(
      'jobs',
      [id(), ref('tenant_id'), str('name', 100), int('current_version'), ms('created_at'), ms('updated_at')],
      [idx('uq_jobs_tenant_name', ['tenant_id', 'name'], true)],
    );
    await table(
      'job_versions',
      [id(), ref('tenant_id'), ref('job_id'), int('version'), text('definition'), ms('created_at')],
      [idx('uq_job_versions_job_version', ['job_id', 'version'], true)],
    );
    await table(
      'triggers',
      [
        id(),
        ref('tenant_id'),
        ref('job_id'),
        str('job_name', 100),
        int('position'),
        str('type', 20),
        text('spec'),
        { name: 'enabled', type: 'boolean' },
        ms('next_fire_at', true),
        ms('last_fire_at', true),
        ms('created_at'),
      ],
      // The trigger claim: enabled triggers whose next slot is due.
      [idx('ix_triggers_due', ['enabled', 'next_fire_at']), idx('ix_triggers_job', ['tenant_id', 'job_id'])],
    );
    await table(
      'runs',
      [
        id(),
        ref('tenant_id'),
        ref('job_id'),
        str('job_name', 100),
        int('job_version'),
        ref('job_version_id'),
        str('state', 20),
        ms('logical_date'),
        text('params'),
        str('dedupe_key', 200),
        str('trigger_type', 20),
        ref('trigger_id', true),
        ms('created_at'),
        ms('started_at', true),
        ms('finished_at', true),
      ],
      [
        idx('uq_runs_tenant_dedupe', ['tenant_id', 'dedupe_key'], true),
        idx('ix_runs_tenant_job', ['tenant_id', 'job_name', 'created_at']),
        idx('ix_runs_tenant_state', ['tenant_id', 'state', 'created_at']),
      ],
    );
    await table(
      'task_runs',
      [
        id(),
        ref('tenant_id'),
        ref('run_id'),
        str('task_key', 100),
        str('state', 20),
        int('priority', false, 0),
        ms('ready_at', true),
        int('attempts_used', false, 0),
        ref('current_attempt_id', true),
        int('exit_code', true),
        text('output', true),
        text('error', true),
        ms('started_at', true),
        ms('finished_at', true),
        ms('updated_at'),
      ],
      [
        idx('uq_task_runs_run_key', ['run_id', 'task_key'], true),
        // Dispatch claim: queued work by priority, then age. Retry promotion: up_for_retry by ready_at.
        idx('ix_task_runs_claim', ['state', 'priority', 'ready_at']),
        idx('ix_task_runs_ready', ['state', 'ready_at']),
      ],
    );
    await table(
      'attempts',
      [
        id(),
        ref('tenant_id'),
        ref('run_id'),
        ref('task_run_id'),
        str('task_key', 100),
        int('number'),
        str('state', 20),
        ref('agent_id'),
        ref('session_id'),
        ms('expires_at', true),
        ms('assigned_at'),
        ms('started_at', true),
        ms('finished_at', true),
        int('exit_code', true),
        text('error', true),
        int('log_bytes', false, 0),
        int('log_seq', false, -1),
      ],
      [
        idx('ix_attempts_task_run', ['task_run_id', 'number']),
        // Ack timeouts and lease expiry: live attempts by deadline.
        idx('ix_attempts_expiry', ['state', 'expires_at']),
        idx('ix_attempts_agent', ['agent_id', 'state']),
      ],
    );
    await table(
      'task_logs',
      [serial('id'), ref('tenant_id'), ref('attempt_id'), int('seq'), str('stream', 6), text('data'), ms('created_at')],
      [idx('ix_task_logs_attempt', ['attempt_id', 'seq'])],
    );
    await table(
      'outbox',
      [
        serial('seq'),
        ref('id'),
        str('topic', 100),
        str('key', 100),
        str('type', 100),
        ref('tenant_id', true),
        text('payload'),
        text('headers', true),
        ms('created_at'),
        ms('published_at', true),
      ],
      [idx('ix_outbox_unpublished', ['published_at', 'seq'])],
    );
    await table(
      'processed_events',
      [serial('seq'), str('consumer', 100), ref('event_id'), ms('processed_at')],
      [idx('uq_processed_events', ['consumer', 'event_id'], true)],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'processed_events',
      'outbox',
      'task_logs',
      'attempts',
      'task_runs',
      'runs',
      'triggers',
      'job_versions',
      'jobs',
      'agents',
      'agent_tokens',
      'api_keys',
      'tenants',
    ]) {
      await q.dropTable(t, true);
    }
  }
}
