'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Job, type JobVersions as Versions, type RunState, api } from '@/api/client';
import { useCan } from '@/auth/permissions';
import { BackfillPanel } from '@/components/backfill-panel';
import { SlaTab } from '@/components/sla-backtest';
import { ConfirmDialog } from '@/components/confirm';
import { DagGraph } from '@/components/dag-graph';
import { JobEditor, toYaml } from '@/components/job-editor';
import { StateGrid } from '@/components/state-grid';
import { Empty, ErrorState, Loading, problemText, useTitle } from '@/components/feedback';
import { ChoiceFilter } from '@/components/filters';
import { StateBadge } from '@/components/state-badge';
import { TabPanel, Tabs } from '@/components/tabs';
import { elapsed, useFormatters } from '@/lib/prefs';
import { RUN_STATES, isFinished, toneOf } from '@/lib/states';
import { splitRows, unifiedLines } from '@/lib/diff-rows';
import { href, useQueryState } from '@/lib/url';
import { Pager } from '@/components/pager';

const TABS = ['graph', 'runs', 'grid', 'triggers', 'definition', 'versions', 'backfill', 'sla'] as const;
type Tab = (typeof TABS)[number];

/** The grid's request: one page of 100 runs (`?cursor=` for older ones). */
const gridRequest = (name: string, cursor: string | null) => ({
  params: { path: { name }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
});

export function JobView() {
  const { t } = useTranslation();
  const [params, setParams] = useQueryState();
  const name = params.get('name') ?? '';
  const tabParam = params.get('tab') as Tab | null;
  const tab: Tab = tabParam && TABS.includes(tabParam) ? tabParam : 'graph';
  useTitle(name);
  const job = api.useQuery('get', '/api/v1/jobs/{name}', { params: { path: { name } } }, { enabled: !!name });
  // Started beside the job's own request rather than after it (the grid tab mounts once the job is read):
  // the same query the tab reads, so it is not asked twice.
  api.useQuery('get', '/api/v1/jobs/{name}/grid', gridRequest(name, params.get('cursor')), {
    enabled: !!name && tab === 'grid',
  });
  const canRun = useCan('POST /api/v1/jobs/{name}/runs');

  if (!name) return <Empty title={t('job.noName')} />;
  return (
    <div className="page">
      <nav aria-label={t('nav.breadcrumb')} className="crumbs">
        <Link href={href.jobs()}>{t('nav.jobs')}</Link> / <span aria-current="page">{name}</span>
      </nav>
      {job.isPending ? (
        <Loading />
      ) : job.isError ? (
        <ErrorState error={job.error} onRetry={() => void job.refetch()} />
      ) : (
        <>
          <div className="page-head">
            <div>
              <h1>{job.data.name}</h1>
              <p className="muted">
                {t('job.versionLine', { version: job.data.version })}
                {job.data.definition.description ? ` · ${job.data.definition.description}` : ''}
              </p>
            </div>
            {canRun && <RunNow job={job.data} />}
          </div>
          <Tabs
            idPrefix="job"
            label={t('job.sections')}
            value={tab}
            onChange={(id) =>
              setParams({
                tab: id === 'graph' ? null : id,
                state: null,
                cursor: null,
                from: null,
                to: null,
                backfill: null,
                finishBy: null,
                startBy: null,
                maxDuration: null,
                timezone: null,
                runs: null,
              })
            }
            tabs={TABS.map((id) => ({ id, label: t(`job.tabs.${id}`) }))}
          />
          <TabPanel idPrefix="job" value={tab}>
            {tab === 'graph' && <JobGraph job={job.data} />}
            {tab === 'runs' && <JobRuns name={name} />}
            {tab === 'grid' && <JobGrid name={name} />}
            {tab === 'triggers' && <JobTriggers name={name} />}
            {tab === 'definition' && <JobDefinition job={job.data} />}
            {tab === 'versions' && <JobVersions name={name} />}
            {tab === 'backfill' && <BackfillPanel job={job.data} />}
            {tab === 'sla' && <SlaTab job={job.data} />}
          </TabPanel>
        </>
      )}
    </div>
  );
}

/** The DAG with the latest run's state on each node. */
function JobGraph({ job }: { job: Job }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const latest = api.useQuery(
    'get',
    '/api/v1/runs',
    { params: { query: { job: job.name, limit: 1 } } },
    { refetchInterval: 5_000 },
  );
  const runId = latest.data?.items[0]?.id;
  const run = api.useQuery(
    'get',
    '/api/v1/runs/{id}',
    { params: { path: { id: runId ?? '' } } },
    { enabled: !!runId, refetchInterval: (q) => (q.state.data && isFinished(q.state.data.state) ? 10_000 : 1_500) },
  );
  const tasks = useMemo(() => {
    const states = new Map(run.data?.tasks.map((x) => [x.key, x.state]));
    return job.definition.tasks.map((x) => ({
      key: x.key,
      dependsOn: x.dependsOn,
      type: x.type,
      state: states.get(x.key) ?? null,
    }));
  }, [job, run.data]);
  return (
    <section aria-labelledby="graph-title">
      <div className="section-head">
        <h2 id="graph-title">{t('job.graphTitle')}</h2>
        {run.data ? (
          <span className="cell-stack">
            {t('job.latestRun')}
            <Link href={href.run(run.data.id)}>{run.data.id.slice(-12)}</Link>
            <StateBadge state={run.data.state} />
            <span className="muted">{f.instant(run.data.createdAt)}</span>
          </span>
        ) : latest.isSuccess ? (
          <span className="muted">{t('jobs.noRuns')}</span>
        ) : null}
      </div>
      <DagGraph tasks={tasks} />
    </section>
  );
}

function JobRuns({ name }: { name: string }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const [params, setParams] = useQueryState();
  const stateParam = params.get('state') as RunState | null;
  const state = stateParam && RUN_STATES.includes(stateParam) ? stateParam : null;
  const cursor = params.get('cursor');
  const runs = api.useQuery(
    'get',
    '/api/v1/runs',
    { params: { query: { job: name, limit: 25, ...(state ? { state } : {}), ...(cursor ? { cursor } : {}) } } },
    { refetchInterval: 5_000 },
  );
  return (
    <section aria-labelledby="runs-title">
      <div className="section-head">
        <h2 id="runs-title">{t('job.runsTitle')}</h2>
        <ChoiceFilter
          name="state"
          label={t('runs.stateFilter')}
          any={t('runs.anyState')}
          options={RUN_STATES.map((s) => ({ value: s, label: t(`states.${s}`) }))}
          resets={['cursor']}
        />
      </div>
      {runs.isPending ? (
        <Loading />
      ) : runs.isError ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : runs.data.items.length === 0 ? (
        <Empty title={state ? t('runs.noneInState', { state: t(`states.${state}`) }) : t('jobs.noRuns')} />
      ) : (
        <>
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">{t('runs.run')}</th>
                  <th scope="col">{t('runs.state')}</th>
                  <th scope="col">{t('runs.logicalDate')}</th>
                  <th scope="col">{t('runs.trigger')}</th>
                  <th scope="col">{t('run.started')}</th>
                  <th scope="col" className="num">
                    {t('run.duration')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {runs.data.items.map((r) => (
                  <tr key={r.id}>
                    <th scope="row">
                      <Link href={href.run(r.id)} className="mono">
                        {r.id.slice(-12)}
                      </Link>
                    </th>
                    <td>
                      <StateBadge state={r.state} />
                    </td>
                    <td>{f.instant(r.logicalDate)}</td>
                    <td>{r.trigger?.type ?? t('runs.manual')}</td>
                    <td>{f.instant(r.startedAt, { ms: true })}</td>
                    <td className="num">{f.duration(elapsed(r.startedAt, r.finishedAt))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager cursor={cursor} nextCursor={runs.data.nextCursor} onPage={(c) => setParams({ cursor: c })} />
        </>
      )}
    </section>
  );
}

function triggerSummary(spec: Record<string, unknown> | undefined): string {
  if (!spec) return '';
  const parts = ['cron', 'timezone', 'every', 'startAt', 'at', 'topic', 'filter', 'path', 'jobs', 'within']
    .filter((k) => spec[k] !== undefined && spec[k] !== null)
    .map((k) => (k === 'cron' ? String(spec[k] as string) : `${k}=${JSON.stringify(spec[k])}`));
  return parts.join(' · ');
}

function JobTriggers({ name }: { name: string }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const job = api.useQuery('get', '/api/v1/jobs/{name}', { params: { path: { name } } });
  const triggers = api.useQuery(
    'get',
    '/api/v1/jobs/{name}/triggers',
    { params: { path: { name } } },
    { refetchInterval: 5_000 },
  );
  const specs = new Map(job.data?.triggers.map((x) => [x.id, x.spec]));
  return (
    <section aria-labelledby="triggers-title">
      <div className="section-head">
        <h2 id="triggers-title">{t('job.triggersTitle')}</h2>
        <span className="muted">{t('common.timesIn', { zone: f.zone })}</span>
      </div>
      {triggers.isPending ? (
        <Loading />
      ) : triggers.isError ? (
        <ErrorState error={triggers.error} onRetry={() => void triggers.refetch()} />
      ) : triggers.data.items.length === 0 ? (
        <Empty title={t('job.noTriggers')}>{t('job.noTriggersHint')}</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="triggers-table">
            <thead>
              <tr>
                <th scope="col">{t('triggers.type')}</th>
                <th scope="col">{t('triggers.spec')}</th>
                <th scope="col">{t('triggers.status')}</th>
                <th scope="col">{t('triggers.nextFire')}</th>
                <th scope="col">{t('triggers.lastFire')}</th>
              </tr>
            </thead>
            <tbody>
              {triggers.data.items.map((tr) => (
                <tr key={tr.id}>
                  <th scope="row">{tr.type}</th>
                  <td className="mono">{triggerSummary(specs.get(tr.id))}</td>
                  <td>
                    {!tr.enabled ? (
                      <span className="badge tone-muted">{t('triggers.disabled')}</span>
                    ) : tr.active ? (
                      <span className="badge tone-ok">{t('triggers.active')}</span>
                    ) : (
                      <span className="badge tone-warn" title={tr.reason ?? undefined}>
                        {t('triggers.inactive')}
                      </span>
                    )}
                    {tr.reason && <div className="muted small">{tr.reason}</div>}
                  </td>
                  <td>
                    {tr.nextFireAt ? (
                      <span className="cell-stack">
                        {f.instant(tr.nextFireAt, { ms: true })}
                        <span className="muted">{f.relative(tr.nextFireAt)}</span>
                      </span>
                    ) : (
                      <span className="muted">{t('triggers.onEvent')}</span>
                    )}
                  </td>
                  <td>{f.instant(tr.lastFireAt, { ms: true })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The definition as YAML: an editor for roles that may change jobs, read-only for the others. */
function JobDefinition({ job }: { job: Job }) {
  const { t } = useTranslation();
  const canEdit = useCan('PUT /api/v1/jobs/{name}');
  const initial = useMemo(() => toYaml(job.source), [job.source]);
  return (
    <section aria-labelledby="def-title">
      <div className="section-head">
        <h2 id="def-title">{t('job.definitionTitle', { version: job.version })}</h2>
        {canEdit && <span className="muted">{t('editor.hint')}</span>}
      </div>
      <JobEditor initial={initial} jobName={job.name} canEdit={canEdit} />
    </section>
  );
}

/** Every version of the job, and what changed between two of them (`?from=&to=`, default the last change). */
function JobVersions({ name }: { name: string }) {
  const { t } = useTranslation();
  const f = useFormatters();
  const [params, setParams] = useQueryState();
  const versions = api.useQuery('get', '/api/v1/jobs/{name}/versions', { params: { path: { name } } });
  return (
    <section aria-labelledby="versions-title">
      <div className="section-head">
        <h2 id="versions-title">{t('versions.title')}</h2>
      </div>
      {versions.isPending ? (
        <Loading />
      ) : versions.isError ? (
        <ErrorState error={versions.error} onRetry={() => void versions.refetch()} />
      ) : versions.data.items.length === 0 ? (
        <Empty title={t('versions.none')} />
      ) : (
        <VersionsDiff
          items={versions.data.items}
          from={Number(params.get('from')) || null}
          to={Number(params.get('to')) || null}
          onPick={(from, to) => setParams({ from: String(from), to: String(to) })}
          split={params.get('diff') === 'split'}
          onSplit={(split) => setParams({ diff: split ? 'split' : null })}
          instant={f.instant}
        />
      )}
    </section>
  );
}

function VersionsDiff({
  items,
  from,
  to,
  onPick,
  split,
  onSplit,
  instant,
}: {
  items: Versions['items'];
  from: number | null;
  to: number | null;
  onPick: (from: number, to: number) => void;
  /** Side by side (`?diff=split`) instead of unified. */
  split: boolean;
  onSplit: (split: boolean) => void;
  instant: (v: string | null | undefined) => string;
}) {
  const { t } = useTranslation();
  const latest = items[0]!.version;
  const toV = items.some((v) => v.version === to) ? to! : latest;
  const fromV = items.some((v) => v.version === from) ? from! : Math.max(1, toV - 1);
  const a = items.find((v) => v.version === fromV);
  const b = items.find((v) => v.version === toV);
  const lines = useMemo(() => (a && b ? unifiedLines(toYaml(a.source), toYaml(b.source)) : []), [a, b]);
  const rows = useMemo(() => (split ? splitRows(lines) : []), [lines, split]);
  const added = lines.filter((l) => l.kind === 'add').length;
  const removed = lines.filter((l) => l.kind === 'del').length;
  return (
    <>
      <div className="table-wrap">
        <table className="table table-compact" data-testid="versions-table">
          <thead>
            <tr>
              <th scope="col">{t('versions.version')}</th>
              <th scope="col">{t('versions.created')}</th>
              <th scope="col" className="num">
                {t('versions.tasks')}
              </th>
              <th scope="col">{t('versions.from')}</th>
              <th scope="col">{t('versions.to')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <th scope="row">
                  v{v.version}
                  {v.version === latest && <span className="muted"> · {t('versions.current')}</span>}
                </th>
                <td>{instant(v.createdAt)}</td>
                <td className="num">{v.definition.tasks.length}</td>
                <td>
                  <input
                    type="radio"
                    name="diff-from"
                    aria-label={t('versions.compareFrom', { version: v.version })}
                    checked={v.version === fromV}
                    onChange={() => onPick(v.version, toV)}
                  />
                </td>
                <td>
                  <input
                    type="radio"
                    name="diff-to"
                    aria-label={t('versions.compareTo', { version: v.version })}
                    checked={v.version === toV}
                    onChange={() => onPick(fromV, v.version)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="section-head">
        <h3 id="diff-title">{t('versions.diffTitle', { from: fromV, to: toV })}</h3>
        <span className="diff-stats">
          <span className="diff-add">+{added}</span>
          <span className="diff-del">−{removed}</span>
          <span role="radiogroup" aria-label={t('diffLayout.label')} className="diff-layout">
            {(['unified', 'split'] as const).map((layout) => (
              <label key={layout} className="switch">
                <input
                  type="radio"
                  name="diff-layout"
                  checked={split === (layout === 'split')}
                  onChange={() => onSplit(layout === 'split')}
                />
                <span>{t(`diffLayout.${layout}`)}</span>
              </label>
            ))}
          </span>
        </span>
      </div>
      {items.length === 1 ? (
        <Empty title={t('versions.onlyOne')} />
      ) : fromV === toV || (added === 0 && removed === 0) ? (
        <Empty title={t('versions.same')} />
      ) : split ? (
        <div className="table-wrap">
          <table className="diff diff-split" aria-labelledby="diff-title" data-testid="version-diff-split">
            <thead className="visually-hidden">
              <tr>
                <th scope="col">{t('diffLayout.lineIn', { version: fromV })}</th>
                <th scope="col">{t('diffLayout.textOf', { version: fromV })}</th>
                <th scope="col">{t('diffLayout.lineIn', { version: toV })}</th>
                <th scope="col">{t('diffLayout.textOf', { version: toV })}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i}>
                  <td className="ln">
                    {r.left?.oldNo ?? ''}
                    {r.left?.kind === 'del' && <span className="visually-hidden"> {t('versions.removed')}</span>}
                  </td>
                  <td className={`text ${r.left === null ? 'blank' : r.left.kind === 'del' ? 'del' : ''}`}>
                    {r.left?.text ?? ''}
                  </td>
                  <td className="ln">
                    {r.right?.newNo ?? ''}
                    {r.right?.kind === 'add' && <span className="visually-hidden"> {t('versions.added')}</span>}
                  </td>
                  <td className={`text ${r.right === null ? 'blank' : r.right.kind === 'add' ? 'add' : ''}`}>
                    {r.right?.text ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="diff" aria-labelledby="diff-title" data-testid="version-diff">
            <tbody>
              {lines.map((l, i) => (
                <tr key={i} className={l.kind}>
                  <td className="ln">{l.oldNo ?? ''}</td>
                  <td className="ln">{l.newNo ?? ''}</td>
                  <td
                    className="sign"
                    aria-label={
                      l.kind === 'add' ? t('versions.added') : l.kind === 'del' ? t('versions.removed') : undefined
                    }
                  >
                    {l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ' '}
                  </td>
                  <td>{l.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** Runs × tasks: each run's task states in one matrix, older runs by the pager (`?cursor=`). */
function JobGrid({ name }: { name: string }) {
  const { t } = useTranslation();
  const [params, setParams] = useQueryState();
  const cursor = params.get('cursor');
  const grid = api.useQuery('get', '/api/v1/jobs/{name}/grid', gridRequest(name, cursor), { refetchInterval: 10_000 });
  const shown = useMemo(() => {
    if (!grid.data) return [];
    const used = new Set(grid.data.runs.flatMap((r) => r.cells).filter((c) => c >= 0));
    return grid.data.states.filter((_, i) => used.has(i));
  }, [grid.data]);
  return (
    <section aria-labelledby="grid-title">
      <div className="section-head">
        <h2 id="grid-title">{t('grid.title')}</h2>
        {grid.data && (
          <span className="muted">
            {t('grid.size', { tasks: grid.data.tasks.length, runs: grid.data.runs.length })}
          </span>
        )}
      </div>
      {grid.isPending ? (
        <Loading />
      ) : grid.isError ? (
        <ErrorState error={grid.error} onRetry={() => void grid.refetch()} />
      ) : grid.data.runs.length === 0 ? (
        <Empty title={t('jobs.noRuns')} />
      ) : (
        <>
          <StateGrid grid={grid.data} />
          <ul className="grid-legend" aria-label={t('grid.legend')}>
            {shown.map((s) => (
              <li key={s}>
                <span className={`grid-cell tone-${toneOf(s)}`} data-state={s} aria-hidden="true" />
                {t(`states.${s}`)}
              </li>
            ))}
          </ul>
          <Pager cursor={cursor} nextCursor={grid.data.nextCursor} onPage={(c) => setParams({ cursor: c })} />
        </>
      )}
    </section>
  );
}

/** "Run now" with parameters (JSON, prefilled with the job's defaults) and an optional logical date, confirmed. */
function RunNow({ job }: { job: Job }) {
  const { t } = useTranslation();
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [paramsText, setParamsText] = useState('');
  const [logicalDate, setLogicalDate] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const trigger = api.useMutation('post', '/api/v1/jobs/{name}/runs');
  const start = () => {
    let params: Record<string, unknown>;
    try {
      const parsed: unknown = paramsText.trim() ? JSON.parse(paramsText) : {};
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
      params = parsed as Record<string, unknown>;
    } catch {
      setFormError(t('job.run.badParams'));
      return;
    }
    let date: string | undefined;
    if (logicalDate.trim()) {
      const ms = Date.parse(logicalDate.trim());
      if (Number.isNaN(ms)) {
        setFormError(t('job.run.badDate'));
        return;
      }
      date = new Date(ms).toISOString();
    }
    setFormError(null);
    trigger.mutate(
      { params: { path: { name: job.name } }, body: { params, ...(date ? { logicalDate: date } : {}) } },
      {
        onSuccess: (run) => router.push(href.run(run.id)),
        onError: (err) => setFormError(problemText(err)),
      },
    );
  };
  return (
    <>
      <button
        type="button"
        className="btn btn-primary"
        onClick={() => {
          setParamsText(JSON.stringify(job.definition.params ?? {}, null, 2));
          setLogicalDate('');
          setFormError(null);
          setOpen(true);
        }}
      >
        {t('job.run.button')}
      </button>
      <ConfirmDialog
        open={open}
        title={t('job.run.title', { name: job.name })}
        confirmLabel={t('job.run.confirm')}
        busy={trigger.isPending}
        error={formError}
        onConfirm={start}
        onClose={() => setOpen(false)}
      >
        <label className="field">
          <span>{t('job.run.params')}</span>
          <textarea
            value={paramsText}
            onChange={(e) => setParamsText(e.target.value)}
            rows={6}
            spellCheck={false}
            className="mono"
          />
          <span className="muted small">{t('job.run.paramsHint')}</span>
        </label>
        <label className="field">
          <span>{t('job.run.logicalDate')}</span>
          <input
            type="text"
            value={logicalDate}
            onChange={(e) => setLogicalDate(e.target.value)}
            placeholder="2026-12-01T00:00:00Z"
            className="mono"
          />
          <span className="muted small">{t('job.run.logicalDateHint')}</span>
        </label>
      </ConfirmDialog>
    </>
  );
}
