'use client';

import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Problem, type Schemas, api } from '@/api/client';
import { useCan } from '@/auth/permissions';
import { ConfirmDialog } from '@/components/confirm';
import { type Column, DataTable } from '@/components/data-table';
import { Empty, Loaded, Loading, ErrorState, problemText, useRefusal, useTitle } from '@/components/feedback';
import { ChoiceFilter, Filters } from '@/components/filters';
import { TabPanel, Tabs } from '@/components/tabs';
import { useFormatters } from '@/lib/prefs';
import { href, useQueryState } from '@/lib/url';

type Channel = Schemas['AlertChannel'];
type ChannelType = Schemas['AlertChannelType'];
type Rule = Schemas['AlertRule'];
type AlertEvent = Schemas['AlertEvent'];
type Delivery = Schemas['AlertDelivery'];
type DeliveryState = Schemas['AlertDeliveryState'];

const TABS = ['channels', 'rules', 'history'] as const;
type Tab = (typeof TABS)[number];
const CHANNEL_TYPES: readonly ChannelType[] = ['webhook', 'slack', 'email'];
const EVENTS: readonly AlertEvent[] = [
  'run_failed',
  'task_failed',
  'task_lost',
  'sla_at_risk',
  'sla_missed',
  'agent_offline',
  'trigger_misfired',
];
const STATES: readonly DeliveryState[] = ['pending', 'sent', 'failed', 'suppressed'];
const STATE_TONE: Record<DeliveryState, string> = { pending: 'wait', sent: 'ok', failed: 'bad', suppressed: 'muted' };
const HISTORY_PAGE = 50;

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** A duration in ms as the API takes it (`10m`, `1h30m`). */
function duration(ms: number): string {
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}

/**
 * The API's 400 field errors on the form's fields (`to[1]` is the `to` field),
 * the rest as one line for the whole form.
 */
function onFields<F extends string>(
  error: unknown,
  fields: readonly F[],
): { field: Partial<Record<F, string>>; form: string | null } {
  if (!error) return { field: {}, form: null };
  const p = error as Problem;
  const field: Partial<Record<F, string>> = {};
  const rest: string[] = [];
  for (const e of p.errors ?? []) {
    const head = (e.path ?? '').split(/[.[]/)[0] as F;
    if (fields.includes(head)) field[head] = [field[head], e.message].filter(Boolean).join('; ');
    else rest.push(`${e.path}: ${e.message}`);
  }
  if (Object.keys(field).length === 0 && rest.length === 0) return { field, form: problemText(error) };
  return { field, form: rest.length > 0 ? rest.join('; ') : null };
}

/** A labelled input with its field error (announced, and tied to the input by aria-describedby). */
function Field({
  label,
  error,
  hint,
  children,
  name,
}: {
  label: string;
  error?: string;
  hint?: string;
  name: string;
  children: (props: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string }) => ReactNode;
}) {
  const id = useId();
  const describedBy = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ');
  return (
    <div className="field" data-field={name}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy || undefined })}
      {hint && (
        <span id={`${id}-hint`} className="muted small">
          {hint}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} className="field-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

export function AlertsView() {
  const { t } = useTranslation();
  useTitle(t('alerts.title'));
  const [params, setParams] = useQueryState();
  const tabParam = params.get('tab');
  const tab: Tab = TABS.find((x) => x === tabParam) ?? 'channels';
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('alerts.title')}</h1>
      </div>
      <p className="muted">{t('alerts.intro')}</p>
      <Tabs
        tabs={TABS.map((id) => ({ id, label: t(`alerts.tabs.${id}`) }))}
        value={tab}
        onChange={(id) => setParams({ tab: id === 'channels' ? null : id })}
        label={t('alerts.title')}
        idPrefix="alerts"
      />
      <TabPanel idPrefix="alerts" value={tab}>
        {tab === 'channels' ? <ChannelsTab /> : tab === 'rules' ? <RulesTab /> : <HistoryTab />}
      </TabPanel>
    </div>
  );
}

/** Where a channel sends: its URL, or its addresses. */
/** The Edit / Delete column of the channels' and rules' tables: each button only when the role may use it. */
/** `t` through a plain signature: the catalogue's key types are too deep to instantiate in a generic helper. */
type PlainT = (key: string, options?: Record<string, unknown>) => string;

function actionsColumn<T extends { name: string }>(
  t: PlainT,
  on: { onEdit: ((x: T) => void) | null; onDelete: ((x: T) => void) | null },
): Column<T> {
  return {
    id: 'actions',
    header: <span className="visually-hidden">{t('alerts.actions')}</span>,
    cell: (x) => (
      <span className="actions">
        {on.onEdit && (
          <button
            type="button"
            className="btn btn-quiet"
            aria-label={t('alerts.editNamed', { name: x.name })}
            onClick={() => on.onEdit?.(x)}
          >
            {t('alerts.edit')}
          </button>
        )}
        {on.onDelete && (
          <button
            type="button"
            className="btn btn-quiet"
            aria-label={t('alerts.deleteNamed', { name: x.name })}
            onClick={() => on.onDelete?.(x)}
          >
            {t('alerts.delete')}
          </button>
        )}
      </span>
    ),
  };
}

const where = (c: Channel) => (c.type === 'email' ? (c.to ?? []).join(', ') : (c.url ?? ''));

function ChannelsTab() {
  const { t } = useTranslation();
  const f = useFormatters();
  const refusal = useRefusal();
  const queryClient = useQueryClient();
  const canPut = useCan('PUT /api/v1/alert-channels/{name}');
  const canDelete = useCan('DELETE /api/v1/alert-channels/{name}');
  const channels = api.useQuery('get', '/api/v1/alert-channels', {});
  const remove = api.useMutation('delete', '/api/v1/alert-channels/{name}');
  const [editing, setEditing] = useState<Channel | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Channel | null>(null);
  const reload = () => void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/alert-channels'] });
  const columns: Array<Column<Channel>> = [
    { id: 'name', header: t('alerts.channels.name'), cell: (c) => c.name, rowHeader: true },
    { id: 'type', header: t('alerts.channels.type'), cell: (c) => t(`alerts.channelTypes.${c.type}`) },
    { id: 'where', header: t('alerts.channels.where'), cell: (c) => <span className="mono small">{where(c)}</span> },
    {
      id: 'signed',
      header: t('alerts.channels.signed'),
      cell: (c) => (c.type === 'webhook' ? (c.hasSecret ? t('alerts.yes') : t('alerts.no')) : t('common.none')),
    },
    { id: 'updated', header: t('alerts.updated'), cell: (c) => f.instant(c.updatedAt) },
  ];
  if (canPut || canDelete)
    columns.push(
      actionsColumn<Channel>(t as unknown as PlainT, {
        onEdit: canPut ? setEditing : null,
        onDelete: canDelete
          ? (x) => {
              remove.reset();
              setDeleting(x);
            }
          : null,
      }),
    );
  return (
    <>
      <div className="section-head">
        <h2>{t('alerts.channels.title')}</h2>
        {canPut && editing === null && (
          <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
            {t('alerts.channels.new')}
          </button>
        )}
      </div>
      {editing !== null && (
        <ChannelForm
          key={editing === 'new' ? 'new' : editing.name}
          initial={editing === 'new' ? null : editing}
          onDone={() => {
            setEditing(null);
            reload();
          }}
        />
      )}
      <Loaded
        query={channels}
        isEmpty={(d) => d.items.length === 0}
        empty={
          <Empty title={t('alerts.channels.empty')}>
            {canPut ? t('alerts.channels.emptyHint') : t('alerts.readOnly')}
          </Empty>
        }
      >
        {(d) => (
          <DataTable
            caption={t('alerts.channels.title')}
            columns={columns}
            rows={d.items}
            rowKey={(c) => c.name}
            rowAttrs={(c) => ({ 'data-channel': c.name })}
            testId="alert-channels"
          />
        )}
      </Loaded>
      <ConfirmDialog
        open={deleting !== null}
        title={t('alerts.channels.deleteTitle', { name: deleting?.name ?? '' })}
        confirmLabel={t('alerts.delete')}
        danger
        busy={remove.isPending}
        error={remove.error ? refusal(remove.error) : null}
        onClose={() => setDeleting(null)}
        onConfirm={() =>
          deleting &&
          remove.mutate(
            { params: { path: { name: deleting.name } } },
            {
              onSuccess: () => {
                setDeleting(null);
                reload();
              },
            },
          )
        }
      >
        <p>{t('alerts.channels.deleteBody')}</p>
      </ConfirmDialog>
    </>
  );
}

const CHANNEL_FIELDS = ['name', 'type', 'url', 'to', 'secret'] as const;

function ChannelForm({ initial, onDone }: { initial: Channel | null; onDone: () => void }) {
  const { t } = useTranslation();
  const refusal = useRefusal();
  const put = api.useMutation('put', '/api/v1/alert-channels/{name}');
  const [name, setName] = useState(initial?.name ?? '');
  const [type, setType] = useState<ChannelType>(initial?.type ?? 'webhook');
  const [url, setUrl] = useState(initial?.url ?? '');
  const [to, setTo] = useState((initial?.to ?? []).join(', '));
  const [secret, setSecret] = useState('');
  const { field, form } = onFields(put.error, CHANNEL_FIELDS);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body =
      type === 'email'
        ? { type, to: list(to) }
        : { type, url: url.trim(), ...(type === 'webhook' && secret ? { secret } : {}) };
    put.mutate({ params: { path: { name: name.trim() } }, body }, { onSuccess: onDone });
  };
  const titleId = useId();
  return (
    <form className="card alert-form" aria-labelledby={titleId} noValidate onSubmit={submit} data-testid="channel-form">
      <h3 id={titleId}>
        {initial ? t('alerts.channels.editTitle', { name: initial.name }) : t('alerts.channels.new')}
      </h3>
      <div className="form-row">
        <Field name="name" label={t('alerts.channels.name')} error={field.name} hint={t('alerts.nameHint')}>
          {(p) => (
            <input
              {...p}
              className="mono"
              value={name}
              required
              readOnly={initial !== null}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <Field name="type" label={t('alerts.channels.type')} error={field.type}>
          {(p) => (
            <select {...p} value={type} onChange={(e) => setType(e.target.value as ChannelType)}>
              {CHANNEL_TYPES.map((x) => (
                <option key={x} value={x}>
                  {t(`alerts.channelTypes.${x}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {type === 'email' ? (
        <Field name="to" label={t('alerts.channels.to')} error={field.to} hint={t('alerts.channels.toHint')}>
          {(p) => <input {...p} className="mono" value={to} onChange={(e) => setTo(e.target.value)} />}
        </Field>
      ) : (
        <Field
          name="url"
          label={t('alerts.channels.url')}
          error={field.url}
          hint={type === 'slack' ? t('alerts.channels.slackHint') : t('alerts.channels.urlHint')}
        >
          {(p) => (
            <input {...p} className="mono" type="url" value={url} required onChange={(e) => setUrl(e.target.value)} />
          )}
        </Field>
      )}
      {type === 'webhook' && (
        <Field
          name="secret"
          label={t('alerts.channels.secret')}
          error={field.secret}
          hint={initial?.hasSecret ? t('alerts.channels.secretAgain') : t('alerts.channels.secretHint')}
        >
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="off"
              className="mono"
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
            />
          )}
        </Field>
      )}
      <p className="form-error" role="alert">
        {form ? refusal({ ...(put.error as Problem), errors: [], detail: form }) : null}
      </p>
      <div className="actions">
        <button type="button" className="btn btn-quiet" onClick={onDone}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="btn btn-primary" disabled={put.isPending}>
          {put.isPending ? t('common.working') : t('alerts.save')}
        </button>
      </div>
    </form>
  );
}

function RulesTab() {
  const { t } = useTranslation();
  const f = useFormatters();
  const refusal = useRefusal();
  const queryClient = useQueryClient();
  const canPut = useCan('PUT /api/v1/alert-rules/{name}');
  const canDelete = useCan('DELETE /api/v1/alert-rules/{name}');
  const rules = api.useQuery('get', '/api/v1/alert-rules', {});
  const remove = api.useMutation('delete', '/api/v1/alert-rules/{name}');
  const [editing, setEditing] = useState<Rule | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Rule | null>(null);
  const reload = () => void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/alert-rules'] });
  const columns: Array<Column<Rule>> = [
    { id: 'name', header: t('alerts.rules.name'), cell: (r) => r.name, rowHeader: true },
    {
      id: 'events',
      header: t('alerts.rules.events'),
      cell: (r) => (
        <ul className="chips">
          {r.events.map((e) => (
            <li key={e} className="chip">
              {t(`alerts.events.${e}`)}
            </li>
          ))}
        </ul>
      ),
    },
    {
      id: 'jobs',
      header: t('alerts.rules.jobs'),
      cell: (r) =>
        r.jobs.length === 0 ? (
          <span className="muted">{t('alerts.rules.everyJob')}</span>
        ) : (
          <span className="mono small">{r.jobs.join(', ')}</span>
        ),
    },
    { id: 'channels', header: t('alerts.rules.channels'), cell: (r) => r.channels.join(', ') },
    {
      id: 'throttle',
      header: t('alerts.rules.throttle'),
      cell: (r) => (r.throttleMs > 0 ? duration(r.throttleMs) : t('common.none')),
    },
    {
      id: 'enabled',
      header: t('alerts.rules.enabled'),
      cell: (r) => (r.enabled ? t('alerts.yes') : t('alerts.no')),
    },
    { id: 'updated', header: t('alerts.updated'), cell: (r) => f.instant(r.updatedAt) },
  ];
  if (canPut || canDelete)
    columns.push(
      actionsColumn<Rule>(t as unknown as PlainT, {
        onEdit: canPut ? setEditing : null,
        onDelete: canDelete
          ? (x) => {
              remove.reset();
              setDeleting(x);
            }
          : null,
      }),
    );
  return (
    <>
      <div className="section-head">
        <h2>{t('alerts.rules.title')}</h2>
        {canPut && editing === null && (
          <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
            {t('alerts.rules.new')}
          </button>
        )}
      </div>
      {editing !== null && (
        <RuleForm
          key={editing === 'new' ? 'new' : editing.name}
          initial={editing === 'new' ? null : editing}
          onDone={() => {
            setEditing(null);
            reload();
          }}
        />
      )}
      <Loaded
        query={rules}
        isEmpty={(d) => d.items.length === 0}
        empty={
          <Empty title={t('alerts.rules.empty')}>{canPut ? t('alerts.rules.emptyHint') : t('alerts.readOnly')}</Empty>
        }
      >
        {(d) => (
          <DataTable
            caption={t('alerts.rules.title')}
            columns={columns}
            rows={d.items}
            rowKey={(r) => r.name}
            rowAttrs={(r) => ({ 'data-rule': r.name })}
            testId="alert-rules"
          />
        )}
      </Loaded>
      <ConfirmDialog
        open={deleting !== null}
        title={t('alerts.rules.deleteTitle', { name: deleting?.name ?? '' })}
        confirmLabel={t('alerts.delete')}
        danger
        busy={remove.isPending}
        error={remove.error ? refusal(remove.error) : null}
        onClose={() => setDeleting(null)}
        onConfirm={() =>
          deleting &&
          remove.mutate(
            { params: { path: { name: deleting.name } } },
            {
              onSuccess: () => {
                setDeleting(null);
                reload();
              },
            },
          )
        }
      >
        <p>{t('alerts.rules.deleteBody')}</p>
      </ConfirmDialog>
    </>
  );
}

const RULE_FIELDS = ['name', 'events', 'jobs', 'channels', 'throttle', 'agentOfflineAfter'] as const;

/** A set of checkboxes in a fieldset (events, channels), with its field error. */
function CheckboxGroup<T extends string>({
  legend,
  options,
  value,
  onChange,
  error,
  name,
}: {
  legend: string;
  options: ReadonlyArray<{ value: T; label: string }>;
  value: readonly T[];
  onChange: (v: T[]) => void;
  error?: string;
  name: string;
}) {
  const id = useId();
  return (
    <fieldset
      className="field checkbox-group"
      data-field={name}
      aria-invalid={error ? true : undefined}
      aria-describedby={error ? `${id}-error` : undefined}
    >
      <legend>{legend}</legend>
      <div className="chips">
        {options.map((o) => (
          <label key={o.value} className="switch">
            <input
              type="checkbox"
              checked={value.includes(o.value)}
              onChange={(e) => onChange(e.target.checked ? [...value, o.value] : value.filter((v) => v !== o.value))}
            />
            <span>{o.label}</span>
          </label>
        ))}
      </div>
      {error && (
        <span id={`${id}-error`} className="field-error" role="alert">
          {error}
        </span>
      )}
    </fieldset>
  );
}

function RuleForm({ initial, onDone }: { initial: Rule | null; onDone: () => void }) {
  const { t } = useTranslation();
  const refusal = useRefusal();
  const put = api.useMutation('put', '/api/v1/alert-rules/{name}');
  const channels = api.useQuery('get', '/api/v1/alert-channels', {});
  const [name, setName] = useState(initial?.name ?? '');
  const [events, setEvents] = useState<AlertEvent[]>(initial?.events ?? ['run_failed']);
  const [jobs, setJobs] = useState((initial?.jobs ?? []).join(', '));
  const [chosen, setChosen] = useState<string[]>(initial?.channels ?? []);
  const [throttle, setThrottle] = useState(initial && initial.throttleMs > 0 ? duration(initial.throttleMs) : '');
  const [offlineAfter, setOfflineAfter] = useState(
    initial?.agentOfflineAfterMs ? duration(initial.agentOfflineAfterMs) : '',
  );
  const [enabled, setEnabled] = useState(initial?.enabled ?? true);
  const { field, form } = onFields(put.error, RULE_FIELDS);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = {
      events,
      jobs: list(jobs),
      channels: chosen,
      enabled,
      ...(throttle.trim() ? { throttle: throttle.trim() } : {}),
      ...(events.includes('agent_offline') && offlineAfter.trim() ? { agentOfflineAfter: offlineAfter.trim() } : {}),
    };
    put.mutate({ params: { path: { name: name.trim() } }, body }, { onSuccess: onDone });
  };
  const titleId = useId();
  const channelNames = channels.data?.items.map((c) => c.name) ?? [];
  // a channel the rule names that is gone stays visible, so saving does not drop it silently
  const options = [...new Set([...channelNames, ...chosen])].map((c) => ({ value: c, label: c }));
  return (
    <form className="card alert-form" aria-labelledby={titleId} noValidate onSubmit={submit} data-testid="rule-form">
      <h3 id={titleId}>{initial ? t('alerts.rules.editTitle', { name: initial.name }) : t('alerts.rules.new')}</h3>
      <Field name="name" label={t('alerts.rules.name')} error={field.name} hint={t('alerts.nameHint')}>
        {(p) => (
          <input
            {...p}
            className="mono"
            value={name}
            required
            readOnly={initial !== null}
            onChange={(e) => setName(e.target.value)}
          />
        )}
      </Field>
      <CheckboxGroup
        name="events"
        legend={t('alerts.rules.events')}
        options={EVENTS.map((e) => ({ value: e, label: t(`alerts.events.${e}`) }))}
        value={events}
        onChange={setEvents}
        error={field.events}
      />
      <Field name="jobs" label={t('alerts.rules.jobs')} error={field.jobs} hint={t('alerts.rules.jobsHint')}>
        {(p) => <input {...p} className="mono" value={jobs} onChange={(e) => setJobs(e.target.value)} />}
      </Field>
      {channels.isPending ? (
        <Loading />
      ) : options.length === 0 ? (
        <p className="notice" data-field="channels">
          {t('alerts.rules.noChannels')}
        </p>
      ) : (
        <CheckboxGroup
          name="channels"
          legend={t('alerts.rules.channels')}
          options={options}
          value={chosen}
          onChange={setChosen}
          error={field.channels}
        />
      )}
      <div className="form-row">
        <Field
          name="throttle"
          label={t('alerts.rules.throttle')}
          error={field.throttle}
          hint={t('alerts.rules.throttleHint')}
        >
          {(p) => (
            <input
              {...p}
              className="mono"
              value={throttle}
              placeholder="10m"
              onChange={(e) => setThrottle(e.target.value)}
            />
          )}
        </Field>
        {events.includes('agent_offline') && (
          <Field
            name="agentOfflineAfter"
            label={t('alerts.rules.agentOfflineAfter')}
            error={field.agentOfflineAfter}
            hint={t('alerts.rules.agentOfflineAfterHint')}
          >
            {(p) => (
              <input
                {...p}
                className="mono"
                value={offlineAfter}
                placeholder="2m"
                onChange={(e) => setOfflineAfter(e.target.value)}
              />
            )}
          </Field>
        )}
      </div>
      <label className="switch">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        <span>{t('alerts.rules.enabled')}</span>
      </label>
      <p className="form-error" role="alert">
        {form ? refusal({ ...(put.error as Problem), errors: [], detail: form }) : null}
      </p>
      <div className="actions">
        <button type="button" className="btn btn-quiet" onClick={onDone}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="btn btn-primary" disabled={put.isPending}>
          {put.isPending ? t('common.working') : t('alerts.save')}
        </button>
      </div>
    </form>
  );
}

function HistoryTab() {
  const { t } = useTranslation();
  const [params, setParams] = useQueryState();
  const rules = api.useQuery('get', '/api/v1/alert-rules', {});
  const rule = params.get('rule') ?? undefined;
  const job = params.get('job') ?? undefined;
  const stateParam = params.get('state');
  const state = STATES.find((s) => s === stateParam);
  // "Load more" appends a page: the cursors of the pages shown so far, reset by any filter change.
  const filterKey = `${rule ?? ''}|${job ?? ''}|${state ?? ''}`;
  const [pages, setPages] = useState<{ key: string; cursors: Array<string | undefined> }>({
    key: filterKey,
    cursors: [undefined],
  });
  const cursors = pages.key === filterKey ? pages.cursors : [undefined];
  const [jobText, setJobText] = useState(job ?? '');
  return (
    <>
      <Filters>
        <ChoiceFilter
          name="rule"
          label={t('alerts.history.rule')}
          any={t('alerts.history.anyRule')}
          options={(rules.data?.items ?? []).map((r) => ({ value: r.name, label: r.name }))}
        />
        <form
          className="inline-field"
          onSubmit={(e) => {
            e.preventDefault();
            setParams({ job: jobText.trim() || null });
          }}
        >
          <label htmlFor="alerts-job">{t('alerts.history.job')}</label>
          <input
            id="alerts-job"
            type="search"
            className="mono"
            value={jobText}
            onChange={(e) => setJobText(e.target.value)}
            onBlur={() => setParams({ job: jobText.trim() || null })}
          />
        </form>
        <ChoiceFilter
          name="state"
          label={t('alerts.history.state')}
          any={t('alerts.history.anyState')}
          options={STATES.map((s) => ({ value: s, label: t(`alerts.states.${s}`) }))}
        />
      </Filters>
      <div className="table-wrap">
        <table className="table" data-testid="alert-history">
          <caption className="visually-hidden">{t('alerts.tabs.history')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('alerts.history.when')}</th>
              <th scope="col">{t('alerts.history.event')}</th>
              <th scope="col">{t('alerts.history.rule')}</th>
              <th scope="col">{t('alerts.history.channel')}</th>
              <th scope="col">{t('alerts.history.job')}</th>
              <th scope="col">{t('alerts.history.state')}</th>
              <th scope="col">{t('alerts.history.attempts')}</th>
              <th scope="col">{t('alerts.history.why')}</th>
            </tr>
          </thead>
          {cursors.map((cursor, i) => (
            <HistoryPage
              key={cursor ?? 'first'}
              query={{ rule, job, state, cursor }}
              first={i === 0}
              last={i === cursors.length - 1}
              onMore={(next) => setPages({ key: filterKey, cursors: [...cursors, next] })}
            />
          ))}
        </table>
      </div>
    </>
  );
}

/** One page of the history as a <tbody>; the last page shown offers the next one. */
function HistoryPage({
  query,
  first,
  last,
  onMore,
}: {
  query: { rule?: string; job?: string; state?: DeliveryState; cursor?: string };
  first: boolean;
  last: boolean;
  onMore: (cursor: string) => void;
}) {
  const { t } = useTranslation();
  const f = useFormatters();
  const page = api.useQuery(
    'get',
    '/api/v1/alerts',
    {
      params: {
        query: {
          limit: String(HISTORY_PAGE),
          ...(query.rule ? { rule: query.rule } : {}),
          ...(query.job ? { job: query.job } : {}),
          ...(query.state ? { state: query.state } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        },
      },
    },
    // the first page follows new alerts; later pages are history
    { refetchInterval: first ? 5_000 : false },
  );
  const whole = (content: ReactNode) => (
    <tbody>
      <tr>
        <td colSpan={8}>{content}</td>
      </tr>
    </tbody>
  );
  if (page.isPending) return whole(<Loading />);
  if (page.isError) return whole(<ErrorState error={page.error} onRetry={() => void page.refetch()} />);
  const { items, nextCursor } = page.data;
  if (first && items.length === 0)
    return whole(
      <Empty title={query.rule || query.job || query.state ? t('alerts.history.noneMatch') : t('alerts.history.empty')}>
        {t('alerts.history.emptyHint')}
      </Empty>,
    );
  return (
    <tbody>
      {items.map((a: Delivery) => (
        <tr key={a.id} data-alert={a.id} data-event={a.event} data-state={a.state}>
          <td>
            <span title={f.instant(a.createdAt, { ms: true })}>{f.instant(a.createdAt)}</span>
          </td>
          <th scope="row">
            {t(`alerts.events.${a.event}`)}
            {a.resolved && <span className="badge badge-small tone-ok">{t('alerts.history.resolved')}</span>}
          </th>
          <td>{a.rule}</td>
          <td>{a.channel}</td>
          <td>{a.job ? <Link href={href.job(a.job)}>{a.job}</Link> : t('common.none')}</td>
          <td>
            <span className={`badge tone-${STATE_TONE[a.state]}`} data-testid="alert-state">
              <span className="dot" aria-hidden="true" />
              {t(`alerts.states.${a.state}`)}
            </span>
            {a.state === 'pending' && a.nextAttemptAt && (
              <span className="muted small"> {t('alerts.history.nextTry', { when: f.relative(a.nextAttemptAt) })}</span>
            )}
          </td>
          <td className="num">{a.attempts}</td>
          <td className="small">
            <span className="cell-stack">
              {a.runId && (
                <Link href={href.run(a.runId, a.taskKey ?? undefined)} className="mono">
                  {a.taskKey ? `${a.runId.slice(0, 8)}… · ${a.taskKey}` : `${a.runId.slice(0, 8)}…`}
                </Link>
              )}
              {a.reason && <span>{a.reason}</span>}
              {a.lastError && (
                <span className="form-error">{t('alerts.history.lastError', { error: a.lastError })}</span>
              )}
            </span>
          </td>
        </tr>
      ))}
      {last && nextCursor && (
        <tr>
          <td colSpan={8}>
            <button type="button" className="btn" onClick={() => onMore(nextCursor)}>
              {t('alerts.history.loadMore')}
            </button>
          </td>
        </tr>
      )}
    </tbody>
  );
}
