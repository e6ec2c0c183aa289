'use client';

import { useVirtualizer } from '@tanstack/react-virtual';
import { useRouter } from 'next/navigation';
import { type MouseEvent, useCallback, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { JobGrid } from '@/api/client';
import { useFormatters } from '@/lib/prefs';
import { toneOf } from '@/lib/states';
import { href } from '@/lib/url';

const CELL = 18;
const LABEL_W = 200;
const HEAD_H = 36;

/**
 * The runs × tasks matrix (newest run first), virtualised both ways: only the
 * cells in view are in the page, so 500 tasks × 100 runs scroll as smoothly as
 * 5 × 5. A cell opens its run at that task's latest attempt.
 */
export function StateGrid({ grid }: { grid: JobGrid }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const router = useRouter();
  const scroller = useRef<HTMLDivElement>(null);
  // The portal does not use the React Compiler; the virtualizers re-render this component as it scrolls.
  // eslint-disable-next-line react-hooks/incompatible-library
  const rows = useVirtualizer({
    count: grid.tasks.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => CELL,
    paddingStart: HEAD_H,
    overscan: 8,
  });
  const cols = useVirtualizer({
    horizontal: true,
    count: grid.runs.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => CELL,
    paddingStart: LABEL_W,
    overscan: 8,
  });
  // Plain links (no prefetch for thousands of cells); a click navigates in the app, a middle click opens a tab.
  const open = useCallback(
    (e: MouseEvent<HTMLAnchorElement>) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      router.push(e.currentTarget.getAttribute('href')!);
    },
    [router],
  );
  const width = cols.getTotalSize() + 8; // includes the label column (paddingStart)
  const height = rows.getTotalSize();
  const visibleCols = cols.getVirtualItems();

  return (
    <div
      ref={scroller}
      className="grid-scroll"
      style={{ height: Math.min(height + 16, 600) }}
      data-testid="state-grid"
      role="region"
      aria-label={t('grid.label', { tasks: grid.tasks.length, runs: grid.runs.length })}
      tabIndex={0}
    >
      <div style={{ width, height, position: 'relative' }}>
        <div className="grid-head" style={{ width, height: HEAD_H }}>
          <div className="grid-corner" style={{ width: LABEL_W, height: HEAD_H }}>
            <span className="muted small">{t('grid.newestFirst')}</span>
          </div>
          {visibleCols.map((c) => {
            const run = grid.runs[c.index]!;
            const label = `${t(`states.${run.state}`)} · ${f.instant(run.logicalDate)} · v${run.jobVersion}`;
            return (
              <a
                key={run.id}
                href={href.run(run.id)}
                onClick={open}
                className={`grid-run tone-${toneOf(run.state)}`}
                style={{ left: c.start }}
                data-run={run.id}
                data-state={run.state}
                title={label}
                aria-label={label}
              />
            );
          })}
        </div>
        {rows.getVirtualItems().map((r) => {
          const task = grid.tasks[r.index]!;
          return (
            <div key={task} className="grid-row" style={{ top: r.start, height: CELL, width }}>
              <div className="grid-task mono" style={{ width: LABEL_W }} title={task}>
                {task}
              </div>
              {visibleCols.map((c) => {
                const run = grid.runs[c.index]!;
                const cell = run.cells[r.index] ?? -1;
                if (cell < 0)
                  return <span key={run.id} className="grid-cell grid-none" style={{ left: c.start }} aria-hidden />;
                const state = grid.states[cell]!;
                const attempt = run.attempts[r.index] ?? 0;
                const label = `${task} · ${t(`states.${state}`)}${attempt ? ` · ${t('run.attemptN', { n: attempt })}` : ''} · ${f.instant(run.logicalDate)}`;
                return (
                  <a
                    key={run.id}
                    href={href.run(run.id, task, attempt || undefined)}
                    onClick={open}
                    className={`grid-cell tone-${toneOf(state)}`}
                    style={{ left: c.start }}
                    data-task={task}
                    data-run={run.id}
                    data-state={state}
                    title={label}
                    aria-label={label}
                  />
                );
              })}
            </div>
          );
        })}
      </div>
    </div>
  );
}
