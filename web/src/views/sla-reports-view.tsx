'use client';

import Link from 'next/link';
import { useId, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { type Schemas, api } from '@/api/client';
import { Chart, type ChartOption } from '@/components/chart';
import { type Column, DataTable } from '@/components/data-table';
import { FailureHeatmap } from '@/components/failure-heatmap';
import { Empty, Loaded, useTitle } from '@/components/feedback';
import { Filters } from '@/components/filters';
import { SlaBadge } from '@/components/sla-panel';
import { useFormatters } from '@/lib/prefs';
import { type ReportFilter, formatRate, useReportFilter } from '@/lib/report-range';
import { href } from '@/lib/url';

type JobRow = Schemas['JobRangeReport'];
type DayRow = Schemas['JobDayReport'];
type SlaItem = Schemas['SlaHistoryItem'];
type FailingTask = Schemas['TopFailingTasks']['items'][number];

/** Trend charts drawn at most (the jobs with the most runs). */
const MAX_TRENDS = 8;
const AT_RISK_LIMIT = 50;
const TOP_TASKS = 10;

/**
 * SLA reports: per job over the range (success rate, runtime and delay
 * p50/p95, retries, SLA met %), a trend chart per job, the runs at risk now
 * with their predicted finish and key task, and the failure heatmap. The
 * range and job are in the URL (`?from=&to=&job=`, UTC days, both included).
 */
export function SlaReportsView() {
  const { t } = useTranslation();
  useTitle(t('reports.title'));
  const filter = useReportFilter();
  const report = api.useQuery('get', '/api/v1/reports/jobs', { params: { query: filter.query } });
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('reports.title')}</h1>
        <ReportFilters filter={filter} />
      </div>
      <p className="muted small">{t('reports.daysNote')}</p>
      <AtRisk job={filter.job} />
      <section className="card" aria-labelledby="report-jobs-title">
        <div className="section-head">
          <h2 id="report-jobs-title">{t('reports.perJob')}</h2>
          <span className="muted small">{t('reports.range', { from: filter.from, to: filter.to })}</span>
        </div>
        <Loaded query={report} isEmpty={(d) => d.jobs.length === 0} empty={<Empty title={t('reports.noRuns')} />}>
          {(d) => <JobsTable rows={d.jobs} />}
        </Loaded>
      </section>
      {report.data && report.data.jobs.length > 0 && (
        <section aria-labelledby="trends-title" className="card">
          <div className="section-head">
            <h2 id="trends-title">{t('reports.trends')}</h2>
            <span className="muted small">{t('reports.trendsHint')}</span>
          </div>
          <div className="trend-grid">
            {[...report.data.jobs]
              .sort((a, b) => b.runs - a.runs)
              .slice(0, MAX_TRENDS)
              .map((j) => (
                <Trend
                  key={j.job}
                  job={j.job}
                  days={filter.days}
                  rows={report.data.items.filter((i) => i.job === j.job)}
                />
              ))}
          </div>
        </section>
      )}
      <TopFailingTasks query={filter.query} />
      <FailureHeatmap query={filter.query} testId="report-heatmap" />
    </div>
  );
}

function ReportFilters({ filter }: { filter: ReportFilter }) {
  const { t } = useTranslation();
  const id = useId();
  const jobs = api.useQuery('get', '/api/v1/jobs', { params: { query: { limit: 200 } } });
  return (
    <Filters>
      <DateField
        label={t('reports.from')}
        value={filter.from}
        max={filter.to}
        onChange={(from) => filter.set({ from })}
      />
      <DateField label={t('reports.to')} value={filter.to} min={filter.from} onChange={(to) => filter.set({ to })} />
      <span className="inline-field">
        <label htmlFor={id}>{t('reports.job')}</label>
        <select id={id} value={filter.job ?? ''} onChange={(e) => filter.set({ job: e.target.value || null })}>
          <option value="">{t('reports.allJobs')}</option>
          {filter.job && !jobs.data?.items.some((j) => j.name === filter.job) && (
            <option value={filter.job}>{filter.job}</option>
          )}
          {jobs.data?.items.map((j) => (
            <option key={j.name} value={j.name}>
              {j.name}
            </option>
          ))}
        </select>
      </span>
    </Filters>
  );
}

/** A day in the URL's filter (cleared: back to the default). */
function DateField({
  label,
  value,
  min,
  max,
  onChange,
}: {
  label: string;
  value: string;
  min?: string;
  max?: string;
  onChange: (day: string | null) => void;
}) {
  return (
    <label className="inline-field">
      <span>{label}</span>
      <input type="date" value={value} min={min} max={max} onChange={(e) => onChange(e.target.value || null)} />
    </label>
  );
}

/** The row's job, linking to its SLA tab (the first column of the per-job table and the at-risk list). */
function jobColumn<T extends { job: string }>(header: string): Column<T> {
  return {
    id: 'job',
    header,
    rowHeader: true,
    cell: (r) => (
      <Link href={href.job(r.job, 'sla')} className="strong-link">
        {r.job}
      </Link>
    ),
  };
}

function JobsTable({ rows }: { rows: readonly JobRow[] }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const columns: ReadonlyArray<Column<JobRow>> = [
    jobColumn(t('reports.job')),
    { id: 'runs', header: t('reports.runs'), className: 'num', cell: (r) => r.runs },
    {
      id: 'success',
      header: t('reports.successRate'),
      className: 'num',
      cell: (r) => <span data-field="successRate">{formatRate(r.successRate)}</span>,
    },
    {
      id: 'runtime',
      header: t('reports.runtime'),
      className: 'num',
      cell: (r) => (
        <span data-field="runtime">
          {f.duration(r.runtimeMs.p50)} / {f.duration(r.runtimeMs.p95)}
        </span>
      ),
    },
    {
      id: 'delay',
      header: t('reports.delay'),
      className: 'num',
      cell: (r) => (
        <span data-field="delay">
          {f.duration(r.delayMs.p50)} / {f.duration(r.delayMs.p95)}
        </span>
      ),
    },
    { id: 'retries', header: t('reports.retries'), className: 'num', cell: (r) => r.retries },
    {
      id: 'sla',
      header: t('reports.slaMet'),
      className: 'num',
      cell: (r) => (
        <span data-field="slaMet" title={t('reports.slaCounts', { met: r.slaMet, missed: r.slaMissed })}>
          {formatRate(r.slaMetRate)}
        </span>
      ),
    },
  ];
  return (
    <DataTable
      caption={t('reports.perJob')}
      columns={columns}
      rows={rows}
      rowKey={(r) => r.job}
      rowAttrs={(r) => ({ 'data-job': r.job })}
      testId="report-jobs"
    />
  );
}

/** A job's days: success rate (%) and runtime p95 (s), with a gap on days without runs. */
function Trend({ job, days, rows }: { job: string; days: readonly string[]; rows: readonly DayRow[] }) {
  const { t } = useTranslation();
  const option: ChartOption = useMemo(() => {
    const byDay = new Map(rows.map((r) => [r.day, r]));
    return {
      animation: false,
      grid: { left: 8, right: 8, top: 28, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: [t('reports.successRate'), t('reports.runtimeP95')] },
      xAxis: { type: 'category', data: days.map((d) => d.slice(5)) },
      yAxis: [
        { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value} %' } },
        { type: 'value', min: 0, axisLabel: { formatter: '{value} s' }, splitLine: { show: false } },
      ],
      series: [
        {
          type: 'line',
          name: t('reports.successRate'),
          connectNulls: false,
          data: days.map((d) => {
            const r = byDay.get(d)?.successRate;
            return r === null || r === undefined ? null : Math.round(r * 1000) / 10;
          }),
          itemStyle: { color: '#1f9d55' },
        },
        {
          type: 'line',
          name: t('reports.runtimeP95'),
          yAxisIndex: 1,
          connectNulls: false,
          data: days.map((d) => {
            const p = byDay.get(d)?.runtimeMs.p95;
            return p === null || p === undefined ? null : Math.round(p / 100) / 10;
          }),
          itemStyle: { color: '#2f6fde' },
        },
      ],
    };
  }, [rows, days, t]);
  return (
    <figure className="trend" data-testid="trend" data-job={job}>
      <figcaption>{job}</figcaption>
      <Chart option={option} height={180} label={t('reports.trendOf', { job })} />
    </figure>
  );
}

function AtRisk({ job }: { job: string | null }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const list = api.useQuery(
    'get',
    '/api/v1/sla',
    { params: { query: { state: 'at_risk', limit: AT_RISK_LIMIT, ...(job ? { job } : {}) } } },
    { refetchInterval: 10_000 },
  );
  const columns: ReadonlyArray<Column<SlaItem>> = [
    jobColumn(t('reports.job')),
    {
      id: 'run',
      header: t('reports.run'),
      cell: (r) => (
        <Link href={href.run(r.runId)} className="mono small" data-field="run">
          {r.runId.slice(-12)}
        </Link>
      ),
    },
    { id: 'state', header: t('reports.slaState'), cell: (r) => <SlaBadge state={r.state} /> },
    {
      id: 'deadline',
      header: t('sla.finishBy'),
      cell: (r) => <span data-field="deadline">{f.instant(r.finishBy)}</span>,
    },
    {
      id: 'predicted',
      header: t('sla.predictedP90'),
      cell: (r) => <span data-field="predicted">{f.instant(r.predicted?.finishP90 ?? null)}</span>,
    },
    {
      id: 'key',
      header: t('sla.keyTask'),
      cell: (r) => (
        <span className="mono" data-field="keyTask">
          {r.predicted?.keyTask ?? t('common.none')}
        </span>
      ),
    },
    { id: 'since', header: t('reports.atRiskSince'), cell: (r) => f.relative(r.atRiskAt) },
  ];
  return (
    <section className="card" aria-labelledby="at-risk-title" data-testid="at-risk">
      <div className="section-head">
        <h2 id="at-risk-title">{t('reports.atRisk')}</h2>
        <span className="muted small">{t('sla.zone', { zone: f.zone })}</span>
      </div>
      <Loaded query={list} isEmpty={(d) => d.items.length === 0} empty={<Empty title={t('reports.noneAtRisk')} />}>
        {(d) => (
          <DataTable
            caption={t('reports.atRisk')}
            columns={columns}
            rows={d.items}
            rowKey={(r) => r.runId}
            rowAttrs={(r) => ({ 'data-run': r.runId })}
            compact
          />
        )}
      </Loaded>
    </section>
  );
}

function TopFailingTasks({ query }: { query: ReportFilter['query'] }) {
  const { t } = useTranslation();
  const tasks = api.useQuery('get', '/api/v1/reports/tasks', { params: { query: { ...query, limit: TOP_TASKS } } });
  const columns: ReadonlyArray<Column<FailingTask>> = [
    {
      id: 'task',
      header: t('reports.task'),
      rowHeader: true,
      cell: (r) => (
        <span className="cell-stack">
          <span className="mono">{r.task}</span>
          <Link href={href.job(r.job)} className="small">
            {r.job}
          </Link>
        </span>
      ),
    },
    {
      id: 'failed',
      header: t('reports.failures'),
      className: 'num',
      cell: (r) => <span data-field="failed">{r.failed}</span>,
    },
    { id: 'runs', header: t('reports.runs'), className: 'num', cell: (r) => r.runs },
    {
      id: 'rate',
      header: t('reports.failureRate'),
      className: 'num',
      cell: (r) => <span data-field="failureRate">{formatRate(r.failureRate)}</span>,
    },
    { id: 'retries', header: t('reports.retries'), className: 'num', cell: (r) => r.retries },
  ];
  return (
    <section className="card" aria-labelledby="top-tasks-title" data-testid="top-failing-tasks">
      <div className="section-head">
        <h2 id="top-tasks-title">{t('reports.topTasks')}</h2>
        <span className="muted small">{t('reports.topTasksHint')}</span>
      </div>
      <Loaded query={tasks} isEmpty={(d) => d.items.length === 0} empty={<Empty title={t('reports.noFailedTasks')} />}>
        {(d) => (
          <DataTable
            caption={t('reports.topTasks')}
            columns={columns}
            rows={d.items}
            rowKey={(r) => `${r.job}/${r.task}`}
            rowAttrs={(r) => ({ 'data-task': `${r.job}/${r.task}` })}
            compact
          />
        )}
      </Loaded>
    </section>
  );
}
