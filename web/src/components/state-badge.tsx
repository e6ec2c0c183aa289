'use client';

import Link from 'next/link';
import { useTranslation } from 'react-i18next';
import type { Run } from '@/api/client';
import { type AnyState, toneOf } from '@/lib/states';
import { useFormatters } from '@/lib/prefs';
import { href } from '@/lib/url';

export function StateBadge({ state }: { state: AnyState }) {
  const { t } = useTranslation();
  return (
    <span className={`badge tone-${toneOf(state)}`} data-state={state}>
      <span className="dot" aria-hidden="true" />
      {t(`states.${state}`)}
    </span>
  );
}

/** The most recent runs of a job as small squares, oldest left; each links to its run. */
export function StateBars({ runs, slots = 10 }: { runs: Run[]; slots?: number }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const shown = runs.slice(0, slots).reverse();
  return (
    <ol className="bars" aria-label={t('jobs.recentRuns')}>
      {Array.from({ length: slots - shown.length }, (_, i) => (
        <li key={`empty-${i}`} className="bar bar-empty" aria-hidden="true" />
      ))}
      {shown.map((r) => {
        const label = `${t(`states.${r.state}`)} · ${f.instant(r.logicalDate)}`;
        return (
          <li key={r.id}>
            <Link
              href={href.run(r.id)}
              className={`bar tone-${toneOf(r.state)}`}
              data-state={r.state}
              title={label}
              aria-label={label}
            />
          </li>
        );
      })}
    </ol>
  );
}
