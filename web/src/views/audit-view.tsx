'use client';

import { useInfiniteQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Problem, type Schemas, api, client } from '@/api/client';
import { useSession } from '@/auth/session';
import { type Column, DataTable } from '@/components/data-table';
import { Empty, ErrorState, Loading, problemText, useTitle } from '@/components/feedback';
import { Filters } from '@/components/filters';
import { saveFile } from '@/lib/download';
import { usePrefs, useFormatters } from '@/lib/prefs';
import { useQueryState } from '@/lib/url';

type AuditRecord = Schemas['AuditRecord'];
type Verdict = Schemas['AuditVerdict'];

const PAGE = 50;
const TEXT_FILTERS = ['actor', 'action', 'target'] as const;
const TIME_FILTERS = ['from', 'to'] as const;
const FILTERS = [...TEXT_FILTERS, ...TIME_FILTERS, 'status'] as const;
type FilterName = (typeof FILTERS)[number];
type AuditFilter = Partial<Record<FilterName, string>>;
const STATUS_CLASSES = ['2xx', '4xx', '5xx'] as const;
const STATUS_CODES = ['401', '403', '404', '409', '429'] as const;

/** A refusal of the API as a thrown error that keeps the problem+json body (the error states show its fields). */
class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status ?? ''}`);
  }
}

/** The filters as the URL holds them (`?actor=&action=&target=&from=&to=&status=`; times as ISO instants). */
function useAuditFilter(): [AuditFilter, (f: AuditFilter) => void] {
  const [params, setParams] = useQueryState();
  const filter: AuditFilter = {};
  for (const k of FILTERS) {
    const v = params.get(k);
    if (v) filter[k] = v;
  }
  const set = (f: AuditFilter) => setParams(Object.fromEntries(FILTERS.map((k) => [k, f[k]?.trim() || null])));
  return [filter, set];
}

/**
 * The audit log: the tenant's records newest first with filters in the URL,
 * "Load more" pages, the chain's verification, and downloads of the filtered
 * CSV and of the signed checkpoints (a new one of the head first).
 */
export function AuditView() {
  const { t } = useTranslation();
  useTitle(t('audit.title'));
  const [filter, setFilter] = useAuditFilter();
  const { session } = useSession();
  const tenant = session?.tenant.name ?? 'tenant';
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('audit.title')}</h1>
        <p className="muted">{t('audit.intro', { tenant })}</p>
      </div>
      <VerifyPanel tenant={tenant} filter={filter} />
      <section className="card" aria-labelledby="audit-records-title">
        <div className="section-head">
          <h2 id="audit-records-title">{t('audit.records')}</h2>
        </div>
        {/* a new filter starts a new form, so its fields show the URL's values */}
        <AuditFilters key={JSON.stringify(filter)} filter={filter} onApply={setFilter} />
        <Records filter={filter} />
      </section>
    </div>
  );
}

/** An ISO instant as a `datetime-local` value in the zone times are shown in, and back. */
function useLocalTime() {
  const { utc } = usePrefs();
  return {
    show: (iso: string | undefined) => {
      if (!iso) return '';
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return '';
      const shifted = utc ? d : new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
      return shifted.toISOString().slice(0, 19);
    },
    read: (value: string) => {
      if (!value) return undefined;
      const d = new Date(utc ? `${value}Z` : value);
      return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
    },
  };
}

function AuditFilters({ filter, onApply }: { filter: AuditFilter; onApply: (f: AuditFilter) => void }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const time = useLocalTime();
  const id = useId();
  const [draft, setDraft] = useState(() => ({
    ...filter,
    from: time.show(filter.from),
    to: time.show(filter.to),
  }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply({ ...draft, from: time.read(draft.from ?? ''), to: time.read(draft.to ?? '') });
  };
  const field = (k: FilterName) => `${id}-${k}`;
  return (
    <form className="audit-filters" onSubmit={submit} data-testid="audit-filters">
      <Filters>
        {TEXT_FILTERS.map((k) => (
          <span className="inline-field" key={k}>
            <label htmlFor={field(k)}>{t(`audit.filter.${k}`)}</label>
            <input
              id={field(k)}
              type="search"
              name={k}
              value={draft[k] ?? ''}
              placeholder={t(`audit.filter.${k}Hint`)}
              onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
            />
          </span>
        ))}
        {TIME_FILTERS.map((k) => (
          <span className="inline-field" key={k}>
            <label htmlFor={field(k)}>{t(`audit.filter.${k}`, { zone: f.zone })}</label>
            <input
              id={field(k)}
              type="datetime-local"
              step={1}
              name={k}
              value={draft[k] ?? ''}
              onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
            />
          </span>
        ))}
        <span className="inline-field">
          <label htmlFor={field('status')}>{t('audit.filter.status')}</label>
          <select
            id={field('status')}
            name="status"
            value={draft.status ?? ''}
            onChange={(e) => setDraft({ ...draft, status: e.target.value })}
          >
            <option value="">{t('audit.filter.anyStatus')}</option>
            {STATUS_CLASSES.map((s) => (
              <option key={s} value={s}>
                {t(`audit.status.${s}`)}
              </option>
            ))}
            {STATUS_CODES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </span>
        <span className="actions">
          <button type="submit" className="btn btn-primary">
            {t('audit.filter.apply')}
          </button>
          {Object.keys(filter).length > 0 && (
            <button type="button" className="btn btn-quiet" onClick={() => onApply({})}>
              {t('audit.filter.clear')}
            </button>
          )}
        </span>
      </Filters>
    </form>
  );
}

function Records({ filter }: { filter: AuditFilter }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const q = useInfiniteQuery({
    queryKey: ['get', '/api/v1/audit', filter],
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) => {
      const query = { ...filter, limit: String(PAGE), ...(pageParam ? { cursor: pageParam } : {}) };
      const r = await client.GET('/api/v1/audit', { params: { query } });
      if (r.error !== undefined) throw new ApiError(r.error);
      return r.data;
    },
    getNextPageParam: (last) => last.nextCursor,
  });
  if (q.isPending) return <Loading />;
  // a failed next page keeps the pages shown and says so below them
  if (!q.data) return <ErrorState error={problemOf(q.error)} onRetry={() => void q.refetch()} />;
  const rows = q.data.pages.flatMap((p) => p.items);
  if (rows.length === 0)
    return (
      <Empty title={Object.keys(filter).length > 0 ? t('audit.noneMatch') : t('audit.empty')}>
        {Object.keys(filter).length > 0 ? t('audit.noneMatchHint') : null}
      </Empty>
    );
  const columns: Array<Column<AuditRecord>> = [
    { id: 'seq', header: t('audit.col.seq'), cell: (r) => <span className="num">{r.seq}</span>, rowHeader: true },
    { id: 'at', header: t('audit.col.occurredAt'), cell: (r) => f.instant(r.occurredAt, { ms: true }) },
    { id: 'actor', header: t('audit.col.actor'), cell: (r) => r.actor, className: 'wrap small' },
    { id: 'action', header: t('audit.col.action'), cell: (r) => <span className="mono">{r.action}</span> },
    { id: 'target', header: t('audit.col.target'), cell: (r) => <span className="mono small">{r.target}</span> },
    {
      id: 'status',
      header: t('audit.col.status'),
      cell: (r) => (
        <span className={`badge ${r.status >= 400 ? 'tone-bad' : 'tone-ok'}`} data-status={r.status}>
          {r.status}
        </span>
      ),
    },
    { id: 'detail', header: t('audit.col.detail'), cell: (r) => <Detail value={r.detail} />, className: 'wrap small' },
  ];
  return (
    <>
      <DataTable
        caption={t('audit.records')}
        columns={columns}
        rows={rows}
        rowKey={(r) => String(r.seq)}
        rowAttrs={(r) => ({ 'data-seq': String(r.seq) })}
        testId="audit-table"
        compact
      />
      <div className="pager">
        <span className="muted small" role="status">
          {t('audit.shown', { count: rows.length })}
        </span>
        {q.hasNextPage && (
          <button type="button" className="btn" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
            {q.isFetchingNextPage ? t('common.loading') : t('audit.loadMore')}
          </button>
        )}
        {q.isFetchNextPageError && (
          <span className="form-error" role="alert">
            {problemText(problemOf(q.error))}
          </span>
        )}
      </div>
    </>
  );
}

const problemOf = (e: unknown) => (e instanceof ApiError ? e.problem : e);

function Detail({ value }: { value: unknown }) {
  const { t } = useTranslation();
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === '{}') return <span className="muted">{t('common.none')}</span>;
  return <code className="audit-detail">{text}</code>;
}

/** Verify chain, Export CSV (the filtered records), Export checkpoints; and the verification's result. */
function VerifyPanel({ tenant, filter }: { tenant: string; filter: AuditFilter }) {
  const { t } = useTranslation();
  const verify = api.useMutation('get', '/api/v1/audit/verify');
  const [exporting, setExporting] = useState<'csv' | 'checkpoints' | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const [exported, setExported] = useState<string | null>(null);

  const run = async (kind: 'csv' | 'checkpoints', work: () => Promise<string>) => {
    setExporting(kind);
    setExportError(null);
    setExported(null);
    try {
      setExported(await work());
    } catch (e) {
      setExportError(problemText(e));
    } finally {
      setExporting(null);
    }
  };
  const exportCsv = () =>
    run('csv', async () => {
      const r = await client.GET('/api/v1/audit.csv', { params: { query: filter }, parseAs: 'blob' });
      if (r.error !== undefined) throw new Error(problemText(r.error));
      const name = `audit-${tenant}.csv`;
      saveFile(r.data, name);
      return t('audit.exportedCsv', { file: name });
    });
  const exportCheckpoints = () =>
    run('checkpoints', async () => {
      const signed = await client.POST('/api/v1/audit/checkpoints');
      // an empty log has nothing to sign: export what exists (nothing) all the same
      if (signed.error !== undefined && signed.response.status !== 409) throw new Error(problemText(signed.error));
      const r = await client.GET('/api/v1/audit/checkpoints');
      if (r.error !== undefined) throw new Error(problemText(r.error));
      const name = `audit-checkpoints-${tenant}.json`;
      saveFile(new Blob([JSON.stringify(r.data, null, 2) + '\n'], { type: 'application/json' }), name);
      return t('audit.exportedCheckpoints', { count: r.data.items.length, file: name });
    });

  return (
    <section className="card" aria-labelledby="audit-verify-title">
      <div className="section-head">
        <h2 id="audit-verify-title">{t('audit.chain')}</h2>
        <div className="actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={verify.isPending}
            onClick={() => verify.mutate({})}
            data-testid="audit-verify"
          >
            {verify.isPending ? t('audit.verifying') : t('audit.verify')}
          </button>
          <button type="button" className="btn" disabled={exporting !== null} onClick={() => void exportCsv()}>
            {exporting === 'csv' ? t('common.working') : t('audit.exportCsv')}
          </button>
          <button type="button" className="btn" disabled={exporting !== null} onClick={() => void exportCheckpoints()}>
            {exporting === 'checkpoints' ? t('common.working') : t('audit.exportCheckpoints')}
          </button>
        </div>
      </div>
      <p className="muted small">{t('audit.chainHint')}</p>
      {exported && (
        <p className="notice" role="status">
          {exported}
        </p>
      )}
      {exportError && (
        <p className="notice notice-bad" role="alert">
          {exportError}
        </p>
      )}
      {verify.isError && <ErrorState error={verify.error} onRetry={() => verify.mutate({})} />}
      {verify.data && <VerdictView v={verify.data} />}
    </section>
  );
}

function VerdictView({ v }: { v: Verdict }) {
  const { t } = useTranslation();
  const f = useFormatters();
  return (
    <div
      className={v.ok ? 'notice' : 'notice notice-bad'}
      role={v.ok ? 'status' : 'alert'}
      data-testid="audit-verdict"
      data-ok={v.ok ? 'true' : 'false'}
    >
      <p>
        <strong>
          {v.ok ? t('audit.intact', { count: v.checked }) : t('audit.broken', { seq: v.brokenAt ?? '?' })}
        </strong>{' '}
        {!v.ok && v.reason}
      </p>
      <dl className="facts">
        <Fact label={t('audit.checked')} value={v.checked} />
        {v.keyed !== undefined && (
          <>
            <Fact label={t('audit.keyed')} value={v.keyed} />
            <Fact label={t('audit.unkeyed')} value={v.unkeyed ?? 0} />
          </>
        )}
        <Fact label={t('audit.checkpointsChecked')} value={v.checkpoints.checked} />
        <Fact label={t('audit.checkpointsFailed')} value={v.checkpoints.failed.length} />
      </dl>
      {v.checkpoints.failed.length > 0 && (
        <ul className="plain-list">
          {v.checkpoints.failed.map((c) => (
            <li key={`${c.source}-${c.seq}-${c.at}`}>
              {t('audit.checkpointFailed', { seq: c.seq, at: f.instant(c.at), source: t(`audit.source.${c.source}`) })}{' '}
              {c.problem}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Fact({ label, value }: { label: string; value: number }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}
