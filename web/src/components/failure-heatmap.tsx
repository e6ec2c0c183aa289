'use client';

import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '@/api/client';
import { Chart, type ChartOption } from '@/components/chart';
import { Empty, Loaded } from '@/components/feedback';

/** Jobs drawn at most; the rest are the quietest (fewest failures). */
const MAX_JOBS = 15;

/**
 * Failed runs per job and hour of day (UTC, of the logical date) over a range:
 * an ECharts heatmap, with the same figures as a table for screen readers and tests.
 */
export function FailureHeatmap({
  query,
  testId = 'failure-heatmap',
}: {
  query: { from: string; to: string; job?: string };
  testId?: string;
}) {
  const { t } = useTranslation();
  const heat = api.useQuery('get', '/api/v1/reports/heatmap', { params: { query } });
  const jobs = useMemo(
    () =>
      [...(heat.data?.jobs ?? [])]
        .sort((a, b) => b.totalFailures - a.totalFailures || (a.job < b.job ? -1 : 1))
        .slice(0, MAX_JOBS),
    [heat.data],
  );
  const option: ChartOption = useMemo(
    () => ({
      animation: false,
      grid: { left: 8, right: 16, top: 8, bottom: 64, containLabel: true },
      tooltip: { position: 'top' },
      xAxis: {
        type: 'category',
        data: Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0')),
        name: t('reports.hourUtc'),
        nameLocation: 'middle',
        nameGap: 28,
        splitArea: { show: true },
      },
      yAxis: { type: 'category', data: jobs.map((j) => j.job), inverse: true, splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: Math.max(1, heat.data?.maxFailures ?? 1),
        calculable: false,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        itemHeight: 120,
        inRange: { color: ['#f4f6f8', '#f7c59f', '#d64545'] },
      },
      series: [
        {
          type: 'heatmap',
          name: t('reports.failures'),
          data: jobs.flatMap((j, y) => j.failures.map((f, h) => [h, y, f])),
          label: { show: true, formatter: (p: { value: unknown }) => String((p.value as number[])[2] || '') },
        },
      ],
    }),
    [jobs, heat.data, t],
  );
  return (
    <section className="card home-wide" aria-labelledby={`${testId}-title`} data-testid={testId}>
      <div className="section-head">
        <h2 id={`${testId}-title`}>{t('reports.heatmapTitle')}</h2>
        <span className="muted small">{t('reports.heatmapHint', { from: query.from })}</span>
      </div>
      <Loaded query={heat} isEmpty={(d) => d.jobs.length === 0} empty={<Empty title={t('reports.noRuns')} />}>
        {() => (
          <>
            <Chart option={option} height={Math.max(160, 90 + jobs.length * 28)} label={t('reports.heatmapTitle')} />
            <table className="visually-hidden" data-testid={`${testId}-table`}>
              <caption>{t('reports.heatmapTitle')}</caption>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.job} data-job={j.job} data-failures={j.totalFailures}>
                    <th scope="row">{j.job}</th>
                    {j.failures.map((f, h) => (
                      <td key={h} data-hour={h}>
                        {f}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Loaded>
    </section>
  );
}
