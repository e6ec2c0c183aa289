import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@baton/config';
import { type JobDefinition, parseJobDefinition } from '@baton/domain';
import type { RunEntity } from '@baton/persistence';
import { TaskRenderer } from './task-renderer.js';
import { taskOf } from './definitions.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-renderer-'));
const renderer = new TaskRenderer(loadConfig({ BATON_DATA_DIR: dir }, dir));

function job(tasks: unknown[]): JobDefinition {
  const r = parseJobDefinition({ name: 'j', tasks });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

const run = {
  id: 'r1',
  tenantId: 't1',
  jobName: 'j',
  logicalDate: Date.UTC(2026, 0, 1),
  params: {},
} as unknown as RunEntity;

describe('TaskRenderer and secrets', () => {
  const def = job([
    {
      key: 'sh',
      type: 'shell',
      env: { PW: '{{ secrets.DB_PASSWORD }}' },
      command: 'curl -H "X: {{ secrets.TOKEN }}" {{ params.url | default("u") }}',
    },
    {
      key: 'web',
      type: 'http',
      http: { url: 'https://example.test/{{ secrets.PATH_KEY }}', headers: { A: 'Bearer {{ secrets.TOKEN }}' } },
    },
    { key: 'py', type: 'script', script: { interpreter: 'python3', body: 'print("{{ secrets.NOT_RENDERED }}")' } },
  ]);

  it.each([
    ['sh', ['DB_PASSWORD', 'TOKEN']],
    ['web', ['PATH_KEY', 'TOKEN']],
    // node and python3 bodies are not templates: nothing to resolve there.
    ['py', []],
  ])('finds the secrets task %s refers to', (key, names) => {
    expect(renderer.secretNames(taskOf(def, key)!).sort()).toEqual(names);
  });

  it('renders the values into the spec only, lists them for masking, and keeps them out of BATON_CONTEXT', () => {
    const secrets = { DB_PASSWORD: 'pw-value', TOKEN: 'tok-value' };
    const r = renderer.render(run, def, taskOf(def, 'sh')!, {}, secrets);
    if (!r.ok) throw new Error(r.error);
    expect(r.spec.env.PW).toBe('pw-value');
    expect(r.spec.command).not.toContain('tok-value');
    // In a shell command a value travels as an environment variable the command refers to.
    expect(Object.values(r.spec.env)).toContain('tok-value');
    expect(r.secretValues.sort()).toEqual(['pw-value', 'tok-value']);
    expect(r.spec.env.BATON_CONTEXT).not.toContain('pw-value');
    expect(r.spec.env.BATON_CONTEXT).not.toContain('secrets');
  });

  it('fails a task whose secret is missing, naming it', () => {
    const r = renderer.render(run, def, taskOf(def, 'web')!, {}, { TOKEN: 't' });
    expect(r).toEqual({ ok: false, error: 'http.url: secret PATH_KEY does not exist in this tenant' });
  });
});
