'use client';

import Link from 'next/link';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { type Run, api } from '@/api/client';
import { Chart, type ChartOption } from '@/components/chart';
import { Empty, ErrorState, Loading, useTitle } from '@/components/feedback';
import { FailureHeatmap } from '@/components/failure-heatmap';
import { StateBadge } from '@/components/state-badge';
import { elapsed, useFormatters } from '@/lib/prefs';
import { useReportFilter } from '@/lib/report-range';
import { RUN_STATES, toneOf } from '@/lib/states';
import { href } from '@/lib/url';
import { AgentStatus, SlotMeter } from './agents-view';

const SAMPLE = 200;
const TONE_COLOURS = {
  ok: '#1f9d55',
  bad: '#d64545',
  active: '#2f6fde',
  wait: '#9aa5b1',
  muted: '#7b8794',
  warn: '#d9822b',
} as const;

export function HomeView() {
  const { t } = useTranslation();
  useTitle(t('home.title'));
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('home.title')}</h1>
      </div>
      <div className="home-grid">
        <StateCounts />
        <AgentHealth />
        <RunList title={t('home.runningNow')} state="running" empty={t('home.nothingRunning')} testId="running-now" />
        <RunList title={t('home.recentFailures')} state="failed" empty={t('home.noFailures')} testId="failures" />
        <HomeHeatmap />
      </div>
    </div>
  );
}

/** Failures by job and hour of day over the reports' default range (the last 30 days), linking to the reports. */
function HomeHeatmap() {
  const { t } = useTranslation();
  const filter = useReportFilter();
  return (
    <>
      <FailureHeatmap query={filter.query} />
      <p className="home-wide small">
        <Link href={href.slaReports()}>{t('home.toReports')}</Link>
      </p>
    </>
  );
}

/** Runs by state over the latest runs (the API has no count endpoint yet, so this is a sample). */
function StateCounts() {
  const { t } = useTranslation();
  const runs = api.useQuery(
    'get',
    '/api/v1/runs',
    { params: { query: { limit: SAMPLE } } },
    { refetchInterval: 10_000 },
  );
  const counts = useMemo(() => {
    const c = new Map(RUN_STATES.map((s) => [s, 0]));
    for (const r of runs.data?.items ?? []) c.set(r.state, (c.get(r.state) ?? 0) + 1);
    return c;
  }, [runs.data]);
  const option: ChartOption = useMemo(
    () => ({
      animation: false,
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'item' },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', inverse: true, data: RUN_STATES.map((s) => t(`states.${s}`)) },
      series: [
        {
          type: 'bar',
          barMaxWidth: 22,
          label: { show: true, position: 'right' },
          data: RUN_STATES.map((s) => ({ value: counts.get(s) ?? 0, itemStyle: { color: TONE_COLOURS[toneOf(s)] } })),
        },
      ],
    }),
    [counts, t],
  );
  return (
    <section className="card" aria-labelledby="counts-title" data-testid="state-counts">
      <div className="section-head">
        <h2 id="counts-title">{t('home.byState')}</h2>
        <span className="muted small">{t('home.sample', { count: runs.data?.items.length ?? 0 })}</span>
      </div>
      {runs.isPending ? (
        <Loading />
      ) : runs.isError ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : runs.data.items.length === 0 ? (
        <Empty title={t('home.noRuns')}>
          <Link href={href.jobs()}>{t('home.toJobs')}</Link>
        </Empty>
      ) : (
        <>
          <Chart option={option} height={200} label={t('home.byState')} />
          <ul className="visually-hidden">
            {RUN_STATES.map((s) => (
              <li key={s}>
                {t(`states.${s}`)}: {counts.get(s)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function AgentHealth() {
  const { t } = useTranslation();
  const f = useFormatters();
  const agents = api.useQuery('get', '/api/v1/agents', {}, { refetchInterval: 5_000 });
  const items = agents.data?.items ?? [];
  const connected = items.filter((a) => a.status === 'connected');
  return (
    <section className="card" aria-labelledby="agents-title" data-testid="agent-health">
      <div className="section-head">
        <h2 id="agents-title">{t('home.agentHealth')}</h2>
        <Link href={href.agents()} className="small">
          {t('home.allAgents')}
        </Link>
      </div>
      {agents.isPending ? (
        <Loading />
      ) : agents.isError ? (
        <ErrorState error={agents.error} onRetry={() => void agents.refetch()} />
      ) : items.length === 0 ? (
        <Empty title={t('agents.empty')} />
      ) : (
        <>
          <p className="big-number">
            {t('home.agentsConnected', { connected: connected.length, total: items.length })}
          </p>
          <ul className="plain-list">
            {items.slice(0, 6).map((a) => (
              <li key={a.id} className="row-between">
                <span className="cell-stack">
                  <strong>{a.name}</strong>
                  <AgentStatus agent={a} />
                </span>
                <span className="cell-stack">
                  <SlotMeter agent={a} />
                  <span className="muted small" title={f.instant(a.lastSeenAt, { ms: true })}>
                    {f.relative(a.lastSeenAt)}
                  </span>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function RunList({
  title,
  state,
  empty,
  testId,
}: {
  title: string;
  state: Run['state'];
  empty: string;
  testId: string;
}) {
  const f = useFormatters();
  const runs = api.useQuery(
    'get',
    '/api/v1/runs',
    { params: { query: { state, limit: 8 } } },
    { refetchInterval: state === 'running' ? 2_000 : 10_000 },
  );
  return (
    <section className="card" aria-labelledby={`${testId}-title`} data-testid={testId}>
      <div className="section-head">
        <h2 id={`${testId}-title`}>{title}</h2>
      </div>
      {runs.isPending ? (
        <Loading />
      ) : runs.isError ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : runs.data.items.length === 0 ? (
        <Empty title={empty} />
      ) : (
        <ul className="plain-list">
          {runs.data.items.map((r) => (
            <li key={r.id} className="row-between">
              <span className="cell-stack">
                <Link href={href.run(r.id)} className="strong-link">
                  {r.job}
                </Link>
                <span className="mono muted small">{r.id.slice(-12)}</span>
              </span>
              <span className="cell-stack">
                <StateBadge state={r.state} />
                <span className="muted small" title={f.instant(r.createdAt, { ms: true })}>
                  {state === 'running'
                    ? f.duration(elapsed(r.startedAt, null))
                    : f.relative(r.finishedAt ?? r.createdAt)}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
