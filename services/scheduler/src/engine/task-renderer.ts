import { Inject, Injectable } from '@nestjs/common';
import {
  type JobDefinition,
  type TaskExecutionSpec,
  type TemplateContext,
  buildTemplateContext,
  paramsEnv,
  renderShellCommand,
  renderTemplate,
} from '@baton/domain';
import type { RunEntity, TaskRunEntity } from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import type { TaskSpec } from '@baton/proto';

/** The execution part of a task, or of its compensation. */
export type Executable = TaskExecutionSpec;

export type Rendered = { ok: true; spec: TaskSpec } | { ok: false; error: string };

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
  constructor(@Inject(BATON_CONFIG) private readonly config: BatonConfig) {}

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

  render(run: RunEntity, def: JobDefinition, task: Executable, outputs: Record<string, unknown>): Rendered {
    const ctx = this.context(run, def, outputs);
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
          BATON_CONTEXT: JSON.stringify(ctx),
        },
        timeoutMs: task.timeoutMs,
        killGraceMs: this.config.scheduler.killGraceMs,
        workingDir: '',
        http,
        script,
        sql,
      },
    };
  }

  /** Whether rendering needs the upstream outputs (saves a read when nothing can refer to them). */
  needsOutputs(task: Executable): boolean {
    // BATON_CONTEXT carries the outputs too; skip the read only for tasks that cannot use them.
    return task.type !== 'noop';
  }
}
