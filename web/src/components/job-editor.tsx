'use client';

import { useQueryClient } from '@tanstack/react-query';
import { Ajv2020 } from 'ajv/dist/2020';
import { useCallback, useDeferredValue, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Document, isScalar, visit } from 'yaml';
import { type JobApplied, type Problem, api } from '@/api/client';
import { ErrorState, Loading } from '@/components/feedback';
import { YamlEditor } from '@/components/yaml-editor';
import { type ProblemWords, type TextProblem, fieldProblems, parseJobYaml, schemaProblems } from '@/lib/job-yaml';

/** A definition as YAML text, in the order a person writes it. */
export function toYaml(source: Record<string, unknown>): string {
  const doc = new Document(source);
  // Short lists of plain values read best on one line: `dependsOn: [extract]`.
  visit(doc, {
    Seq(_, node) {
      const plain = (i: unknown) => isScalar(i) && !String(i.value).includes('\n');
      if (node.items.length > 0 && node.items.every(plain)) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** The editor checks the shape against the platform's JSON Schema, fetched once per session. */
function useJobValidator() {
  const schema = api.useQuery('get', '/api/v1/schemas/job.json', {}, { staleTime: Infinity });
  const validate = useMemo(
    () => (schema.data ? new Ajv2020({ allErrors: true, strict: false }).compile(schema.data) : null),
    [schema.data],
  );
  return { schema, validate };
}

interface Sent {
  text: string;
  problem: Problem;
}

/**
 * Edits a job definition as YAML: problems are marked at their line as you
 * type (YAML syntax, then the JSON Schema), and Save sends it with
 * `PUT /api/v1/jobs/{name}`; the API's field errors are marked the same way.
 * Without `canEdit` it is a read-only view.
 */
export function JobEditor({
  initial,
  jobName,
  canEdit,
  onSaved,
}: {
  initial: string;
  /** The job being edited; null for a new job (its name is the definition's `name`). */
  jobName: string | null;
  canEdit: boolean;
  onSaved?: (job: JobApplied) => void;
}) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const { schema, validate } = useJobValidator();
  const [text, setText] = useState(initial);
  const [sent, setSent] = useState<Sent | null>(null);
  const [saved, setSaved] = useState<JobApplied | null>(null);
  const save = api.useMutation('put', '/api/v1/jobs/{name}');

  const words: ProblemWords = useMemo(
    () => ({
      unknownField: (field) => t('editor.unknownField', { field }),
      required: (field) => t('editor.required', { field }),
      oneOf: (values) => t('editor.oneOf', { values }),
    }),
    [t],
  );
  const problemsOf = useCallback(
    (value: string): TextProblem[] => {
      const parsed = parseJobYaml(value);
      if (parsed.syntax.length > 0) return parsed.syntax;
      const local = validate ? schemaProblems(validate, parsed, value, words) : [];
      // The API's answer stays marked while the text is the one it answered about.
      const remote = sent && sent.text === value ? fieldProblems(parsed, value, sent.problem.errors ?? []) : [];
      return [...local, ...remote];
    },
    [validate, words, sent],
  );
  // Checked a moment behind fast typing, so keystrokes never wait for the validator.
  const checked = useDeferredValue(text);
  const problems = useMemo(
    () => problemsOf(checked).sort((a, b) => a.from - b.from || a.path.localeCompare(b.path)),
    [problemsOf, checked],
  );
  const localProblems =
    sent && sent.text === text ? problems.length - (sent.problem.errors?.length ?? 0) : problems.length;

  const submit = () => {
    const parsed = parseJobYaml(text);
    if (parsed.syntax.length > 0 || typeof parsed.value !== 'object' || parsed.value === null) return;
    const body = parsed.value as { name?: unknown };
    const name = jobName ?? (typeof body.name === 'string' ? body.name : '');
    setSaved(null);
    save.mutate(
      { params: { path: { name } }, body: body as never },
      {
        onSuccess: (job) => {
          setSent(null);
          setSaved(job);
          void queryClient.invalidateQueries();
          if (job.changed) setText(toYaml(job.source));
          onSaved?.(job);
        },
        onError: (problem) => setSent({ text, problem: problem as Problem }),
      },
    );
  };

  if (schema.isPending && canEdit) return <Loading />;
  if (schema.isError && canEdit) return <ErrorState error={schema.error} onRetry={() => void schema.refetch()} />;
  const dirty = text !== initial || jobName === null;
  const serverProblem = sent && sent.text === text ? sent.problem : null;
  return (
    <div className="job-editor">
      <YamlEditor
        value={text}
        onChange={setText}
        readOnly={!canEdit}
        problems={problems}
        problemsText={checked}
        label={t('editor.label')}
        testId="yaml-editor"
      />
      <div className="editor-status" role="status" aria-live="polite" data-testid="editor-status">
        {problems.length === 0 ? (
          <span className="badge tone-ok">{t('editor.noProblems')}</span>
        ) : (
          <span className="badge tone-bad">{t('editor.problems', { count: problems.length })}</span>
        )}
        {saved && (
          <span className="muted">
            {saved.changed ? t('editor.savedVersion', { version: saved.version }) : t('editor.unchanged')}
          </span>
        )}
      </div>
      {serverProblem?.detail && (serverProblem.errors?.length ?? 0) === 0 && (
        <p className="form-error" role="alert">
          {serverProblem.detail}
        </p>
      )}
      {problems.length > 0 && (
        <ul className="problem-list" data-testid="yaml-problems">
          {problems.map((p, i) => (
            <li key={i} data-line={p.line}>
              <span className="mono muted">{t('editor.line', { line: p.line })}</span> {p.path && <code>{p.path}</code>}{' '}
              {p.message}
            </li>
          ))}
        </ul>
      )}
      {canEdit && (
        <div className="actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={save.isPending || localProblems > 0 || checked !== text || !dirty}
            onClick={submit}
          >
            {save.isPending ? t('common.working') : t('editor.save')}
          </button>
          {jobName !== null && (
            <button
              type="button"
              className="btn"
              disabled={save.isPending || text === initial}
              onClick={() => {
                setText(initial);
                setSent(null);
              }}
            >
              {t('editor.reset')}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
