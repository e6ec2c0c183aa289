'use client';

import Link from 'next/link';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Job, type Problem, type SlaBacktest, api } from '@/api/client';
import { useCan } from '@/auth/permissions';
import { type Column, DataTable } from '@/components/data-table';
import { Empty, Loading, problemText } from '@/components/feedback';
import { StateBadge } from '@/components/state-badge';
import { useFormatters } from '@/lib/prefs';
import { href, useQueryState } from '@/lib/url';

const FIELDS = ['finishBy', 'startBy', 'maxDuration', 'timezone', 'runs'] as const;
type Field = (typeof FIELDS)[number];
type Miss = SlaBacktest['misses'][number];

const PLACEHOLDERS: Record<Field, string> = {
  finishBy: '06:00+1d',
  startBy: '01:00+1d',
  maxDuration: '2h',
  timezone: 'UTC',
  runs: '100',
};

/** The API's field path (`sla.finishBy`, `runs`) as one of the form's fields. */
function fieldOf(path: string | undefined): Field | null {
  const key = (path ?? '').replace(/^sla\./, '').split(/[.[]/)[0];
  return (FIELDS as readonly string[]).includes(key ?? '') ? (key as Field) : null;
}

/** A problem+json answer split into messages on the form's fields (by `errors[].path`) and the rest. */
function problemOnFields(error: unknown): { fieldErrors: Partial<Record<Field, string>>; formError: string | null } {
  if (!error) return { fieldErrors: {}, formError: null };
  const p = error as Problem;
  const fieldErrors: Partial<Record<Field, string>> = {};
  const rest: string[] = [];
  for (const x of p.errors ?? []) {
    const field = fieldOf(x.path);
    if (field) fieldErrors[field] ??= x.message ?? '';
    else rest.push(x.path ? `${x.path}: ${x.message ?? ''}` : (x.message ?? ''));
  }
  if (Object.keys(fieldErrors).length === 0) return { fieldErrors, formError: problemText(error) };
  // The detail only repeats the fields' messages: they are shown on the fields.
  return { fieldErrors, formError: rest.length > 0 ? rest.join('; ') : null };
}

/**
 * The job's SLA: what its current version declares (as written), and a
 * backtest of a proposal against its last finished runs
 * (`POST /api/v1/jobs/{name}/sla/backtest`), whose misses link to their runs.
 */
export function SlaTab({ job }: { job: Job }) {
  const { t } = useTranslation();
  const declared = job.source.sla;
  return (
    <section aria-labelledby="job-sla-title">
      <div className="section-head">
        <h2 id="job-sla-title">{t('sla.declaredTitle')}</h2>
      </div>
      {declared ? (
        <dl className="facts" data-testid="sla-declared">
          {(['finishBy', 'startBy', 'maxDuration', 'warnBefore'] as const).map((k) => (
            <div key={k}>
              <dt>{t(`sla.fields.${k}`)}</dt>
              <dd className="mono">{declared[k] ?? t('common.none')}</dd>
            </div>
          ))}
          <div>
            <dt>{t('sla.fields.timezone')}</dt>
            <dd className="mono">{declared.timezone ?? 'UTC'}</dd>
          </div>
        </dl>
      ) : (
        <Empty title={t('sla.noneDeclared')}>{t('sla.noneDeclaredHint')}</Empty>
      )}
      <BacktestForm job={job} />
    </section>
  );
}

function BacktestForm({ job }: { job: Job }) {
  const { t } = useTranslation();
  const canBacktest = useCan('POST /api/v1/jobs/{name}/sla/backtest');
  const declared = job.source.sla;
  // The proposal tested is the one in the address (`&finishBy=06:00%2B1d&runs=100`): a link shows the same
  // backtest, and the result is a query of it (the backtest only reads).
  const [params, setParams] = useQueryState();
  const [values, setValues] = useState<Record<Field, string>>(() => ({
    finishBy: params.get('finishBy') ?? declared?.finishBy ?? '',
    startBy: params.get('startBy') ?? declared?.startBy ?? '',
    maxDuration: params.get('maxDuration') ?? declared?.maxDuration ?? '',
    timezone: params.get('timezone') ?? declared?.timezone ?? '',
    runs: params.get('runs') ?? '100',
  }));
  const proposed = FIELDS.some((k) => params.has(k));
  const sla: Record<string, string> = {};
  for (const k of ['finishBy', 'startBy', 'maxDuration', 'timezone'] as const) {
    const v = params.get(k);
    if (v) sla[k] = v;
  }
  const runs = params.get('runs');
  const backtest = api.useQuery(
    'post',
    '/api/v1/jobs/{name}/sla/backtest',
    { params: { path: { name: job.name } }, body: { sla, ...(runs ? { runs: Number(runs) } : {}) } },
    { enabled: canBacktest && proposed, retry: false, staleTime: 0, refetchOnWindowFocus: false },
  );
  const { fieldErrors, formError } = useMemo(() => problemOnFields(backtest.error), [backtest.error]);
  if (!canBacktest) return null;

  const submit = () => {
    const next = Object.fromEntries(FIELDS.map((k) => [k, values[k].trim() || null]));
    if (FIELDS.every((k) => (params.get(k) ?? null) === next[k])) void backtest.refetch();
    else setParams(next);
  };
  const result = backtest.isError ? null : (backtest.data ?? null);

  return (
    <>
      <div className="section-head sla-backtest-head">
        <h2 id="sla-backtest-title">{t('sla.backtestTitle')}</h2>
        <span className="muted small">{t('sla.backtestHint')}</span>
      </div>
      <form
        className="sla-form"
        aria-labelledby="sla-backtest-title"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <div className="form-row sla-form-row">
          {FIELDS.map((k) => (
            <label key={k} className="field" data-field={k}>
              <span>{t(`sla.fields.${k}`)}</span>
              <input
                className="mono"
                name={k}
                type={k === 'runs' ? 'number' : 'text'}
                min={k === 'runs' ? 1 : undefined}
                max={k === 'runs' ? 1000 : undefined}
                value={values[k]}
                placeholder={PLACEHOLDERS[k]}
                aria-invalid={fieldErrors[k] ? true : undefined}
                aria-describedby={fieldErrors[k] ? `sla-${k}-error` : undefined}
                onChange={(e) => setValues((v) => ({ ...v, [k]: e.target.value }))}
              />
              {fieldErrors[k] && (
                <span id={`sla-${k}-error`} className="field-error" role="alert">
                  {fieldErrors[k]}
                </span>
              )}
            </label>
          ))}
        </div>
        <p className="form-error" role="alert">
          {formError}
        </p>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={backtest.isFetching}>
            {backtest.isFetching ? t('sla.backtesting') : t('sla.backtest')}
          </button>
        </div>
      </form>
      {backtest.isFetching && !result && <Loading />}
      {result && <BacktestResult result={result} />}
    </>
  );
}

function BacktestResult({ result }: { result: SlaBacktest }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const columns: Column<Miss>[] = [
    {
      id: 'run',
      header: t('sla.run'),
      rowHeader: true,
      cell: (m) => (
        <Link href={href.run(m.runId)} className="mono">
          {m.runId.slice(-12)}
        </Link>
      ),
    },
    { id: 'logicalDate', header: t('runs.logicalDate'), cell: (m) => f.instant(m.logicalDate) },
    { id: 'state', header: t('runs.state'), cell: (m) => <StateBadge state={m.state} /> },
    { id: 'finishedAt', header: t('run.finished'), cell: (m) => f.instant(m.finishedAt, { ms: true }) },
    { id: 'finishBy', header: t('sla.finishBy'), cell: (m) => f.instant(m.finishBy) },
    { id: 'late', header: t('sla.lateBy'), className: 'num', cell: (m) => f.duration(m.lateByMs) },
    { id: 'reason', header: t('sla.reason'), className: 'wrap', cell: (m) => m.reason ?? t('common.none') },
  ];
  const ratio = result.metRatio === null ? t('common.none') : `${(result.metRatio * 100).toFixed(1)} %`;
  return (
    <div className="sla-result" data-testid="sla-backtest-result" data-missed={result.missed}>
      {result.runs === 0 ? (
        <Empty title={t('sla.noHistory')} />
      ) : (
        <>
          <dl className="facts">
            <div>
              <dt>{t('sla.met')}</dt>
              <dd data-testid="backtest-met">
                <span
                  className={`badge ${result.missed === 0 ? 'tone-ok' : result.met === 0 ? 'tone-bad' : 'tone-warn'}`}
                >
                  {t('sla.metOf', { met: result.met, runs: result.runs })}
                </span>
              </dd>
            </div>
            <div>
              <dt>{t('sla.missed')}</dt>
              <dd data-testid="backtest-missed">
                <span className={`badge ${result.missed > 0 ? 'tone-bad' : 'tone-muted'}`}>{result.missed}</span>
              </dd>
            </div>
            <div>
              <dt>{t('sla.metRatio')}</dt>
              <dd data-testid="backtest-ratio">{ratio}</dd>
            </div>
            <div>
              <dt>{t('sla.worstLateness')}</dt>
              <dd data-testid="backtest-worst">{f.duration(result.worstLatenessMs)}</dd>
            </div>
            <div className="facts-wide">
              <dt>{t('sla.range')}</dt>
              <dd>{t('sla.rangeValue', { from: f.instant(result.from), to: f.instant(result.to) })}</dd>
            </div>
          </dl>
          <h3>{t('sla.missesTitle', { count: result.misses.length })}</h3>
          {result.misses.length === 0 ? (
            <p className="muted">{t('sla.noMisses')}</p>
          ) : (
            <DataTable
              caption={t('sla.missesTitle', { count: result.misses.length })}
              columns={columns}
              rows={result.misses}
              rowKey={(m) => m.runId}
              rowAttrs={(m) => ({ 'data-run': m.runId })}
              testId="backtest-misses"
              compact
            />
          )}
        </>
      )}
    </div>
  );
}
