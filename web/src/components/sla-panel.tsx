'use client';

import { useTranslation } from 'react-i18next';
import type { RunSla, SlaState } from '@/api/client';
import { formatDuration, useFormatters } from '@/lib/prefs';
import type { Tone } from '@/lib/states';

const SLA_TONES: Record<SlaState, Tone> = { pending: 'wait', at_risk: 'warn', met: 'ok', missed: 'bad' };

export function SlaBadge({ state }: { state: SlaState }) {
  const { t } = useTranslation();
  return (
    <span className={`badge tone-${SLA_TONES[state]}`} data-sla-state={state}>
      <span className="dot" aria-hidden="true" />
      {t(`sla.states.${state}`)}
    </span>
  );
}

/**
 * A run's SLA: its state with the reason and when it changed, the deadlines,
 * the predicted finish (p50, p90) with the key task and critical path, and
 * the tasks that ran past their own maxDuration. Times follow the UTC toggle.
 */
export function SlaPanel({ sla }: { sla: RunSla }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const changedAt = sla.decidedAt ?? (sla.state === 'at_risk' ? sla.atRiskAt : null);
  const p = sla.predicted;
  return (
    <section aria-labelledby="run-sla-title" className="card" data-testid="sla-panel" data-sla-state={sla.state}>
      <div className="section-head">
        <h2 id="run-sla-title">
          {t('sla.title')} <SlaBadge state={sla.state} />
        </h2>
        <span className="muted small">{t('sla.zone', { zone: f.zone })}</span>
      </div>
      {(sla.reason || changedAt) && (
        <p className={`notice${sla.state === 'missed' ? ' notice-bad' : ''}`} role="status" data-testid="sla-reason">
          {sla.reason ?? t(`sla.states.${sla.state}`)}
          {changedAt && <span className="muted small"> · {t('sla.changedAt', { when: f.instant(changedAt) })}</span>}
        </p>
      )}
      <dl className="facts">
        <div>
          <dt>{t('sla.startBy')}</dt>
          <dd data-testid="sla-start-by">{f.instant(sla.startBy)}</dd>
        </div>
        <div>
          <dt>{t('sla.finishBy')}</dt>
          <dd data-testid="sla-finish-by">{f.instant(sla.finishBy)}</dd>
        </div>
        <div>
          <dt>{t('sla.warnAt')}</dt>
          <dd>{f.instant(sla.warnAt)}</dd>
        </div>
        <div>
          <dt>{t('sla.predictedP50')}</dt>
          <dd>{f.instant(p?.finishP50 ?? null)}</dd>
        </div>
        <div>
          <dt>{t('sla.predictedP90')}</dt>
          <dd>{f.instant(p?.finishP90 ?? null)}</dd>
        </div>
        <div>
          <dt>{t('sla.keyTask')}</dt>
          <dd className="mono">{p?.keyTask ?? t('common.none')}</dd>
        </div>
        {p && p.criticalPath.length > 0 && (
          <div className="facts-wide">
            <dt>{t('sla.criticalPath')}</dt>
            <dd className="mono small" data-testid="sla-critical-path">
              {p.criticalPath.join(' → ')}
            </dd>
          </div>
        )}
        {sla.taskBreaches.length > 0 && (
          <div className="facts-wide">
            <dt>{t('sla.taskBreaches')}</dt>
            <dd>
              <ul className="plain-list" data-testid="sla-breaches">
                {sla.taskBreaches.map((b) => (
                  <li key={b.task}>
                    {t('sla.breach', {
                      task: b.task,
                      max: formatDuration(b.maxDurationMs),
                      when: f.instant(b.at),
                    })}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        )}
      </dl>
    </section>
  );
}
