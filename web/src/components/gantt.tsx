'use client';

import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { RunDetail } from '@/api/client';
import { formatDuration, useFormatters } from '@/lib/prefs';
import { toneOf } from '@/lib/states';
import { Chart, type ChartOption, echarts } from './chart';

// Tones as colours on the canvas; the same tokens as the CSS badges.
const TONE_COLOURS = {
  ok: '#1f9d55',
  bad: '#d64545',
  active: '#2f6fde',
  wait: '#9aa5b1',
  muted: '#7b8794',
  warn: '#d9822b',
} as const;
/** The critical path's outline and label colour. */
const CRITICAL = '#7c3aed';

interface Bar {
  row: number;
  start: number;
  end: number;
  open: boolean;
  task: string;
  attempt: number;
  state: Parameters<typeof toneOf>[0];
  agent: string;
  startIso: string;
  endIso: string | null;
}

/**
 * The run's timeline: one row per task, one bar per attempt, on an axis of
 * milliseconds since the run started (tooltips give the absolute instants to
 * the millisecond). A running attempt's bar grows up to `now`. With an SLA,
 * the deadline is a vertical line, the critical path's tasks are outlined
 * (and their names bold), and tasks past their own maxDuration are named in red.
 */
export function Gantt({ run, now, onSelect }: { run: RunDetail; now: number; onSelect?: (task: string) => void }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const { option, height, bars, farDeadline } = useMemo(() => {
    const origin = Date.parse(run.startedAt ?? run.createdAt);
    const rows = run.tasks.map((x) => x.key);
    const critical = new Set(run.sla?.predicted?.criticalPath ?? []);
    const breached = new Set(run.sla?.taskBreaches.map((b) => b.task) ?? []);
    const due = run.sla?.finishBy ? Date.parse(run.sla.finishBy) - origin : null;
    const bars: Bar[] = run.tasks.flatMap((task, row) =>
      task.attempts
        .filter((a) => a.startedAt ?? a.assignedAt)
        .map((a) => {
          const startIso = (a.startedAt ?? a.assignedAt)!;
          return {
            row,
            start: Date.parse(startIso) - origin,
            end: (a.finishedAt ? Date.parse(a.finishedAt) : now) - origin,
            open: !a.finishedAt,
            task: task.key,
            attempt: a.number,
            state: a.state,
            agent: a.agent,
            startIso,
            endIso: a.finishedAt,
          };
        }),
    );
    // The deadline is drawn when it is near the bars; one far past them would squash the bars to slivers.
    const span = Math.max(1, ...bars.map((b) => b.end));
    const deadline = due !== null && due <= span * 4 ? due : null;
    const height = Math.max(120, rows.length * 34 + 48 + (deadline !== null ? 16 : 0));
    const option: ChartOption = {
      animation: false,
      grid: { left: 8, right: 32, top: deadline !== null ? 24 : 8, bottom: 8, containLabel: true },
      tooltip: {
        trigger: 'item',
        formatter: (p) => {
          const b = bars[(p as { dataIndex: number }).dataIndex]!;
          const lines = [
            `<b>${escapeHtml(b.task)}</b> · ${t('run.attemptN', { n: b.attempt })} · ${escapeHtml(t(`states.${b.state}`))}`,
            `${t('run.started')}: ${f.instant(b.startIso, { ms: true })}`,
            `${t('run.finished')}: ${b.endIso ? f.instant(b.endIso, { ms: true }) : t('run.stillRunning')}`,
            `${t('run.duration')}: ${formatDuration(b.end - b.start)}`,
            `${t('run.agent')}: ${escapeHtml(b.agent)}`,
            ...(critical.has(b.task) ? [t('sla.onCriticalPath')] : []),
            ...(breached.has(b.task) ? [t('sla.pastMaxDuration')] : []),
          ];
          return lines.join('<br/>');
        },
      },
      xAxis: {
        type: 'value',
        min: 0,
        // The deadline stays in view even when the run ended long before it.
        ...(deadline !== null ? { max: (e: { max: number }) => Math.max(e.max, deadline) } : {}),
        axisLabel: { formatter: (v: number) => formatDuration(v) },
        splitLine: { lineStyle: { color: '#e4e7eb' } },
      },
      yAxis: {
        type: 'category',
        data: rows,
        inverse: true,
        axisTick: { show: false },
        axisLabel: {
          fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace',
          formatter: (key: string) =>
            breached.has(key) ? `{breach|${key}}` : critical.has(key) ? `{critical|${key}}` : key,
          rich: {
            critical: {
              fontWeight: 'bold',
              color: CRITICAL,
              fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace',
            },
            breach: {
              fontWeight: 'bold',
              color: TONE_COLOURS.bad,
              fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace',
            },
          },
        },
      },
      dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'weakFilter' }],
      series: [
        {
          type: 'custom',
          encode: { x: [1, 2], y: 0 },
          data: bars.map((b) => [b.row, b.start, b.end]),
          renderItem: (params, api) => {
            const b = bars[params.dataIndex]!;
            const from = api.coord([b.start, b.row]);
            const to = api.coord([b.end, b.row]);
            const h = (api.size?.([0, 1]) as number[])[1]! * 0.56;
            const rect = echarts.graphic.clipRectByRect(
              { x: from[0]!, y: from[1]! - h / 2, width: Math.max(2, to[0]! - from[0]!), height: h },
              params.coordSys as unknown as { x: number; y: number; width: number; height: number },
            );
            if (!rect) return null;
            return {
              type: 'rect',
              shape: { ...rect, r: 3 },
              style: {
                fill: TONE_COLOURS[toneOf(b.state)],
                opacity: b.open ? 0.75 : 1,
                ...(critical.has(b.task) ? { stroke: CRITICAL, lineWidth: 2 } : {}),
              },
            };
          },
          ...(deadline !== null
            ? {
                markLine: {
                  silent: true,
                  symbol: 'none',
                  lineStyle: { color: TONE_COLOURS.bad, type: 'dashed', width: 2 },
                  label: { formatter: t('sla.deadline'), position: 'start', distance: 4, color: TONE_COLOURS.bad },
                  data: [{ xAxis: deadline }],
                },
              }
            : {}),
        },
      ],
    };
    return { option, height, bars, farDeadline: due !== null && deadline === null };
  }, [run, now, t, f]);
  return (
    <>
      <Chart
        option={option}
        height={height}
        label={t('run.ganttLabel', { count: bars.length })}
        onClick={(p) => {
          const b = bars[p.dataIndex];
          if (b) onSelect?.(b.task);
        }}
      />
      {run.sla && (
        <p className="muted small" data-testid="gantt-sla-legend">
          {farDeadline
            ? t('sla.ganttLegendFar', { when: f.instant(run.sla.finishBy) })
            : run.sla.finishBy
              ? t('sla.ganttLegend')
              : t('sla.ganttLegendNoDeadline')}
        </p>
      )}
    </>
  );
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
