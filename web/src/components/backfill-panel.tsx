'use client';

import Link from 'next/link';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type BackfillPlan, type Job, api } from '@/api/client';
import { useCan } from '@/auth/permissions';
import { ConfirmDialog } from '@/components/confirm';
import { ErrorState, Loading, problemText } from '@/components/feedback';
import { StateBadge } from '@/components/state-badge';
import { useFormatters } from '@/lib/prefs';
import { href, useQueryState } from '@/lib/url';

const BACKFILLABLE = new Set(['cron', 'fixedRate']);

/** An instant typed as ISO 8601 (or anything Date.parse reads), as the API wants it; null when not a date. */
function toIso(text: string): string | null {
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/**
 * Backfill: the slots of a time trigger in [from, to], previewed with a dry
 * run (what runs, what is skipped because its date already ran), then started
 * and followed (`?backfill=<id>` keeps the progress addressable).
 */
export function BackfillPanel({ job }: { job: Job }) {
  const { t } = useTranslation();
  const [params, setParams] = useQueryState();
  const canRun = useCan('POST /api/v1/jobs/{name}/backfills');
  const backfillId = params.get('backfill');
  const triggers = job.triggers.map((tr, index) => ({ ...tr, index })).filter((tr) => BACKFILLABLE.has(tr.type));
  const [from, setFrom] = useState(params.get('from') ?? '');
  const [to, setTo] = useState(params.get('to') ?? '');
  const [trigger, setTrigger] = useState(triggers[0]?.index ?? 0);
  const [maxActiveRuns, setMaxActiveRuns] = useState('1');
  const [rerunExisting, setRerunExisting] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [plan, setPlan] = useState<BackfillPlan | null>(null);
  const [confirming, setConfirming] = useState(false);
  const create = api.useMutation('post', '/api/v1/jobs/{name}/backfills');
  const f = useFormatters();
  const scheduleOf = (spec: Record<string, unknown> | undefined) =>
    typeof spec?.cron === 'string' ? spec.cron : typeof spec?.everyMs === 'number' ? f.duration(spec.everyMs) : '';

  const command = (dryRun: boolean) => {
    const f = toIso(from);
    const tt = toIso(to);
    if (!f || !tt) {
      setFormError(t('backfill.badRange'));
      return null;
    }
    const n = Number(maxActiveRuns);
    if (!Number.isInteger(n) || n < 1 || n > 100) {
      setFormError(t('backfill.badMaxActiveRuns'));
      return null;
    }
    setFormError(null);
    return { from: f, to: tt, trigger, maxActiveRuns: n, rerunExisting, dryRun };
  };
  const preview = () => {
    const body = command(true);
    if (!body) return;
    setParams({ from: from.trim(), to: to.trim() });
    create.mutate(
      { params: { path: { name: job.name } }, body },
      {
        onSuccess: (r) => setPlan(r as BackfillPlan),
        onError: (e) => {
          setPlan(null);
          setFormError(problemText(e));
        },
      },
    );
  };
  const start = () => {
    const body = command(false);
    if (!body) return;
    create.mutate(
      { params: { path: { name: job.name } }, body },
      {
        onSuccess: (r) => {
          setConfirming(false);
          setPlan(null);
          if ('id' in r) setParams({ backfill: r.id });
        },
        onError: (e) => setFormError(problemText(e)),
      },
    );
  };

  return (
    <section aria-labelledby="backfill-title">
      <div className="section-head">
        <h2 id="backfill-title">{t('backfill.title')}</h2>
      </div>
      {backfillId && <BackfillProgress id={backfillId} onClose={() => setParams({ backfill: null })} />}
      {!canRun ? (
        !backfillId && <p className="muted">{t('backfill.notAllowed')}</p>
      ) : triggers.length === 0 ? (
        <p className="muted">{t('backfill.noTimeTrigger')}</p>
      ) : (
        <form
          className="backfill-form"
          onSubmit={(e) => {
            e.preventDefault();
            preview();
          }}
        >
          <div className="form-row">
            <label className="field">
              <span>{t('backfill.trigger')}</span>
              <select value={trigger} onChange={(e) => setTrigger(Number(e.target.value))}>
                {triggers.map((tr) => (
                  <option key={tr.id} value={tr.index}>
                    #{tr.index} {tr.type} {scheduleOf(tr.spec)}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>{t('backfill.from')}</span>
              <input
                className="mono"
                value={from}
                onChange={(e) => setFrom(e.target.value)}
                placeholder="2026-11-01T00:00:00Z"
              />
            </label>
            <label className="field">
              <span>{t('backfill.to')}</span>
              <input
                className="mono"
                value={to}
                onChange={(e) => setTo(e.target.value)}
                placeholder="2026-11-07T00:00:00Z"
              />
            </label>
            <label className="field field-narrow">
              <span>{t('backfill.maxActiveRuns')}</span>
              <input
                type="number"
                min={1}
                max={100}
                value={maxActiveRuns}
                onChange={(e) => setMaxActiveRuns(e.target.value)}
              />
            </label>
          </div>
          <label className="switch">
            <input type="checkbox" checked={rerunExisting} onChange={(e) => setRerunExisting(e.target.checked)} />
            {t('backfill.rerunExisting')}
          </label>
          <p className="form-error" role="alert">
            {formError}
          </p>
          <div className="actions">
            <button type="submit" className="btn" disabled={create.isPending}>
              {t('backfill.preview')}
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={create.isPending || !plan || plan.toRun === 0}
              onClick={() => setConfirming(true)}
            >
              {t('backfill.start')}
            </button>
          </div>
        </form>
      )}
      {plan && <BackfillPreview plan={plan} />}
      <ConfirmDialog
        open={confirming}
        title={t('backfill.confirmTitle', { count: plan?.toRun ?? 0 })}
        confirmLabel={t('backfill.start')}
        busy={create.isPending}
        error={formError}
        onConfirm={start}
        onClose={() => setConfirming(false)}
      >
        <p>{t('backfill.confirmBody', { count: plan?.toRun ?? 0, skipped: plan?.skipped ?? 0 })}</p>
      </ConfirmDialog>
    </section>
  );
}

function BackfillPreview({ plan }: { plan: BackfillPlan }) {
  const { t } = useTranslation();
  const f = useFormatters();
  return (
    <div data-testid="backfill-preview">
      <h3>{t('backfill.previewTitle', { toRun: plan.toRun, skipped: plan.skipped })}</h3>
      {plan.slots.length === 0 ? (
        <p className="muted">{t('backfill.noSlots')}</p>
      ) : (
        <div className="table-wrap table-scroll">
          <table className="table table-compact">
            <thead>
              <tr>
                <th scope="col">{t('runs.logicalDate')}</th>
                <th scope="col">{t('backfill.action')}</th>
                <th scope="col">{t('backfill.existingRun')}</th>
              </tr>
            </thead>
            <tbody>
              {plan.slots.map((s) => (
                <tr key={s.logicalDate} data-action={s.action}>
                  <th scope="row">{f.instant(s.logicalDate)}</th>
                  <td>{t(`backfill.actions.${s.action}`)}</td>
                  <td>
                    {s.existingRun ? (
                      <span className="cell-stack">
                        <Link href={href.run(s.existingRun.id)} className="mono">
                          {s.existingRun.id.slice(-12)}
                        </Link>
                        <StateBadge state={s.existingRun.state} />
                      </span>
                    ) : (
                      <span className="muted">{t('common.none')}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function BackfillProgress({ id, onClose }: { id: string; onClose: () => void }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const b = api.useQuery(
    'get',
    '/api/v1/backfills/{id}',
    { params: { path: { id } } },
    { refetchInterval: (q) => (q.state.data?.finishedAt ? false : 1_500) },
  );
  if (b.isPending) return <Loading />;
  if (b.isError) return <ErrorState error={b.error} onRetry={() => void b.refetch()} />;
  const done = b.data.started + b.data.skipped;
  const finishedRuns = Object.entries(b.data.runs)
    .filter(([s]) => s !== 'queued' && s !== 'running')
    .reduce((n, [, c]) => n + c, 0);
  return (
    <div className="card backfill-progress" data-testid="backfill-progress" data-state={b.data.state}>
      <div className="row-between">
        <strong>{t('backfill.progressTitle', { from: f.instant(b.data.from), to: f.instant(b.data.to) })}</strong>
        <button type="button" className="btn btn-quiet" onClick={onClose}>
          {t('backfill.close')}
        </button>
      </div>
      <progress max={b.data.slots} value={finishedRuns + b.data.skipped} aria-label={t('backfill.title')} />
      <p>
        {t('backfill.progress', {
          finished: finishedRuns,
          started: b.data.started,
          skipped: b.data.skipped,
          slots: b.data.slots,
          pending: b.data.slots - done,
        })}
      </p>
      <ul className="chips">
        {Object.entries(b.data.runs).map(([state, n]) => (
          <li key={state} className="chip">
            {t(`states.${state as 'queued'}`)} {n}
          </li>
        ))}
      </ul>
      <p className="muted small">
        {b.data.finishedAt ? t('backfill.finishedAt', { when: f.instant(b.data.finishedAt) }) : t('backfill.running')}
      </p>
    </div>
  );
}
