import { Inject, Injectable } from '@nestjs/common';
import {
  type JobDefinition,
  type TaskExecutionSpec,
  type TemplateContext,
  buildTemplateContext,
  paramsEnv,
  renderShellCommand,
  renderTemplate,
  secretRefs,
} from '@baton/domain';
import type { EntityManager } from 'typeorm';
import type { RunEntity, TaskRunEntity, TenantScope } from '@baton/persistence';
import { type SecretBox, openSecrets, secretsBox } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import type { TaskSpec } from '@baton/proto';
import { rememberSecretValues } from '@baton/telemetry';

/** The execution part of a task, or of its compensation. */
export type Executable = TaskExecutionSpec;

/** `secretValues`: the values of the secrets the spec refers to, for the agent to mask. */
export type Rendered = { ok: true; spec: TaskSpec; secretValues: string[] } | { ok: false; error: string };

export type OpenedTaskSecrets = { ok: true; values: Record<string, string> } | { ok: false; error: string };

/** The texts of a task that are rendered as templates (node and python3 script bodies are not). */
function templatedTexts(task: Executable): string[] {
  const texts = [...Object.values(task.env)];
  if (task.type === 'shell' && task.command) texts.push(task.command);
  if (task.script && (task.script.interpreter === 'bash' || task.script.interpreter === 'sh')) {
    texts.push(task.script.body);
  }
  if (task.http) texts.push(task.http.url, task.http.body ?? '', ...Object.values(task.http.headers));
  if (task.sql) {
    texts.push(task.sql.url, task.sql.statement);
    for (const p of task.sql.params) if (typeof p === 'string') texts.push(p);
  }
  return texts;
}

/** Upstream outputs by task key, from a run's task rows. */
export function outputsOf(rows: readonly TaskRunEntity[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rows) {
    if (r.output === null) continue;
    try {
      out[r.taskKey] = JSON.parse(r.output) as unknown;
    } catch {
      out[r.taskKey] = r.output;
    }
  }
  return out;
}

/**
 * Turns a task definition into the spec sent in Assign. Templates are
 * rendered against the run's context (`execution_date`, `biz_date`, `env`,
 * `params.*`, `tasks.<key>.output.*`); nothing is ever executed. In shell
 * commands and bash/sh scripts each value travels as an environment variable
 * referenced from the command, so a parameter cannot inject shell syntax.
 * node and python3 scripts read values from the environment
 * (`BATON_PARAM_*`, `BATON_CONTEXT`) rather than from rendered source.
 */
@Injectable()
export class TaskRenderer {
  private readonly box: SecretBox;

  constructor(@Inject(BATON_CONFIG) private readonly config: BatonConfig) {
    this.box = secretsBox(config);
  }

  /** The names of the tenant's secrets a task refers to (`{{ secrets.NAME }}`). */
  secretNames(task: Executable): string[] {
    return [...new Set(templatedTexts(task).flatMap(secretRefs))];
  }

  /**
   * Opens the secrets a task refers to, for `render`. A name that does not
   * exist is left out (rendering then fails naming it); one that no
   * configured key opens fails here, naming it and its key id.
   */
  async openSecrets(m: EntityManager, scope: TenantScope, task: Executable): Promise<OpenedTaskSecrets> {
    const names = this.secretNames(task);
    if (names.length === 0) return { ok: true, values: {} };
    const opened = await openSecrets(m, scope, this.box, names);
    if (opened.unreadable.length > 0) {
      return {
        ok: false,
        error: `secrets ${opened.unreadable.join(', ')} do not open with BATON_SECRETS_KEY (is that key still in it?)`,
      };
    }
    // This process's log lines never print them from now on.
    rememberSecretValues(Object.values(opened.values));
    return { ok: true, values: opened.values };
  }

  context(run: RunEntity, def: JobDefinition, outputs: Record<string, unknown>): TemplateContext {
    return buildTemplateContext({
      logicalDate: run.logicalDate,
      bizDateOffsetMs: def.bizDateOffsetMs ?? 86_400_000,
      env: this.config.env,
      runId: run.id,
      job: run.jobName,
      params: run.params,
      outputs,
    });
  }

  /** `secrets`: the values `openSecrets` gave; they reach only the spec, never `BATON_CONTEXT`. */
  render(
    run: RunEntity,
    def: JobDefinition,
    task: Executable,
    outputs: Record<string, unknown>,
    secrets: Record<string, string> = {},
  ): Rendered {
    const base = this.context(run, def, outputs);
    const ctx: TemplateContext = { ...base, secrets };
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(task.env)) {
      const r = renderTemplate(v, ctx);
      if (!r.ok) return { ok: false, error: `env.${k}: ${r.error}` };
      env[k] = r.value;
    }
    let command = task.command ?? '';
    const shellValues: Record<string, string> = {};
    if (task.type === 'shell') {
      const r = renderShellCommand(command, ctx);
      if (!r.ok) return { ok: false, error: `command: ${r.error}` };
      command = r.command;
      Object.assign(shellValues, r.env);
    }
    let script: TaskSpec['script'];
    if (task.script) {
      let body = task.script.body;
      if (task.script.interpreter === 'bash' || task.script.interpreter === 'sh') {
        const r = renderShellCommand(body, ctx);
        if (!r.ok) return { ok: false, error: `script.body: ${r.error}` };
        body = r.command;
        Object.assign(shellValues, r.env);
      }
      script = { interpreter: task.script.interpreter, body };
    }
    let http: TaskSpec['http'];
    if (task.http) {
      const url = renderTemplate(task.http.url, ctx);
      if (!url.ok) return { ok: false, error: `http.url: ${url.error}` };
      const body = renderTemplate(task.http.body ?? '', ctx);
      if (!body.ok) return { ok: false, error: `http.body: ${body.error}` };
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(task.http.headers)) {
        const r = renderTemplate(v, ctx);
        if (!r.ok) return { ok: false, error: `http.headers.${k}: ${r.error}` };
        headers[k] = r.value;
      }
      http = {
        method: task.http.method,
        url: url.value,
        headers,
        body: body.value,
        expectStatus: task.http.expectStatus,
      };
    }
    let sql: TaskSpec['sql'];
    if (task.sql) {
      const url = renderTemplate(task.sql.url, ctx);
      if (!url.ok) return { ok: false, error: `sql.url: ${url.error}` };
      const statement = renderTemplate(task.sql.statement, ctx);
      if (!statement.ok) return { ok: false, error: `sql.statement: ${statement.error}` };
      const params: unknown[] = [];
      for (const [i, p] of task.sql.params.entries()) {
        if (typeof p !== 'string') {
          params.push(p);
          continue;
        }
        const r = renderTemplate(p, ctx);
        if (!r.ok) return { ok: false, error: `sql.params[${i}]: ${r.error}` };
        params.push(r.value);
      }
      sql = {
        driver: task.sql.driver,
        url: url.value,
        statement: statement.value,
        paramsJson: JSON.stringify(params),
        maxRows: task.sql.maxRows,
        timeoutMs: task.timeoutMs,
      };
    }
    return {
      ok: true,
      spec: {
        type: task.type,
        command,
        env: {
          ...paramsEnv(run.params),
          ...env,
          ...shellValues,
          BATON_JOB: run.jobName,
          BATON_LOGICAL_DATE: ctx.execution_date,
          BATON_BIZ_DATE: ctx.biz_date,
          BATON_ENV: ctx.env,
          BATON_CONTEXT: JSON.stringify(base),
        },
        timeoutMs: task.timeoutMs,
        killGraceMs: this.config.scheduler.killGraceMs,
        workingDir: '',
        http,
        script,
        sql,
      },
      secretValues: Object.values(secrets),
    };
  }

  /** Whether rendering needs the upstream outputs (saves a read when nothing can refer to them). */
  needsOutputs(task: Executable): boolean {
    // BATON_CONTEXT carries the outputs too; skip the read only for tasks that cannot use them.
    return task.type !== 'noop';
  }
}
