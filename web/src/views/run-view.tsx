'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { type RunDetail, type TaskRun, api } from '@/api/client';
import { useCan } from '@/auth/permissions';
import { ConfirmDialog } from '@/components/confirm';
import { DagGraph } from '@/components/dag-graph';
import { Empty, ErrorState, Loading, problemText, useTitle } from '@/components/feedback';
import { Gantt } from '@/components/gantt';
import { LatenessPanel } from '@/components/lateness-panel';
import { LogViewer } from '@/components/log-viewer';
import { SlaPanel } from '@/components/sla-panel';
import { StateBadge } from '@/components/state-badge';
import { elapsed, useFormatters } from '@/lib/prefs';
import { isFailure, isFinished } from '@/lib/states';
import { href, useQueryState } from '@/lib/url';

/** Re-renders every `ms` while `on`, so open durations and bars keep growing. */
function useNow(on: boolean, ms = 500): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [on, ms]);
  return now;
}

export function RunView() {
  const { t } = useTranslation();
  const [params, setParams] = useQueryState();
  const id = params.get('id') ?? '';
  const selected = params.get('task');
  const attemptParam = params.get('attempt');
  useTitle(t('run.title', { id: id.slice(-12) }));
  const run = api.useQuery(
    'get',
    '/api/v1/runs/{id}',
    { params: { path: { id } } },
    {
      enabled: !!id,
      // A finished run is still read until its SLA is decided (met or missed).
      refetchInterval: (q) =>
        !q.state.data || !isFinished(q.state.data.state)
          ? 1_000
          : q.state.data.sla && !q.state.data.sla.decidedAt
            ? 2_000
            : false,
    },
  );
  const live = !!run.data && !isFinished(run.data.state);
  const now = useNow(live);

  if (!id) return <Empty title={t('run.noId')} />;
  if (run.isPending) return <Loading />;
  if (run.isError) return <ErrorState error={run.error} onRetry={() => void run.refetch()} />;
  const r = run.data;
  const task = r.tasks.find((x) => x.key === selected) ?? null;
  const select = (key: string) => setParams({ task: key === selected ? null : key, attempt: null });

  return (
    <div className="page">
      <nav aria-label={t('nav.breadcrumb')} className="crumbs">
        <Link href={href.jobs()}>{t('nav.jobs')}</Link> / <Link href={href.job(r.job)}>{r.job}</Link> /{' '}
        <span aria-current="page" className="mono">
          {r.id.slice(-12)}
        </span>
      </nav>
      <div className="page-head">
        <div>
          <h1 className="run-title">
            {t('run.heading')} <span className="mono">{r.id.slice(-12)}</span> <StateBadge state={r.state} />
          </h1>
        </div>
        <RunActions run={r} />
      </div>
      <RunFacts run={r} now={now} />
      {r.sla && <SlaPanel sla={r.sla} />}
      <section aria-labelledby="run-graph-title" className="card">
        <div className="section-head">
          <h2 id="run-graph-title">{t('run.graphTitle')}</h2>
          <span className="muted small">{t('run.graphHint')}</span>
        </div>
        <DagGraph tasks={r.tasks} selected={selected} onSelect={select} />
      </section>
      <section aria-labelledby="run-gantt-title" className="card">
        <div className="section-head">
          <h2 id="run-gantt-title">{t('run.ganttTitle')}</h2>
          <span className="muted small">{t('run.ganttHint')}</span>
        </div>
        {r.tasks.some((x) => x.attempts.length > 0) ? (
          <Gantt run={r} now={now} onSelect={select} />
        ) : (
          <Empty title={t('run.noAttemptsYet')} />
        )}
      </section>
      <LatenessPanel runId={r.id} live={live} />
      <div className="run-columns">
        <section aria-labelledby="run-tasks-title" className="card">
          <h2 id="run-tasks-title">{t('run.tasksTitle')}</h2>
          <TaskTable run={r} selected={selected} onSelect={select} now={now} />
        </section>
        {task ? (
          <TaskPanel
            run={r}
            task={task}
            attempt={attemptParam ? Number(attemptParam) : null}
            onAttempt={(n) => setParams({ attempt: n === null ? null : String(n) })}
            now={now}
          />
        ) : (
          <section className="card">
            <Empty title={t('run.pickTask')} />
          </section>
        )}
      </div>
    </div>
  );
}

function RunFacts({ run, now }: { run: RunDetail; now: number }) {
  const { t } = useTranslation();
  const f = useFormatters();
  return (
    <dl className="facts">
      <div>
        <dt>{t('run.job')}</dt>
        <dd>
          <Link href={href.job(run.job)}>{run.job}</Link> <span className="muted">v{run.jobVersion}</span>
        </dd>
      </div>
      <div>
        <dt>{t('runs.logicalDate')}</dt>
        <dd>{f.instant(run.logicalDate)}</dd>
      </div>
      <div>
        <dt>{t('runs.trigger')}</dt>
        <dd>{run.trigger?.type ?? t('runs.manual')}</dd>
      </div>
      <div>
        <dt>{t('run.started')}</dt>
        <dd>{f.instant(run.startedAt, { ms: true })}</dd>
      </div>
      <div>
        <dt>{t('run.finished')}</dt>
        <dd>{f.instant(run.finishedAt, { ms: true })}</dd>
      </div>
      <div>
        <dt>{t('run.duration')}</dt>
        <dd data-testid="run-duration">{f.duration(elapsed(run.startedAt, run.finishedAt, now))}</dd>
      </div>
      {run.parentRunId && (
        <div>
          <dt>{t('run.rerunOf')}</dt>
          <dd>
            <Link href={href.run(run.parentRunId)} className="mono">
              {run.parentRunId.slice(-12)}
            </Link>
          </dd>
        </div>
      )}
      {Object.keys(run.params).length > 0 && (
        <div className="facts-wide">
          <dt>{t('run.params')}</dt>
          <dd className="mono small">{JSON.stringify(run.params)}</dd>
        </div>
      )}
    </dl>
  );
}

type Action = 'rerun-failed' | 'rerun-all' | 'cancel';

function RunActions({ run }: { run: RunDetail }) {
  const { t } = useTranslation();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canRerun = useCan('POST /api/v1/runs/{id}/rerun');
  const canCancel = useCan('POST /api/v1/runs/{id}/cancel');
  const [action, setAction] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rerun = api.useMutation('post', '/api/v1/runs/{id}/rerun');
  const cancel = api.useMutation('post', '/api/v1/runs/{id}/cancel');
  const finished = isFinished(run.state);
  const failedTasks = run.tasks.filter((x) => isFailure(x.state)).length;
  const confirm = () => {
    const onError = (err: unknown) => setError(problemText(err));
    if (action === 'cancel') {
      cancel.mutate(
        { params: { path: { id: run.id } }, body: {} },
        {
          onSuccess: () => {
            setAction(null);
            void queryClient.invalidateQueries();
          },
          onError,
        },
      );
    } else if (action) {
      rerun.mutate(
        { params: { path: { id: run.id } }, body: { mode: action === 'rerun-all' ? 'all' : 'failed' } },
        {
          onSuccess: (next) => {
            setAction(null);
            router.push(href.run(next.id));
          },
          onError,
        },
      );
    }
  };
  const open = (a: Action) => {
    setError(null);
    setAction(a);
  };
  if (!canRerun && !canCancel) return null;
  return (
    <div className="actions" role="group" aria-label={t('run.actions')}>
      {canRerun && finished && failedTasks > 0 && (
        <button type="button" className="btn btn-primary" onClick={() => open('rerun-failed')}>
          {t('run.rerunFailed')}
        </button>
      )}
      {canRerun && finished && (
        <button type="button" className="btn" onClick={() => open('rerun-all')}>
          {t('run.rerunAll')}
        </button>
      )}
      {canCancel && !finished && (
        <button type="button" className="btn btn-danger" onClick={() => open('cancel')}>
          {t('run.cancel')}
        </button>
      )}
      <ConfirmDialog
        open={action !== null}
        title={action ? t(`run.confirm.${action}.title`) : ''}
        confirmLabel={action ? t(`run.confirm.${action}.button`) : ''}
        danger={action === 'cancel'}
        busy={rerun.isPending || cancel.isPending}
        error={error}
        onConfirm={confirm}
        onClose={() => setAction(null)}
      >
        {action && <p>{t(`run.confirm.${action}.body`, { count: failedTasks })}</p>}
      </ConfirmDialog>
    </div>
  );
}

function waitingText(
  task: TaskRun,
  t: ReturnType<typeof useTranslation>['t'],
  relative: (iso: string) => string,
): string | null {
  if (task.waitingReason) return task.waitingReason;
  // Called through a plain signature: the catalogue's key types are too deep to instantiate here.
  const say = t as unknown as (key: string, options: Record<string, unknown>) => string;
  if (task.state === 'up_for_retry' && task.nextAttemptAt)
    return say('run.retryAt', { when: relative(task.nextAttemptAt) });
  return null;
}

function TaskTable({
  run,
  selected,
  onSelect,
  now,
}: {
  run: RunDetail;
  selected: string | null;
  onSelect: (key: string) => void;
  now: number;
}) {
  const { t } = useTranslation();
  const f = useFormatters();
  const waits = run.tasks.map((x) => waitingText(x, t, f.relative));
  const breaches = new Map(run.sla?.taskBreaches.map((b) => [b.task, b]));
  const anyWaiting = waits.some(Boolean);
  return (
    <div className="table-wrap">
      <table className="table" data-testid="tasks-table">
        <thead>
          <tr>
            <th scope="col">{t('run.task')}</th>
            <th scope="col">{t('runs.state')}</th>
            <th scope="col" className="num">
              {t('run.attempts')}
            </th>
            <th scope="col" className="num">
              {t('run.exit')}
            </th>
            <th scope="col" className="num">
              {t('run.duration')}
            </th>
            {anyWaiting && <th scope="col">{t('run.waiting')}</th>}
          </tr>
        </thead>
        <tbody>
          {run.tasks.map((x, i) => (
            <tr key={x.key} data-task={x.key} className={x.key === selected ? 'is-selected' : undefined}>
              <th scope="row">
                <button
                  type="button"
                  className="link-button mono"
                  aria-pressed={x.key === selected}
                  onClick={() => onSelect(x.key)}
                >
                  {x.key}
                </button>
                {breaches.has(x.key) && (
                  <span className="badge tone-bad badge-small" data-testid="task-breach">
                    {t('sla.pastMaxDurationShort', { max: f.duration(breaches.get(x.key)!.maxDurationMs) })}
                  </span>
                )}
              </th>
              <td>
                <StateBadge state={x.state} />
              </td>
              <td className="num">{x.attemptsUsed}</td>
              <td className="num">{x.exitCode ?? t('common.none')}</td>
              <td className="num">{f.duration(elapsed(x.startedAt, x.finishedAt, now))}</td>
              {anyWaiting && <td className="muted small wrap">{waits[i] ?? ''}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TaskPanel({
  run,
  task,
  attempt,
  onAttempt,
  now,
}: {
  run: RunDetail;
  task: TaskRun;
  attempt: number | null;
  onAttempt: (n: number | null) => void;
  now: number;
}) {
  const { t } = useTranslation();
  const f = useFormatters();
  const queryClient = useQueryClient();
  const canMark = useCan('POST /api/v1/runs/{id}/tasks/{key}/mark');
  const [mark, setMark] = useState<'succeeded' | 'skipped' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const mutation = api.useMutation('post', '/api/v1/runs/{id}/tasks/{key}/mark');
  const waiting = waitingText(task, t, f.relative);
  const attempts = useMemo(() => [...task.attempts].reverse(), [task.attempts]);
  const markable = canMark && !isFinished(run.state) && !isFinished(task.state);
  return (
    <section aria-labelledby="task-title" className="card task-panel" data-testid="task-panel">
      <div className="section-head">
        <h2 id="task-title">
          <span className="mono">{task.key}</span> <StateBadge state={task.state} />
        </h2>
        {markable && (
          <div className="actions" role="group" aria-label={t('run.taskActions')}>
            <button type="button" className="btn" onClick={() => (setError(null), setMark('succeeded'))}>
              {t('run.markSucceeded')}
            </button>
            <button type="button" className="btn" onClick={() => (setError(null), setMark('skipped'))}>
              {t('run.markSkipped')}
            </button>
          </div>
        )}
      </div>
      {waiting && (
        <p className="notice" role="status">
          {t('run.waiting')}: {waiting}
        </p>
      )}
      {task.error && (
        <p className="notice notice-bad">
          {t('run.error')}: {task.error}
        </p>
      )}
      {task.output !== null && task.output !== undefined && (
        <div className="field">
          <span className="muted small">{t('run.output')}</span>
          <pre className="code small">{JSON.stringify(task.output, null, 2)}</pre>
        </div>
      )}
      <h3>{t('run.attempts')}</h3>
      {attempts.length === 0 ? (
        <p className="muted">{t('run.noAttempts')}</p>
      ) : (
        <div className="table-wrap">
          <table className="table table-compact" data-testid="attempts-table">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t('runs.state')}</th>
                <th scope="col">{t('run.agent')}</th>
                <th scope="col">{t('run.started')}</th>
                <th scope="col" className="num">
                  {t('run.duration')}
                </th>
                <th scope="col" className="num">
                  {t('run.exit')}
                </th>
                {attempts.length > 1 && <th scope="col">{t('run.log')}</th>}
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.id} data-attempt={a.number}>
                  <th scope="row">
                    {a.number}
                    {a.kind === 'compensation' && <span className="muted small"> {t('run.compensation')}</span>}
                  </th>
                  <td className="wrap">
                    <StateBadge state={a.state} />
                    {a.error && <div className="muted small">{a.error}</div>}
                  </td>
                  <td>{a.agent}</td>
                  <td>{f.instant(a.startedAt ?? a.assignedAt, { ms: true })}</td>
                  <td className="num">{f.duration(elapsed(a.startedAt, a.finishedAt, now))}</td>
                  <td className="num">{a.exitCode ?? t('common.none')}</td>
                  {attempts.length > 1 && (
                    <td>
                      <button
                        type="button"
                        className="link-button"
                        aria-label={t('run.showLogOf', { n: a.number })}
                        aria-pressed={(attempt ?? attempts[0]?.number) === a.number}
                        onClick={() => onAttempt(a.number === attempts[0]?.number ? null : a.number)}
                      >
                        {t('run.log')}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LogViewer key={`${run.id}/${task.key}/${attempt}`} runId={run.id} taskKey={task.key} attempt={attempt} />
      <ConfirmDialog
        open={mark !== null}
        title={mark ? t('run.confirm.mark.title', { task: task.key, state: t(`states.${mark}`) }) : ''}
        confirmLabel={t('run.confirm.mark.button')}
        busy={mutation.isPending}
        error={error}
        onConfirm={() =>
          mark &&
          mutation.mutate(
            { params: { path: { id: run.id, key: task.key } }, body: { state: mark } },
            {
              onSuccess: () => {
                setMark(null);
                void queryClient.invalidateQueries();
              },
              onError: (err) => setError(problemText(err)),
            },
          )
        }
        onClose={() => setMark(null)}
      >
        <p>{t('run.confirm.mark.body')}</p>
      </ConfirmDialog>
    </section>
  );
}
