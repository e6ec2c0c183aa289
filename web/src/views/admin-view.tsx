'use client';

import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import {
  type AgentToken,
  type ApiKey,
  type Invitation,
  type Member,
  type Role,
  type SessionList,
  type Tenant,
  type TenantState,
  api,
} from '@/api/client';
import { useCan } from '@/auth/permissions';
import { MEMBER_ROLES, ROLES, ROLE_RANK, grantable } from '@/auth/roles';
import { signOut, useSession } from '@/auth/session';
import { ConfirmDialog } from '@/components/confirm';
import { type Column, DataTable } from '@/components/data-table';
import { Empty, Loaded, useRefusal, useTitle } from '@/components/feedback';
import { ChoiceFilter, Filters, TextFilter } from '@/components/filters';
import { TabPanel, Tabs } from '@/components/tabs';
import { useFormatters } from '@/lib/prefs';
import { useQueryState } from '@/lib/url';

type Tab = 'members' | 'keys' | 'tokens' | 'sessions' | 'tenants';
type Session = SessionList['items'][number];

/** Whether `actor` may act on something held at `role` (the API's rank rule; it still decides). */
const outranks = (actor: Role | null, role: Role) => actor !== null && ROLE_RANK[role] <= ROLE_RANK[actor];

/** A platform admin's membership counts as platform_admin. */
const memberRank = (m: Member): Role => (m.platformAdmin ? 'platform_admin' : m.role);

const matches = (q: string, ...texts: string[]) =>
  !q || texts.some((x) => x.toLowerCase().includes(q.trim().toLowerCase()));

function AdminTab({ tab }: { tab: Tab }) {
  switch (tab) {
    case 'members':
      return <MembersTab />;
    case 'keys':
      return <KeysTab />;
    case 'tokens':
      return <AgentTokensTab />;
    case 'sessions':
      return <SessionsTab />;
    case 'tenants':
      return <TenantsTab />;
    default: {
      const never: never = tab;
      return never;
    }
  }
}

/** Users and memberships, API keys and the user's own sessions, and (platform admins) tenants: each tab offered to who may use it. */
export function AdminView() {
  const { t } = useTranslation();
  useTitle(t('admin.title'));
  const { session } = useSession();
  const [params, setParams] = useQueryState();
  const canMembers = useCan('GET /api/v1/users');
  const canKeys = useCan('GET /api/v1/api-keys');
  const canTokens = useCan('GET /api/v1/agent-tokens');
  const canTenants = useCan('GET /api/v1/tenants');
  const tabs = [
    ...(canMembers ? [{ id: 'members' as const, label: t('admin.tabs.members') }] : []),
    ...(canKeys ? [{ id: 'keys' as const, label: t('admin.tabs.keys') }] : []),
    ...(canTokens ? [{ id: 'tokens' as const, label: t('admin.tabs.tokens') }] : []),
    ...(session?.credential === 'session' ? [{ id: 'sessions' as const, label: t('admin.tabs.sessions') }] : []),
    ...(canTenants ? [{ id: 'tenants' as const, label: t('admin.tabs.tenants') }] : []),
  ];
  const tab = tabs.find((x) => x.id === params.get('tab'))?.id ?? tabs[0]?.id;
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('admin.title')}</h1>
        <p className="muted">{t('admin.intro', { tenant: session?.tenant.name ?? '' })}</p>
      </div>
      {tab === undefined ? (
        <Empty title={t('admin.nothing')} />
      ) : (
        <>
          <Tabs
            tabs={tabs}
            value={tab}
            label={t('admin.title')}
            idPrefix="admin"
            // a new tab starts without the previous tab's filters
            onChange={(id: Tab) => setParams({ tab: id, q: null, role: null, status: null, tenant: null, state: null })}
          />
          <TabPanel idPrefix="admin" value={tab}>
            <AdminTab tab={tab} />
          </TabPanel>
        </>
      )}
    </div>
  );
}

function RoleSelect({
  label,
  value,
  roles,
  onChange,
  disabled,
  hideLabel,
}: {
  label: string;
  value: Role;
  roles: readonly Role[];
  onChange: (r: Role) => void;
  disabled?: boolean;
  hideLabel?: boolean;
}) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <span className={hideLabel ? undefined : 'field'}>
      <label htmlFor={id} className={hideLabel ? 'visually-hidden' : undefined}>
        {label}
      </label>
      <select id={id} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value as Role)}>
        {roles.map((r) => (
          <option key={r} value={r}>
            {t(`roles.${r}`)}
          </option>
        ))}
      </select>
    </span>
  );
}

function RoleBadge({ role }: { role: Role }) {
  const { t } = useTranslation();
  return (
    <span className="chip" data-role={role}>
      {t(`roles.${role}`)}
    </span>
  );
}

/** The outcome of the last change in a tab (or why the API refused it), and the way to report one. */
function useOutcome() {
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const refusal = useRefusal();
  const node = outcome && (
    <p
      className={outcome.ok ? 'notice' : 'notice notice-bad'}
      role={outcome.ok ? 'status' : 'alert'}
      data-testid={outcome.ok ? undefined : 'admin-error'}
    >
      {outcome.text}
    </p>
  );
  return {
    node,
    done: (text: string) => setOutcome({ ok: true, text }),
    failed: (err: unknown) => setOutcome({ ok: false, text: refusal(err) }),
    clear: () => setOutcome(null),
  };
}

/**
 * A dialog that runs one change when confirmed: busy while it runs, the API's
 * refusal inside it, `onDone` after. Mounted only while open, so each opening starts clean.
 */
function ActionDialog({
  title,
  confirmLabel,
  danger,
  run,
  onDone,
  onClose,
  children,
}: {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  run: () => Promise<unknown>;
  onDone: () => void;
  onClose: () => void;
  children: ReactNode;
}) {
  const refusal = useRefusal();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <ConfirmDialog
      open
      title={title}
      confirmLabel={confirmLabel}
      danger={danger}
      busy={busy}
      error={error}
      onClose={onClose}
      onConfirm={() => {
        setBusy(true);
        setError(null);
        run().then(
          () => onDone(),
          (err: unknown) => (setBusy(false), setError(refusal(err))),
        );
      }}
    >
      {children}
    </ConfirmDialog>
  );
}

/** A tab's list: its loading, error and empty states, then the rows the filters keep. */
function FilteredTable<T>({
  query,
  keep,
  empty,
  noneMatch,
  ...table
}: {
  query: Parameters<typeof Loaded<{ items: T[] }>>[0]['query'];
  keep: (row: T) => boolean;
  empty: string;
  noneMatch: string;
} & Omit<Parameters<typeof DataTable<T>>[0], 'rows'>) {
  return (
    <Loaded
      query={query}
      isEmpty={(d) => d.items.length === 0}
      empty={<Empty title={empty} />}
      children={(data) => {
        const rows = data.items.filter(keep);
        return rows.length === 0 ? <Empty title={noneMatch} /> : <DataTable {...table} rows={rows} />;
      }}
    />
  );
}

/** A row's action button; `of` names the row for screen readers ("Revoke ci key"). */
function RowAction({ label, of, onClick }: { label: string; of?: string; onClick: () => void }) {
  return (
    <button type="button" className="btn btn-quiet" onClick={onClick}>
      {label}
      {of && <span className="visually-hidden"> {of}</span>}
    </button>
  );
}

const defaultRole = (roles: readonly Role[]): Role =>
  roles.includes('developer') ? 'developer' : roles[roles.length - 1]!;

function MembersTab() {
  const { t } = useTranslation();
  const f = useFormatters();
  const queryClient = useQueryClient();
  const { session, role } = useSession();
  const [params] = useQueryState();
  const q = params.get('q') ?? '';
  const roleFilter = ROLES.find((r) => r === params.get('role')) ?? null;
  const members = api.useQuery('get', '/api/v1/users');
  const canAdd = useCan('POST /api/v1/users');
  const canChange = useCan('PUT /api/v1/users/{id}/role');
  const canRemove = useCan('DELETE /api/v1/users/{id}');
  const setRole = api.useMutation('put', '/api/v1/users/{id}/role');
  const remove = api.useMutation('delete', '/api/v1/users/{id}');
  const [adding, setAdding] = useState(false);
  const [inviting, setInviting] = useState(false);
  const [invited, setInvited] = useState<{ email: string; link: string } | null>(null);
  const canInvite = useCan('POST /api/v1/invitations');
  const [removing, setRemoving] = useState<Member | null>(null);
  const outcome = useOutcome();
  const offered = grantable(role, MEMBER_ROLES);
  const reload = () => void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/users'] });

  const mayTouch = (m: Member) => m.id !== session?.user?.id && outranks(role, memberRank(m));
  const columns: Array<Column<Member>> = [
    { id: 'name', header: t('admin.members.name'), cell: (m) => m.name, rowHeader: true },
    { id: 'email', header: t('admin.members.email'), cell: (m) => <span className="mono">{m.email}</span> },
    {
      id: 'role',
      header: t('admin.members.role'),
      cell: (m) =>
        canChange && mayTouch(m) ? (
          <RoleSelect
            label={t('admin.members.roleOf', { name: m.name })}
            hideLabel
            value={m.role}
            roles={offered}
            disabled={setRole.isPending}
            onChange={(next) =>
              setRole.mutate(
                { params: { path: { id: m.id } }, body: { role: next as MemberRole } },
                {
                  onSuccess: () => (outcome.done(t('admin.members.changed', { name: m.name })), reload()),
                  onError: outcome.failed,
                },
              )
            }
          />
        ) : (
          <RoleBadge role={memberRank(m)} />
        ),
    },
    { id: 'since', header: t('admin.members.since'), cell: (m) => f.instant(m.memberSince) },
    {
      id: 'actions',
      header: <span className="visually-hidden">{t('admin.actions')}</span>,
      cell: (m) =>
        m.id === session?.user?.id ? (
          <span className="muted small">{t('admin.members.you')}</span>
        ) : (
          canRemove &&
          mayTouch(m) && (
            <RowAction
              label={t('admin.members.remove')}
              of={m.name}
              onClick={() => (outcome.clear(), setRemoving(m))}
            />
          )
        ),
    },
  ];
  return (
    <section aria-label={t('admin.tabs.members')}>
      <div className="section-head">
        <Filters>
          <TextFilter label={t('admin.members.search')} />
          <ChoiceFilter
            name="role"
            label={t('admin.members.role')}
            any={t('admin.anyRole')}
            options={MEMBER_ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))}
          />
        </Filters>
        <div className="actions">
          {canInvite && offered.length > 0 && (
            <button
              type="button"
              className="btn"
              onClick={() => (outcome.clear(), setInvited(null), setInviting(true))}
            >
              {t('admin.invitations.invite')}
            </button>
          )}
          {canAdd && offered.length > 0 && (
            <button type="button" className="btn btn-primary" onClick={() => (outcome.clear(), setAdding(true))}>
              {t('admin.members.add')}
            </button>
          )}
        </div>
      </div>
      {invited && (
        <IssuedSecret
          title={t('admin.invitations.issued', { email: invited.email })}
          label={t('admin.invitations.link')}
          secret={invited.link}
          onDismiss={() => setInvited(null)}
        />
      )}
      {outcome.node}
      <FilteredTable
        query={members}
        keep={(m) => matches(q, m.name, m.email) && (!roleFilter || m.role === roleFilter)}
        empty={t('admin.members.empty')}
        noneMatch={t('admin.members.noneMatch')}
        caption={t('admin.tabs.members')}
        columns={columns}
        rowKey={(m) => m.id}
        rowAttrs={(m) => ({ 'data-member': m.email })}
        testId="members-table"
      />
      {canInvite && <PendingInvitations />}
      {inviting && (
        <InviteMember
          roles={offered}
          onClose={() => setInviting(false)}
          onInvited={(i) => (
            setInviting(false),
            setInvited({ email: i.email, link: i.link }),
            outcome.done(t(`admin.invitations.delivery.${i.delivery}`, { email: i.email })),
            void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/invitations'] })
          )}
        />
      )}
      {adding && (
        <AddMember
          roles={offered}
          onClose={() => setAdding(false)}
          onAdded={(m) => (setAdding(false), outcome.done(t('admin.members.added', { name: m.name })), reload())}
        />
      )}
      {removing && (
        <ActionDialog
          title={t('admin.members.removeTitle', { name: removing.name })}
          confirmLabel={t('admin.members.remove')}
          danger
          run={() => remove.mutateAsync({ params: { path: { id: removing.id } } })}
          onDone={() => (
            setRemoving(null),
            outcome.done(t('admin.members.removed', { name: removing.name })),
            reload()
          )}
          onClose={() => setRemoving(null)}
        >
          <p>{t('admin.members.removeBody', { email: removing.email })}</p>
        </ActionDialog>
      )}
    </section>
  );
}

type MemberRole = Exclude<Role, 'platform_admin'>;

/** An invitation just issued: its one-time link (shown once) and what became of the mail. */
interface Issued {
  email: string;
  link: string;
  delivery: 'mailed' | 'logged' | 'failed' | 'not_sent';
}

function InviteMember({
  roles,
  onClose,
  onInvited,
}: {
  roles: readonly Role[];
  onClose: () => void;
  onInvited: (i: Issued) => void;
}) {
  const { t } = useTranslation();
  const invite = api.useMutation('post', '/api/v1/invitations');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>(defaultRole(roles));
  return (
    <ActionDialog
      title={t('admin.invitations.inviteTitle')}
      confirmLabel={t('admin.invitations.invite')}
      run={() => invite.mutateAsync({ body: { email: email.trim(), role: role as MemberRole } }).then(onInvited)}
      onDone={() => undefined}
      onClose={onClose}
    >
      <label className="field">
        <span>{t('admin.members.email')}</span>
        <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <RoleSelect label={t('admin.members.role')} value={role} roles={roles} onChange={setRole} />
      <p className="muted small">{t('admin.invitations.help')}</p>
    </ActionDialog>
  );
}

/** The tenant's invitations not yet accepted: who, as what, until when; revoke. */
function PendingInvitations() {
  const { t } = useTranslation();
  const f = useFormatters();
  const queryClient = useQueryClient();
  const { role } = useSession();
  const pending = api.useQuery('get', '/api/v1/invitations');
  const revoke = api.useMutation('delete', '/api/v1/invitations/{id}');
  const canRevoke = useCan('DELETE /api/v1/invitations/{id}');
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const outcome = useOutcome();
  const columns: Array<Column<Invitation>> = [
    {
      id: 'email',
      header: t('admin.members.email'),
      cell: (i) => <span className="mono">{i.email}</span>,
      rowHeader: true,
    },
    { id: 'role', header: t('admin.members.role'), cell: (i) => <RoleBadge role={i.role} /> },
    { id: 'by', header: t('admin.invitations.by'), cell: (i) => <span className="small">{i.invitedBy}</span> },
    { id: 'expires', header: t('admin.invitations.expires'), cell: (i) => f.instant(i.expiresAt) },
    {
      id: 'actions',
      header: <span className="visually-hidden">{t('admin.actions')}</span>,
      cell: (i) =>
        canRevoke &&
        outranks(role, i.role) && (
          <RowAction
            label={t('admin.invitations.revoke')}
            of={i.email}
            onClick={() => (outcome.clear(), setRevoking(i))}
          />
        ),
    },
  ];
  return (
    <section aria-label={t('admin.invitations.title')} className="subsection">
      <h3>{t('admin.invitations.title')}</h3>
      {outcome.node}
      <FilteredTable
        query={pending}
        keep={() => true}
        empty={t('admin.invitations.empty')}
        noneMatch={t('admin.invitations.empty')}
        caption={t('admin.invitations.title')}
        columns={columns}
        rowKey={(i) => i.id}
        rowAttrs={(i) => ({ 'data-invitation': i.email })}
        testId="invitations-table"
      />
      {revoking && (
        <ActionDialog
          title={t('admin.invitations.revokeTitle', { email: revoking.email })}
          confirmLabel={t('admin.invitations.revoke')}
          danger
          run={() => revoke.mutateAsync({ params: { path: { id: revoking.id } } })}
          onDone={() => (
            setRevoking(null),
            outcome.done(t('admin.invitations.revoked', { email: revoking.email })),
            void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/invitations'] })
          )}
          onClose={() => setRevoking(null)}
        >
          <p>{t('admin.invitations.revokeBody')}</p>
        </ActionDialog>
      )}
    </section>
  );
}

/** The signed-in user's password: the current one and a new one; the user's other sessions end. */
function ChangePassword({ onClose, onChanged }: { onClose: () => void; onChanged: (ended: number) => void }) {
  const { t } = useTranslation();
  const change = api.useMutation('post', '/api/v1/auth/password');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  return (
    <ActionDialog
      title={t('admin.password.title')}
      confirmLabel={t('admin.password.change')}
      run={() =>
        next !== again
          ? Promise.reject(new Error(t('links.reset.differ')))
          : change.mutateAsync({ body: { current, new: next } }).then((r) => onChanged(r.sessionsEnded))
      }
      onDone={() => undefined}
      onClose={onClose}
    >
      <label className="field">
        <span>{t('admin.password.current')}</span>
        <input
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
      </label>
      <label className="field">
        <span>{t('admin.password.new')}</span>
        <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
      </label>
      <label className="field">
        <span>{t('links.reset.again')}</span>
        <input type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} />
      </label>
      <p className="muted small">{t('admin.password.help')}</p>
    </ActionDialog>
  );
}

function AddMember({
  roles,
  onClose,
  onAdded,
}: {
  roles: readonly Role[];
  onClose: () => void;
  onAdded: (m: Member) => void;
}) {
  const { t } = useTranslation();
  const add = api.useMutation('post', '/api/v1/users');
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>(defaultRole(roles));
  return (
    <ActionDialog
      title={t('admin.members.addTitle')}
      confirmLabel={t('admin.members.add')}
      run={() =>
        add
          .mutateAsync({
            body: {
              email: email.trim(),
              name: name.trim(),
              role: role as MemberRole,
              ...(password ? { password } : {}),
            },
          })
          .then(onAdded)
      }
      onDone={() => undefined}
      onClose={onClose}
    >
      <label className="field">
        <span>{t('admin.members.email')}</span>
        <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label className="field">
        <span>{t('admin.members.name')}</span>
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="field">
        <span>{t('admin.members.password')}</span>
        <input
          type="password"
          autoComplete="new-password"
          value={password}
          aria-describedby="add-member-password-help"
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <p id="add-member-password-help" className="muted small">
        {t('admin.members.passwordHelp')}
      </p>
      <RoleSelect label={t('admin.members.role')} value={role} roles={roles} onChange={setRole} />
    </ActionDialog>
  );
}

/** What the API shows of a credential (an API key or an agent token): never the secret. */
interface Credential {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  role?: Role;
  /** API keys: when it stops working (null: never) and its last use. */
  expiresAt?: string | null;
  lastUsedAt?: string | null;
}

/** The expiries the create form offers, sent as `expiresIn`. */
const EXPIRIES = ['never', '30d', '90d', '1y'] as const;
type Expiry = (typeof EXPIRIES)[number];
const expiresIn = (e: Expiry) => (e === 'never' ? {} : { expiresIn: e === '1y' ? '365d' : e });

/**
 * API keys and agent tokens: the same list (filter by name and status), the
 * same "create, shown once" and the same confirmed revoke; keys also carry a role.
 */
function CredentialsTab<T extends Credential>({
  ns,
  query,
  listPath,
  canCreate,
  canRevoke,
  roles,
  expiring,
  create,
  revoke,
  testId,
}: {
  ns: 'keys' | 'tokens';
  query: Parameters<typeof Loaded<{ items: T[] }>>[0]['query'];
  listPath: string;
  canCreate: boolean;
  canRevoke: boolean;
  /** The roles a new one may get; null for credentials without a role. */
  roles: readonly Role[] | null;
  /** Whether they expire and record their last use (API keys): shown, and an expiry offered when created. */
  expiring?: boolean;
  create: (name: string, role: Role | null, expiry: Expiry) => Promise<T & { token: string }>;
  revoke: (row: T) => Promise<unknown>;
  testId: string;
}) {
  const { t } = useTranslation();
  const f = useFormatters();
  const queryClient = useQueryClient();
  const { role } = useSession();
  const [params] = useQueryState();
  const q = params.get('q') ?? '';
  const status = params.get('status');
  const [creating, setCreating] = useState(false);
  const [issued, setIssued] = useState<(T & { token: string }) | null>(null);
  const [revoking, setRevoking] = useState<T | null>(null);
  const outcome = useOutcome();
  const reload = () => void queryClient.invalidateQueries({ queryKey: ['get', listPath] });

  const columns: Array<Column<T>> = [
    { id: 'name', header: t(`admin.${ns}.name`), cell: (k) => k.name, rowHeader: true },
    {
      id: 'prefix',
      header: t(`admin.${ns}.prefix`),
      cell: (k) => <code>{k.prefix.endsWith('…') ? k.prefix : `${k.prefix}…`}</code>,
    },
    ...(roles
      ? [{ id: 'role', header: t('admin.keys.role'), cell: (k: T) => k.role && <RoleBadge role={k.role} /> }]
      : []),
    { id: 'created', header: t('admin.keys.created'), cell: (k) => f.instant(k.createdAt) },
    ...(expiring
      ? [
          {
            id: 'expires',
            header: t('admin.keys.expires'),
            cell: (k: T) => (k.expiresAt ? f.instant(k.expiresAt) : t('admin.keys.never')),
          },
          {
            id: 'used',
            header: t('admin.keys.lastUsed'),
            cell: (k: T) =>
              k.lastUsedAt ? (
                <span title={f.instant(k.lastUsedAt)}>{f.relative(k.lastUsedAt)}</span>
              ) : (
                <span className="muted">{t('admin.keys.neverUsed')}</span>
              ),
          },
        ]
      : []),
    {
      id: 'status',
      header: t('admin.keys.status'),
      cell: (k) =>
        !k.revokedAt && k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? (
          <span className="badge tone-warn" data-status="expired">
            {t('admin.keys.expired')}
          </span>
        ) : k.revokedAt ? (
          <span className="badge tone-muted" data-status="revoked">
            {t('admin.keys.revokedAt', { at: f.instant(k.revokedAt) })}
          </span>
        ) : (
          <span className="badge tone-ok" data-status="active">
            {t('admin.keys.active')}
          </span>
        ),
    },
    {
      id: 'actions',
      header: <span className="visually-hidden">{t('admin.actions')}</span>,
      cell: (k) =>
        canRevoke &&
        !k.revokedAt &&
        (!k.role || outranks(role, k.role)) && (
          <RowAction label={t('admin.keys.revoke')} of={k.name} onClick={() => (outcome.clear(), setRevoking(k))} />
        ),
    },
  ];
  return (
    <section aria-label={t(`admin.tabs.${ns}`)}>
      <div className="section-head">
        <Filters>
          <TextFilter label={t(`admin.${ns}.search`)} />
          <ChoiceFilter
            name="status"
            label={t('admin.keys.status')}
            any={t('admin.keys.anyStatus')}
            options={[
              { value: 'active', label: t('admin.keys.active') },
              { value: 'revoked', label: t('admin.keys.revoked') },
            ]}
          />
        </Filters>
        {canCreate && (roles === null || roles.length > 0) && (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => (outcome.clear(), setIssued(null), setCreating(true))}
          >
            {t(`admin.${ns}.create`)}
          </button>
        )}
      </div>
      {issued && (
        <IssuedSecret
          title={t(`admin.${ns}.issued`, { name: issued.name })}
          label={t(`admin.${ns}.token`)}
          secret={issued.token}
          onDismiss={() => setIssued(null)}
        />
      )}
      {outcome.node}
      <FilteredTable
        query={query}
        keep={(k) =>
          matches(q, k.name, k.prefix) &&
          (status === 'active' ? !k.revokedAt : status === 'revoked' ? Boolean(k.revokedAt) : true)
        }
        empty={t(`admin.${ns}.empty`)}
        noneMatch={t(`admin.${ns}.noneMatch`)}
        caption={t(`admin.tabs.${ns}`)}
        columns={columns}
        rowKey={(k) => k.id}
        rowAttrs={(k) => ({ 'data-credential': k.name })}
        testId={testId}
      />
      {creating && (
        <CreateCredential
          title={t(`admin.${ns}.createTitle`)}
          confirmLabel={t(`admin.${ns}.create`)}
          nameLabel={t(`admin.${ns}.name`)}
          roles={roles}
          expiring={expiring}
          create={create}
          onClose={() => setCreating(false)}
          onCreated={(k) => (setCreating(false), setIssued(k), reload())}
        />
      )}
      {revoking && (
        <ActionDialog
          title={t(`admin.${ns}.revokeTitle`, { name: revoking.name })}
          confirmLabel={t('admin.keys.revoke')}
          danger
          run={() => revoke(revoking)}
          onDone={() => (
            setRevoking(null),
            outcome.done(t(`admin.${ns}.revokedDone`, { name: revoking.name })),
            reload()
          )}
          onClose={() => setRevoking(null)}
        >
          <p>{t(`admin.${ns}.revokeBody`)}</p>
        </ActionDialog>
      )}
    </section>
  );
}

function KeysTab() {
  const { role } = useSession();
  const keys = api.useQuery('get', '/api/v1/api-keys');
  const create = api.useMutation('post', '/api/v1/api-keys');
  const revoke = api.useMutation('delete', '/api/v1/api-keys/{id}');
  return (
    <CredentialsTab<ApiKey>
      ns="keys"
      query={keys}
      listPath="/api/v1/api-keys"
      canCreate={useCan('POST /api/v1/api-keys')}
      canRevoke={useCan('DELETE /api/v1/api-keys/{id}')}
      // platform_admin keys are issued only at bootstrap
      roles={grantable(role, MEMBER_ROLES)}
      expiring
      create={(name, r, expiry) =>
        create.mutateAsync({ body: { name, ...(r ? { role: r } : {}), ...expiresIn(expiry) } })
      }
      revoke={(k) => revoke.mutateAsync({ params: { path: { id: k.id } } })}
      testId="keys-table"
    />
  );
}

function AgentTokensTab() {
  const tokens = api.useQuery('get', '/api/v1/agent-tokens');
  const create = api.useMutation('post', '/api/v1/agent-tokens');
  const revoke = api.useMutation('delete', '/api/v1/agent-tokens/{id}');
  return (
    <CredentialsTab<AgentToken>
      ns="tokens"
      query={tokens}
      listPath="/api/v1/agent-tokens"
      canCreate={useCan('POST /api/v1/agent-tokens')}
      canRevoke={useCan('DELETE /api/v1/agent-tokens/{id}')}
      roles={null}
      create={(name) => create.mutateAsync({ body: { name } })}
      revoke={(k) => revoke.mutateAsync({ params: { path: { id: k.id } } })}
      testId="tokens-table"
    />
  );
}

function CreateCredential<T>({
  title,
  confirmLabel,
  nameLabel,
  roles,
  expiring,
  create,
  onClose,
  onCreated,
}: {
  title: string;
  confirmLabel: string;
  nameLabel: string;
  roles: readonly Role[] | null;
  expiring?: boolean;
  create: (name: string, role: Role | null, expiry: Expiry) => Promise<T>;
  onClose: () => void;
  onCreated: (k: T) => void;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role | null>(roles && defaultRole(roles));
  const [expiry, setExpiry] = useState<Expiry>('never');
  const expiryId = useId();
  return (
    <ActionDialog
      title={title}
      confirmLabel={confirmLabel}
      run={() => create(name.trim(), role, expiry).then(onCreated)}
      onDone={() => undefined}
      onClose={onClose}
    >
      <label className="field">
        <span>{nameLabel}</span>
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      {roles && role && <RoleSelect label={t('admin.keys.role')} value={role} roles={roles} onChange={setRole} />}
      {expiring && (
        <span className="field">
          <label htmlFor={expiryId}>{t('admin.keys.expiry')}</label>
          <select id={expiryId} value={expiry} onChange={(e) => setExpiry(e.target.value as Expiry)}>
            {EXPIRIES.map((x) => (
              <option key={x} value={x}>
                {t(`admin.keys.expiryOptions.${x}`)}
              </option>
            ))}
          </select>
        </span>
      )}
    </ActionDialog>
  );
}

/** A new secret, shown this once, with a copy button. */
function IssuedSecret({
  title,
  label,
  secret,
  onDismiss,
}: {
  title: string;
  label: string;
  secret: string;
  onDismiss: () => void;
}) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState<boolean | null>(null);
  return (
    <div className="notice issued-key" role="status" data-testid="issued-secret">
      <p>
        <strong>{title}</strong> {t('admin.keys.issuedOnce')}
      </p>
      <div className="issued-key-row">
        <label className="visually-hidden" htmlFor="issued-secret">
          {label}
        </label>
        <input id="issued-secret" className="mono" readOnly value={secret} onFocus={(e) => e.target.select()} />
        <button
          type="button"
          className="btn"
          onClick={() =>
            void navigator.clipboard.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {t('admin.keys.copy')}
        </button>
        <button type="button" className="btn btn-quiet" onClick={onDismiss}>
          {t('admin.keys.dismiss')}
        </button>
      </div>
      <p className="small muted" aria-live="polite">
        {copied === true ? t('admin.keys.copied') : copied === false ? t('admin.keys.copyFailed') : null}
      </p>
    </div>
  );
}

function SessionsTab() {
  const { t } = useTranslation();
  const f = useFormatters();
  const queryClient = useQueryClient();
  const { session } = useSession();
  const [params] = useQueryState();
  const tenantFilter = params.get('tenant');
  const sessions = api.useQuery('get', '/api/v1/auth/sessions');
  const revoke = api.useMutation('delete', '/api/v1/auth/sessions/{id}');
  const [revoking, setRevoking] = useState<Session | null>(null);
  const [changing, setChanging] = useState(false);
  const outcome = useOutcome();
  const tenants = new Map(session?.memberships.map((m) => [m.tenant.id, m.tenant.name]) ?? []);

  const columns: Array<Column<Session>> = [
    {
      id: 'created',
      header: t('admin.sessions.created'),
      rowHeader: true,
      cell: (s) => (
        <>
          {f.instant(s.createdAt)}{' '}
          {s.current && <span className="badge tone-active">{t('admin.sessions.current')}</span>}
        </>
      ),
    },
    { id: 'tenant', header: t('admin.sessions.tenant'), cell: (s) => tenants.get(s.tenantId) ?? s.tenantId },
    { id: 'seen', header: t('admin.sessions.lastSeen'), cell: (s) => f.relative(s.lastSeenAt) },
    { id: 'expires', header: t('admin.sessions.expires'), cell: (s) => f.instant(s.expiresAt) },
    { id: 'ip', header: t('admin.sessions.address'), cell: (s) => <span className="mono">{s.ip ?? '—'}</span> },
    {
      id: 'agent',
      header: t('admin.sessions.userAgent'),
      className: 'wrap small',
      cell: (s) => s.userAgent ?? t('common.unknown'),
    },
    {
      id: 'actions',
      header: <span className="visually-hidden">{t('admin.actions')}</span>,
      cell: (s) => (
        <RowAction
          label={s.current ? t('admin.sessions.revokeCurrent') : t('admin.sessions.revoke')}
          onClick={() => (outcome.clear(), setRevoking(s))}
        />
      ),
    },
  ];
  return (
    <section aria-label={t('admin.tabs.sessions')}>
      <div className="section-head">
        {tenants.size > 1 ? (
          <Filters>
            <ChoiceFilter
              name="tenant"
              label={t('admin.sessions.tenant')}
              any={t('admin.sessions.anyTenant')}
              options={[...tenants].map(([id, name]) => ({ value: id, label: name }))}
            />
          </Filters>
        ) : (
          <span />
        )}
        <button type="button" className="btn" onClick={() => (outcome.clear(), setChanging(true))}>
          {t('admin.password.change')}
        </button>
      </div>
      {changing && (
        <ChangePassword
          onClose={() => setChanging(false)}
          onChanged={(ended) => (
            setChanging(false),
            outcome.done(t('admin.password.changed', { count: ended })),
            void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/auth/sessions'] })
          )}
        />
      )}
      {outcome.node}
      <FilteredTable
        query={sessions}
        keep={(s) => !tenantFilter || s.tenantId === tenantFilter}
        empty={t('admin.sessions.empty')}
        noneMatch={t('admin.sessions.noneMatch')}
        caption={t('admin.tabs.sessions')}
        columns={columns}
        rowKey={(s) => s.id}
        rowAttrs={(s) => ({ 'data-session': s.id, 'data-current': s.current ? 'true' : undefined })}
        testId="sessions-table"
      />
      {revoking && (
        <ActionDialog
          title={revoking.current ? t('admin.sessions.revokeCurrentTitle') : t('admin.sessions.revokeTitle')}
          confirmLabel={t('admin.sessions.revoke')}
          danger
          run={() => revoke.mutateAsync({ params: { path: { id: revoking.id } } })}
          onDone={() => {
            setRevoking(null);
            if (revoking.current) void signOut();
            else {
              outcome.done(t('admin.sessions.revokedDone'));
              void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/auth/sessions'] });
            }
          }}
          onClose={() => setRevoking(null)}
        >
          <p>{revoking.current ? t('admin.sessions.revokeCurrentBody') : t('admin.sessions.revokeBody')}</p>
        </ActionDialog>
      )}
    </section>
  );
}

const TENANT_STATES = ['active', 'suspended', 'deleted'] as const satisfies readonly TenantState[];
const STATE_TONE: Record<TenantState, string> = { active: 'tone-ok', suspended: 'tone-warn', deleted: 'tone-muted' };
type TenantMove = 'suspend' | 'resume' | 'delete' | 'purge';
/** The tenant `npm start` creates, where platform admins live (DEFAULT_TENANT_NAME in libs/persistence). */
const PLATFORM_TENANT = 'default';

/**
 * Platform admins: every tenant with its state, why and since when; create one
 * (its first admin key shown once), suspend (with a reason), resume, delete
 * (softly, a reason optional) and purge a deleted one (confirmed by its name).
 */
function TenantsTab() {
  const { t } = useTranslation();
  const f = useFormatters();
  const queryClient = useQueryClient();
  const { session } = useSession();
  const [params] = useQueryState();
  const q = params.get('q') ?? '';
  const state = TENANT_STATES.find((s) => s === params.get('state'));
  const tenants = api.useQuery('get', '/api/v1/tenants', { params: { query: state ? { state } : {} } });
  const [creating, setCreating] = useState(false);
  const [issued, setIssued] = useState<{ name: string; token: string } | null>(null);
  const [moving, setMoving] = useState<{ tenant: Tenant; move: TenantMove } | null>(null);
  const outcome = useOutcome();
  const reload = () => void queryClient.invalidateQueries({ queryKey: ['get', '/api/v1/tenants'] });
  const open = (tenant: Tenant, move: TenantMove) => (outcome.clear(), setMoving({ tenant, move }));

  const columns: Array<Column<Tenant>> = [
    {
      id: 'name',
      header: t('admin.tenants.name'),
      rowHeader: true,
      cell: (x) => (
        <>
          {x.name}{' '}
          {x.id === session?.tenant.id && <span className="badge tone-active">{t('admin.tenants.current')}</span>}
        </>
      ),
    },
    {
      id: 'state',
      header: t('admin.tenants.state'),
      cell: (x) => (
        <span className={`badge ${STATE_TONE[x.state]}`} data-state={x.state}>
          {t(`admin.tenants.states.${x.state}`)}
        </span>
      ),
    },
    { id: 'reason', header: t('admin.tenants.reason'), className: 'wrap small', cell: (x) => x.stateReason ?? '' },
    { id: 'since', header: t('admin.tenants.since'), cell: (x) => f.instant(x.stateChangedAt ?? x.createdAt) },
    {
      id: 'actions',
      header: <span className="visually-hidden">{t('admin.actions')}</span>,
      // the platform's own tenant is never suspended or deleted (the API refuses it)
      cell: (x) =>
        x.name !== PLATFORM_TENANT && (
          <span className="actions">
            {x.state === 'active' && (
              <RowAction label={t('admin.tenants.suspend')} of={x.name} onClick={() => open(x, 'suspend')} />
            )}
            {x.state === 'suspended' && (
              <RowAction label={t('admin.tenants.resume')} of={x.name} onClick={() => open(x, 'resume')} />
            )}
            {x.state !== 'deleted' && (
              <RowAction label={t('admin.tenants.delete')} of={x.name} onClick={() => open(x, 'delete')} />
            )}
            {x.state === 'deleted' && (
              <RowAction label={t('admin.tenants.purge')} of={x.name} onClick={() => open(x, 'purge')} />
            )}
          </span>
        ),
    },
  ];
  return (
    <section aria-label={t('admin.tabs.tenants')}>
      <div className="section-head">
        <Filters>
          <TextFilter label={t('admin.tenants.search')} />
          <ChoiceFilter
            name="state"
            label={t('admin.tenants.state')}
            any={t('admin.tenants.anyState')}
            options={TENANT_STATES.map((s) => ({ value: s, label: t(`admin.tenants.states.${s}`) }))}
          />
        </Filters>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => (outcome.clear(), setIssued(null), setCreating(true))}
        >
          {t('admin.tenants.create')}
        </button>
      </div>
      {issued && (
        <IssuedSecret
          title={t('admin.tenants.issued', { name: issued.name })}
          label={t('admin.tenants.token')}
          secret={issued.token}
          onDismiss={() => setIssued(null)}
        />
      )}
      {outcome.node}
      <FilteredTable
        query={tenants}
        keep={(x) => matches(q, x.name, x.id)}
        empty={t('admin.tenants.empty')}
        noneMatch={t('admin.tenants.noneMatch')}
        caption={t('admin.tabs.tenants')}
        columns={columns}
        rowKey={(x) => x.id}
        rowAttrs={(x) => ({ 'data-tenant': x.name, 'data-state': x.state })}
        testId="tenants-table"
      />
      {creating && (
        <CreateTenant
          onClose={() => setCreating(false)}
          onCreated={(x) => (setCreating(false), setIssued({ name: x.name, token: x.adminToken }), reload())}
        />
      )}
      {moving && (
        <MoveTenant
          tenant={moving.tenant}
          move={moving.move}
          onClose={() => setMoving(null)}
          onDone={(text) => (setMoving(null), outcome.done(text), reload())}
        />
      )}
    </section>
  );
}

function CreateTenant({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (t: Tenant & { adminToken: string }) => void;
}) {
  const { t } = useTranslation();
  const create = api.useMutation('post', '/api/v1/tenants');
  const [name, setName] = useState('');
  return (
    <ActionDialog
      title={t('admin.tenants.createTitle')}
      confirmLabel={t('admin.tenants.create')}
      run={() => create.mutateAsync({ body: { name: name.trim() } }).then(onCreated)}
      onDone={() => undefined}
      onClose={onClose}
    >
      <label className="field">
        <span>{t('admin.tenants.createName')}</span>
        <input
          required
          value={name}
          pattern="[a-z0-9][a-z0-9_\-]{0,99}"
          aria-describedby="create-tenant-help"
          onChange={(e) => setName(e.target.value)}
        />
      </label>
      <p id="create-tenant-help" className="muted small">
        {t('admin.tenants.createNameHelp')}
      </p>
    </ActionDialog>
  );
}

/** One confirmed lifecycle step of a tenant: suspend asks why, delete may say why, purge wants the name typed. */
function MoveTenant({
  tenant,
  move,
  onClose,
  onDone,
}: {
  tenant: Tenant;
  move: TenantMove;
  onClose: () => void;
  onDone: (text: string) => void;
}) {
  const { t } = useTranslation();
  const suspend = api.useMutation('post', '/api/v1/tenants/{tenant}/suspend');
  const resume = api.useMutation('post', '/api/v1/tenants/{tenant}/resume');
  const remove = api.useMutation('delete', '/api/v1/tenants/{tenant}');
  const purge = api.useMutation('post', '/api/v1/tenants/{tenant}/purge');
  const [text, setText] = useState('');
  const path = { path: { tenant: tenant.id } };
  const name = tenant.name;
  const run = async (): Promise<string> => {
    switch (move) {
      case 'suspend':
        await suspend.mutateAsync({ params: path, body: { reason: text.trim() } });
        return t('admin.tenants.suspended', { name });
      case 'resume':
        await resume.mutateAsync({ params: path });
        return t('admin.tenants.resumed', { name });
      case 'delete':
        await remove.mutateAsync({ params: path, body: text.trim() ? { reason: text.trim() } : {} });
        return t('admin.tenants.deleted', { name });
      case 'purge': {
        if (text !== name) throw new Error(t('admin.tenants.purgeConfirm', { name }));
        const r = await purge.mutateAsync({ params: path });
        const rows = Object.values(r.deleted).reduce((a, b) => a + b, 0);
        return t('admin.tenants.purged', { name, rows });
      }
      default: {
        const never: never = move;
        return never;
      }
    }
  };
  return (
    <ActionDialog
      title={t(`admin.tenants.${move}Title`, { name })}
      confirmLabel={t(`admin.tenants.${move}`)}
      danger={move !== 'resume'}
      run={() => run().then(onDone)}
      onDone={() => undefined}
      onClose={onClose}
    >
      <p>{t(`admin.tenants.${move}Body`)}</p>
      {move === 'suspend' && (
        <label className="field">
          <span>{t('admin.tenants.suspendReason')}</span>
          <input required maxLength={300} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
      )}
      {move === 'delete' && (
        <label className="field">
          <span>{t('admin.tenants.deleteReason')}</span>
          <input maxLength={300} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
      )}
      {move === 'purge' && (
        <label className="field">
          <span>{t('admin.tenants.purgeConfirm', { name })}</span>
          <input
            required
            autoComplete="off"
            spellCheck={false}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
      )}
    </ActionDialog>
  );
}
