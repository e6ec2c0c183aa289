'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type JobSummary, api } from '@/api/client';
import { useCan } from '@/auth/permissions';
import { Empty, ErrorState, Loading, useTitle } from '@/components/feedback';
import { StateBadge, StateBars } from '@/components/state-badge';
import { useFormatters } from '@/lib/prefs';
import { href, useQueryState } from '@/lib/url';
import { Pager } from '@/components/pager';

const PAGE = 50;
const RECENT = 12;

export function JobsView() {
  const { t } = useTranslation();
  useTitle(t('jobs.title'));
  const [params, setParams] = useQueryState();
  const q = params.get('q') ?? '';
  const cursor = params.get('cursor');
  const canCreate = useCan('PUT /api/v1/jobs/{name}');
  const [draft, setDraft] = useState(q);
  // Back/forward or a link changes q: the box follows (React's "adjust state on prop change" pattern).
  const [shownQ, setShownQ] = useState(q);
  if (q !== shownQ) {
    setShownQ(q);
    setDraft(q);
  }
  // Typing narrows the list as you go; the query string follows, so the search is addressable.
  useEffect(() => {
    if (draft === q) return;
    const id = setTimeout(() => setParams({ q: draft.trim() || null, cursor: null }), 250);
    return () => clearTimeout(id);
  }, [draft, q, setParams]);

  const jobs = api.useQuery(
    'get',
    '/api/v1/jobs',
    { params: { query: { limit: PAGE, ...(q ? { prefix: q } : {}), ...(cursor ? { cursor } : {}) } } },
    { refetchInterval: 15_000 },
  );

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('jobs.title')}</h1>
        <div className="page-tools">
          {canCreate && (
            <Link href={href.newJob()} className="btn btn-primary">
              {t('jobs.newJob')}
            </Link>
          )}
          <form className="search" role="search" onSubmit={(e) => e.preventDefault()}>
            <label htmlFor="job-search">{t('jobs.search')}</label>
            <input
              id="job-search"
              type="search"
              value={draft}
              placeholder={t('jobs.searchPlaceholder')}
              onChange={(e) => setDraft(e.target.value)}
              autoComplete="off"
              spellCheck={false}
            />
          </form>
        </div>
      </div>
      {jobs.isPending ? (
        <Loading />
      ) : jobs.isError ? (
        <ErrorState error={jobs.error} onRetry={() => void jobs.refetch()} />
      ) : jobs.data.items.length === 0 ? (
        q ? (
          <Empty title={t('jobs.noMatch', { q })} />
        ) : (
          <Empty title={t('jobs.empty')}>
            {t('jobs.emptyHint')} <code>npx baton apply -f examples/hello.yaml</code>
          </Empty>
        )
      ) : (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="jobs-table">
              <caption className="visually-hidden">{t('jobs.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('jobs.name')}</th>
                  <th scope="col" className="num">
                    {t('jobs.version')}
                  </th>
                  <th scope="col" className="num">
                    {t('jobs.triggers')}
                  </th>
                  <th scope="col">{t('jobs.recentRuns')}</th>
                  <th scope="col">{t('jobs.lastRun')}</th>
                  <th scope="col">{t('jobs.updated')}</th>
                </tr>
              </thead>
              <tbody>
                {jobs.data.items.map((j) => (
                  <JobRow key={j.name} job={j} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager cursor={cursor} nextCursor={jobs.data.nextCursor} onPage={(c) => setParams({ cursor: c })} />
        </>
      )}
    </div>
  );
}

function JobRow({ job }: { job: JobSummary }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const runs = api.useQuery(
    'get',
    '/api/v1/runs',
    { params: { query: { job: job.name, limit: RECENT } } },
    { refetchInterval: 10_000 },
  );
  const last = runs.data?.items[0];
  return (
    <tr data-job={job.name}>
      <th scope="row">
        <Link href={href.job(job.name)} className="strong-link">
          {job.name}
        </Link>
      </th>
      <td className="num">v{job.version}</td>
      <td className="num">{job.triggers}</td>
      <td>
        {runs.isPending ? (
          <span className="muted">{t('common.loading')}</span>
        ) : runs.isError ? (
          <span className="muted">{t('errors.short')}</span>
        ) : runs.data.items.length === 0 ? (
          <span className="muted">{t('jobs.noRuns')}</span>
        ) : (
          <StateBars runs={runs.data.items} slots={RECENT} />
        )}
      </td>
      <td>
        {last ? (
          <span className="cell-stack">
            <StateBadge state={last.state} />
            <span className="muted" title={f.instant(last.createdAt)}>
              {f.relative(last.createdAt)}
            </span>
          </span>
        ) : (
          <span className="muted">{t('common.none')}</span>
        )}
      </td>
      <td title={f.instant(job.updatedAt)}>{f.relative(job.updatedAt)}</td>
    </tr>
  );
}
