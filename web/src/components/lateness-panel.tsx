'use client';

import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '@/api/client';
import { useFormatters } from '@/lib/prefs';
import { ErrorState, Loading } from './feedback';

const PHASES = ['queueWaitMs', 'dispatchMs', 'executionMs', 'otherMs'] as const;
type Phase = (typeof PHASES)[number];

/**
 * Where a finished (or running) run's time went, from GET /api/v1/runs/{id}/lateness: the trigger delay of
 * a time-triggered run, then queue wait, dispatch and execution summed along the critical path, and what
 * those sums leave out of the total; a bar shows their shares and a table the path's tasks.
 */
export function LatenessPanel({ runId, live }: { runId: string; live: boolean }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const q = api.useQuery(
    'get',
    '/api/v1/runs/{id}/lateness',
    { params: { path: { id: runId } } },
    { refetchInterval: live ? 2_000 : false },
  );
  // The run ending between two polls: read the final breakdown once.
  const wasLive = useRef(live);
  const { refetch } = q;
  useEffect(() => {
    if (wasLive.current && !live) void refetch();
    wasLive.current = live;
  }, [live, refetch]);
  return (
    <section aria-labelledby="run-lateness-title" className="card" data-testid="lateness-panel">
      <div className="section-head">
        <h2 id="run-lateness-title">{t('lateness.title')}</h2>
        <span className="muted small">{t('lateness.hint')}</span>
      </div>
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : (
        (() => {
          const l = q.data;
          const value = (p: Phase) => l[p] ?? 0;
          const whole = PHASES.reduce((n, p) => n + value(p), 0);
          return (
            <>
              <dl className="facts lateness-facts">
                <div data-field="triggerDelayMs">
                  <dt>{t('lateness.triggerDelayMs')}</dt>
                  <dd>{l.triggerDelayMs === null ? t('lateness.notTimed') : f.duration(l.triggerDelayMs)}</dd>
                </div>
                {PHASES.map((p) => (
                  <div key={p} data-field={p}>
                    <dt>
                      <span className={`lateness-key lateness-${p}`} aria-hidden="true" />
                      {t(`lateness.${p}`)}
                    </dt>
                    <dd>{f.duration(l[p])}</dd>
                  </div>
                ))}
                <div data-field="totalMs">
                  <dt>{t('lateness.totalMs')}</dt>
                  <dd>{l.totalMs === null ? t('run.stillRunning') : f.duration(l.totalMs)}</dd>
                </div>
              </dl>
              {whole > 0 && (
                <div className="lateness-bar" role="img" aria-label={t('lateness.barLabel')}>
                  {PHASES.filter((p) => value(p) > 0).map((p) => (
                    <span
                      key={p}
                      className={`lateness-${p}`}
                      style={{ flexGrow: value(p) }}
                      title={`${t(`lateness.${p}`)}: ${f.duration(value(p))}`}
                    />
                  ))}
                </div>
              )}
              <p className="muted small">{t('lateness.otherHint')}</p>
              {l.criticalPath.length > 0 && (
                <div className="table-wrap">
                  <table className="table" data-testid="lateness-path">
                    <caption className="visually-hidden">{t('lateness.path')}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t('lateness.pathTask')}</th>
                        <th scope="col" className="num">
                          {t('run.attempts')}
                        </th>
                        {(['queueWaitMs', 'dispatchMs', 'executionMs'] as const).map((p) => (
                          <th key={p} scope="col" className="num">
                            {t(`lateness.${p}`)}
                          </th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {l.criticalPath.map((x) => (
                        <tr key={x.key} data-task={x.key}>
                          <th scope="row" className="mono">
                            {x.key}
                          </th>
                          <td className="num">{x.attempts}</td>
                          {(['queueWaitMs', 'dispatchMs', 'executionMs'] as const).map((p) => (
                            <td key={p} className="num" data-field={p}>
                              {f.duration(x[p])}
                            </td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          );
        })()
      )}
    </section>
  );
}
