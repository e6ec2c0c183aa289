'use client';

import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type QuotaLine, type QuotaView, type UsageDay, api, client } from '@/api/client';
import { useCan } from '@/auth/permissions';
import { Chart, type ChartOption } from '@/components/chart';
import { Empty, ErrorState, Loading, problemText, useTitle } from '@/components/feedback';
import { saveFile } from '@/lib/download';
import { useQueryState } from '@/lib/url';

const DAY = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const USAGE_COLUMNS = [
  'runsStarted',
  'runsSucceeded',
  'runsFailed',
  'taskSeconds',
  'cpuSeconds',
  'agentHours',
] as const;
type UsageTotals = Record<(typeof USAGE_COLUMNS)[number], number>;

/** Quotas and usage: each quota against current use, usage per day, and (platform admins) the quota editor. */
export function QuotasView() {
  const { t } = useTranslation();
  useTitle(t('quotas.title'));
  const quota = api.useQuery('get', '/api/v1/quota', {}, { refetchInterval: 10_000 });
  const mayEdit = useCan('PUT /api/v1/tenants/{id}/quota');
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('quotas.title')}</h1>
      </div>
      <section aria-labelledby="quotas-now">
        <h2 id="quotas-now">{t('quotas.now')}</h2>
        {quota.isPending ? (
          <Loading />
        ) : quota.isError ? (
          <ErrorState error={quota.error} onRetry={() => void quota.refetch()} />
        ) : (
          <QuotaTable lines={quota.data.quotas} />
        )}
      </section>
      <Usage />
      {mayEdit && quota.data && <QuotaEditor view={quota.data} />}
    </div>
  );
}

function QuotaTable({ lines }: { lines: readonly QuotaLine[] }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="table" data-testid="quota-table">
        <caption className="visually-hidden">{t('quotas.now')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('quotas.quota')}</th>
            <th scope="col">{t('quotas.use')}</th>
            <th scope="col">{t('quotas.limit')}</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((q) => (
            <tr key={q.name} data-quota={q.name}>
              <th scope="row">
                <span className="cell-stack">
                  <span>{t(`quotas.names.${q.name}`)}</span>
                  <span className="muted small mono">{q.name}</span>
                </span>
              </th>
              <td>
                {q.limit === null ? (
                  <span className="num" data-field="used">
                    {q.used}
                  </span>
                ) : (
                  <span className="meter-wrap">
                    <meter
                      min={0}
                      max={q.limit}
                      high={q.limit * 0.8}
                      optimum={0}
                      value={Math.min(q.used, q.limit)}
                      aria-label={t(`quotas.names.${q.name}`)}
                    />
                    <span className="num" data-field="used">
                      {t('quotas.usedOf', { used: q.used, limit: q.limit })}
                    </span>
                  </span>
                )}
              </td>
              <td data-field="limit">
                {q.limit === null ? <span className="muted">{t('quotas.unlimited')}</span> : q.limit}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Platform admins: the tenant's quotas, a blank field meaning not limited. */
function QuotaEditor({ view }: { view: QuotaView }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const save = api.useMutation('put', '/api/v1/tenants/{id}/quota');
  const initial = useMemo(
    () => Object.fromEntries(view.quotas.map((q) => [q.name, q.limit === null ? '' : String(q.limit)])),
    [view],
  );
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [saved, setSaved] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const body = Object.fromEntries(
      view.quotas.map((q) => {
        const v = (values[q.name] ?? '').trim();
        return [q.name, v === '' ? null : Number(v)];
      }),
    );
    save.mutate(
      { params: { path: { id: view.tenantId } }, body },
      {
        onSuccess: () => {
          setSaved(true);
          void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/quota'] });
        },
      },
    );
  };
  return (
    <form className="card quota-editor" onSubmit={submit} aria-labelledby="quota-edit" data-testid="quota-editor">
      <h3 id="quota-edit">{t('quotas.edit')}</h3>
      <p className="muted small">{t('quotas.editHint')}</p>
      <div className="quota-grid">
        {view.quotas.map((q) => (
          <label key={q.name} className="field">
            <span>{t(`quotas.names.${q.name}`)}</span>
            <input
              type="number"
              step={1}
              inputMode="numeric"
              name={q.name}
              value={values[q.name] ?? ''}
              placeholder={t('quotas.unlimited')}
              onChange={(e) => setValues({ ...values, [q.name]: e.target.value })}
            />
          </label>
        ))}
      </div>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {t('quotas.save')}
        </button>
        {saved && !save.isPending && (
          <span role="status" className="muted">
            {t('quotas.saved')}
          </span>
        )}
      </div>
      {save.isError && (
        <p role="alert" className="form-error">
          {problemText(save.error)}
        </p>
      )}
    </form>
  );
}

/** Usage per UTC day over the range in the URL (default: the last 30 days). */
function Usage() {
  const { t } = useTranslation();
  const [params, update] = useQueryState();
  // Today as of the first render (the range in the URL wins).
  const [today] = useState(() => isoDay(Date.now()));
  const to = DAY_RE.test(params.get('to') ?? '') ? params.get('to')! : today;
  const from = DAY_RE.test(params.get('from') ?? '') ? params.get('from')! : isoDay(Date.parse(to) - 29 * DAY);
  const usage = api.useQuery('get', '/api/v1/usage', { params: { query: { from, to } } });
  return (
    <section aria-labelledby="usage-head">
      <div className="page-head">
        <h2 id="usage-head">{t('quotas.usage')}</h2>
        <div className="filters">
          <label className="inline-field">
            <span>{t('quotas.from')}</span>
            <input type="date" value={from} max={to} onChange={(e) => update({ from: e.target.value })} />
          </label>
          <label className="inline-field">
            <span>{t('quotas.to')}</span>
            <input type="date" value={to} min={from} onChange={(e) => update({ to: e.target.value })} />
          </label>
          <UsageCsv from={from} to={to} />
        </div>
      </div>
      {usage.isPending ? (
        <Loading />
      ) : usage.isError ? (
        <ErrorState error={usage.error} onRetry={() => void usage.refetch()} />
      ) : usage.data.totals.runsStarted === 0 && usage.data.totals.agentHours === 0 ? (
        <Empty title={t('quotas.noUsage')} />
      ) : (
        <>
          <UsageChart days={usage.data.days} />
          <dl className="stats" data-testid="usage-totals">
            {USAGE_COLUMNS.map((k) => (
              <div key={k} data-field={k}>
                <dt>{t(`quotas.columns.${k}`)}</dt>
                <dd className="num">{usage.data.totals[k]}</dd>
              </div>
            ))}
          </dl>
          <UsageTable days={usage.data.days} totals={usage.data.totals} />
        </>
      )}
    </section>
  );
}

/** Downloads the range's usage as CSV, as the API writes it (one line a UTC day). */
function UsageCsv({ from, to }: { from: string; to: string }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await client.GET('/api/v1/usage', {
        params: { query: { from, to, format: 'csv' } },
        parseAs: 'blob',
      });
      if (r.error !== undefined) throw new Error(problemText(r.error));
      saveFile(r.data, `usage-${from}-${to}.csv`);
    } catch (e) {
      setError(problemText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="btn" disabled={busy} onClick={() => void download()} data-testid="usage-csv">
        {busy ? t('common.working') : t('quotas.downloadCsv')}
      </button>
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
    </>
  );
}

/** The usage per day as a table, newest day first, the range's totals at the foot. */
function UsageTable({ days, totals }: { days: readonly UsageDay[]; totals: UsageTotals }) {
  const { t } = useTranslation();
  const rows = useMemo(() => [...days].reverse(), [days]);
  return (
    <div className="table-wrap">
      <table className="table" data-testid="usage-table">
        <caption className="visually-hidden">{t('quotas.usage')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('quotas.day')}</th>
            {USAGE_COLUMNS.map((k) => (
              <th key={k} scope="col" className="num">
                {t(`quotas.columns.${k}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <UsageRow key={d.day} id={d.day} values={d}>
              <span className="mono">{d.day}</span>
            </UsageRow>
          ))}
        </tbody>
        <tfoot>
          <UsageRow id="total" values={totals}>
            {t('quotas.total')}
          </UsageRow>
        </tfoot>
      </table>
    </div>
  );
}

/** One day's (or the range's) figures, a cell per column. */
function UsageRow({ id, values, children }: { id: string; values: UsageTotals; children: ReactNode }) {
  return (
    <tr data-day={id}>
      <th scope="row">{children}</th>
      {USAGE_COLUMNS.map((k) => (
        <td key={k} className="num" data-field={k}>
          {values[k]}
        </td>
      ))}
    </tr>
  );
}

function UsageChart({ days }: { days: readonly UsageDay[] }) {
  const { t } = useTranslation();
  const option: ChartOption = useMemo(
    () => ({
      animation: false,
      grid: { left: 8, right: 8, top: 28, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis' },
      legend: {
        top: 0,
        data: [
          t('quotas.columns.runsSucceeded'),
          t('quotas.columns.runsFailed'),
          t('quotas.columns.taskSeconds'),
          t('quotas.columns.cpuSeconds'),
        ],
      },
      xAxis: { type: 'category', data: days.map((d) => d.day.slice(5)) },
      yAxis: [
        { type: 'value', min: 0, minInterval: 1 },
        { type: 'value', min: 0, axisLabel: { formatter: '{value} s' }, splitLine: { show: false } },
      ],
      series: [
        {
          type: 'bar',
          stack: 'runs',
          name: t('quotas.columns.runsSucceeded'),
          data: days.map((d) => d.runsSucceeded),
          itemStyle: { color: '#1f9d55' },
        },
        {
          type: 'bar',
          stack: 'runs',
          name: t('quotas.columns.runsFailed'),
          data: days.map((d) => d.runsFailed),
          itemStyle: { color: '#d64545' },
        },
        {
          type: 'line',
          yAxisIndex: 1,
          name: t('quotas.columns.taskSeconds'),
          data: days.map((d) => d.taskSeconds),
          itemStyle: { color: '#2f6fde' },
        },
        {
          type: 'line',
          yAxisIndex: 1,
          name: t('quotas.columns.cpuSeconds'),
          data: days.map((d) => d.cpuSeconds),
          itemStyle: { color: '#9b59b6' },
        },
      ],
    }),
    [days, t],
  );
  return (
    <figure className="trend" data-testid="usage-chart">
      <Chart option={option} height={240} label={t('quotas.chartLabel')} />
    </figure>
  );
}
