'use client';

import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, createContext, useContext, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { type Role, type SessionView, api, client } from '@/api/client';

/**
 * The sign-in layer, and the only module that knows how the portal proves who
 * it is. People sign in with email and password: the session lives in the
 * httpOnly `baton_session` cookie (the page never sees it), and every call that
 * changes something carries the session's CSRF token in `X-CSRF-Token`. The
 * secondary way is an API key, kept in sessionStorage for this tab and sent as
 * `Authorization: Bearer`. Either way, who is signed in is what
 * `GET /api/v1/auth/session` says; screens only use `useSession()`.
 */
export interface Session extends SessionView {
  method: 'password' | 'api-key';
}

/** `loading` until the browser has asked the API whether its cookie is a live session. */
type State =
  | { status: 'loading' }
  | { status: 'signed-out'; ended: boolean }
  | { status: 'signed-in'; session: Session; apiKey: string | null; actingIn: ActingIn | null };

/** The tenant a platform admin acts inside (`X-Baton-Tenant`), other than the session's own. */
export interface ActingIn {
  id: string;
  name: string;
}

const KEY_STORAGE = 'baton.apiKey';
// Which tenant this tab acts inside (a platform admin's choice, kept for this tab only).
const ACT_IN_STORAGE = 'baton.actIn';
// Not a credential: only that this browser had a session, so a reload after it ended can say so.
const HAD_SESSION = 'baton.hadSession';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const listeners = new Set<() => void>();
let state: State = { status: 'loading' };

function set(next: State) {
  state = next;
  if (next.status === 'signed-in') window.localStorage.setItem(HAD_SESSION, '1');
  if (next.status === 'signed-out') window.localStorage.removeItem(HAD_SESSION);
  for (const l of listeners) l();
}

const storedKey = () => (typeof window === 'undefined' ? null : window.sessionStorage.getItem(KEY_STORAGE));

function storedActingIn(): ActingIn | null {
  try {
    const v = JSON.parse(window.sessionStorage.getItem(ACT_IN_STORAGE) ?? 'null') as ActingIn | null;
    return v && typeof v.id === 'string' && typeof v.name === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Whether the session is a platform admin's, who may act inside any tenant. */
export const isPlatformAdmin = (s: SessionView) => s.role === 'platform_admin' || s.user?.platformAdmin === true;

client.use({
  onRequest({ request }) {
    if (state.status !== 'signed-in' || request.headers.has('Authorization')) return request;
    // A platform admin acting inside a tenant names it on every call but the sign-in layer's own.
    if (state.actingIn && !new URL(request.url, window.location.href).pathname.startsWith('/api/v1/auth/'))
      request.headers.set('X-Baton-Tenant', state.actingIn.id);
    if (state.apiKey) request.headers.set('Authorization', `Bearer ${state.apiKey}`);
    else if (MUTATING.has(request.method) && state.session.csrfToken)
      request.headers.set('X-CSRF-Token', state.session.csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    // An expired or revoked session (or key) ends here; the shell sends the user to sign in and back.
    if (response.status === 401 && state.status === 'signed-in' && !request.url.includes('/api/v1/auth/login')) {
      const sent = request.headers.get('Authorization');
      if (state.apiKey === null ? sent === null : sent === `Bearer ${state.apiKey}`) end(true);
    }
    return response;
  },
});

function end(ended: boolean) {
  window.sessionStorage.removeItem(KEY_STORAGE);
  window.sessionStorage.removeItem(ACT_IN_STORAGE);
  set({ status: 'signed-out', ended });
}

/** Asks the API who this browser is (the cookie, or the key this tab keeps); once, at start. */
async function boot() {
  const key = storedKey();
  try {
    const r = await client.GET('/api/v1/auth/session', key ? { headers: { Authorization: `Bearer ${key}` } } : {});
    if (r.data) {
      const acting = storedActingIn();
      set({
        status: 'signed-in',
        session: { ...r.data, method: key ? 'api-key' : 'password' },
        apiKey: key,
        actingIn: acting && isPlatformAdmin(r.data) && acting.id !== r.data.tenant.id ? acting : null,
      });
      return;
    }
  } catch {
    // unreachable: treated as signed out; the sign-in page says so when the user tries
  }
  if (key) window.sessionStorage.removeItem(KEY_STORAGE);
  set({ status: 'signed-out', ended: window.localStorage.getItem(HAD_SESSION) !== null });
}

export type SignInError = 'invalid' | 'rate-limited' | 'unreachable';

export class SignInFailed extends Error {
  constructor(
    readonly reason: SignInError,
    /** For `rate-limited`: seconds until the next try, from Retry-After. */
    readonly retryAfter: number | null = null,
  ) {
    super(reason);
  }
}

/** Starts a cookie session with email and password (`POST /api/v1/auth/login`). */
export async function signInWithPassword(email: string, password: string): Promise<Session> {
  let result;
  try {
    result = await client.POST('/api/v1/auth/login', { body: { email: email.trim(), password } });
  } catch {
    throw new SignInFailed('unreachable');
  }
  if (!result.data) {
    const { status, headers } = result.response;
    if (status === 429) {
      const wait = Number(headers.get('Retry-After'));
      throw new SignInFailed('rate-limited', Number.isFinite(wait) && wait > 0 ? Math.ceil(wait) : null);
    }
    throw new SignInFailed(status === 401 || status === 400 ? 'invalid' : 'unreachable');
  }
  window.sessionStorage.removeItem(KEY_STORAGE);
  window.sessionStorage.removeItem(ACT_IN_STORAGE);
  const session: Session = { ...result.data, method: 'password' };
  set({ status: 'signed-in', session, apiKey: null, actingIn: null });
  return session;
}

/** Checks an API key against `GET /api/v1/auth/session` and keeps it for this tab. */
export async function signInWithApiKey(token: string): Promise<Session> {
  const key = token.trim();
  let result;
  try {
    result = await client.GET('/api/v1/auth/session', { headers: { Authorization: `Bearer ${key}` } });
  } catch {
    throw new SignInFailed('unreachable');
  }
  if (!result.data) throw new SignInFailed(result.response.status === 401 ? 'invalid' : 'unreachable');
  window.sessionStorage.setItem(KEY_STORAGE, key);
  window.sessionStorage.removeItem(ACT_IN_STORAGE);
  const session: Session = { ...result.data, method: 'api-key' };
  set({ status: 'signed-in', session, apiKey: key, actingIn: null });
  return session;
}

/** The problem+json of a refused call as a thrown Error that problemText reads. */
function refused(error: { detail?: string; title?: string }): Error {
  return Object.assign(new Error(error.detail ?? error.title ?? 'refused'), error);
}

/**
 * Accepts an invitation (`POST /api/v1/invitations/accept`): the account is created, or an existing one (its
 * own password given) joins the tenant; either way the browser is signed in, in the inviting tenant.
 */
export async function acceptInvitation(body: { token: string; name?: string; password: string }): Promise<Session> {
  const { data, error } = await client.POST('/api/v1/invitations/accept', { body });
  if (error !== undefined || !data) throw refused(error ?? {});
  window.sessionStorage.removeItem(KEY_STORAGE);
  const session: Session = { ...data, method: 'password' };
  set({ status: 'signed-in', session, apiKey: null, actingIn: null });
  return session;
}

/** Ends a cookie session on the server too (`POST /api/v1/auth/logout`); an API key is only forgotten. */
export async function signOut(): Promise<void> {
  if (state.status === 'signed-in' && state.apiKey === null)
    await client.POST('/api/v1/auth/logout').catch(() => undefined);
  end(false);
}

/** Moves the session to another of the user's tenants (`POST /api/v1/auth/tenant`). */
export async function switchTenant(tenant: string): Promise<void> {
  const { data, error } = await client.POST('/api/v1/auth/tenant', { body: { tenant } });
  // an Error carrying the problem's fields, which problemText reads
  if (error !== undefined) throw refused(error);
  refresh(data);
}

/**
 * A platform admin acts inside `tenant` (sent as X-Baton-Tenant on every call), or back in the
 * session's own tenant with null; what the screens cached for the previous tenant is dropped.
 */
export function actIn(tenant: ActingIn | null): void {
  if (state.status !== 'signed-in') return;
  const acting = tenant && tenant.id !== state.session.tenant.id && isPlatformAdmin(state.session) ? tenant : null;
  if (acting) window.sessionStorage.setItem(ACT_IN_STORAGE, JSON.stringify(acting));
  else window.sessionStorage.removeItem(ACT_IN_STORAGE);
  set({ ...state, actingIn: acting });
}

function refresh(view: SessionView) {
  if (state.status !== 'signed-in') return;
  // a session that is no longer a platform admin's stops acting inside another tenant
  const actingIn =
    state.actingIn && isPlatformAdmin(view) && state.actingIn.id !== view.tenant.id ? state.actingIn : null;
  if (!actingIn) window.sessionStorage.removeItem(ACT_IN_STORAGE);
  set({ ...state, session: { ...view, method: state.session.method }, actingIn });
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

interface SessionContextValue {
  status: State['status'];
  session: Session | null;
  role: Role | null;
  /** Signed out because the session expired or was revoked (not by signing out). */
  ended: boolean;
  /** The tenant a platform admin acts inside (X-Baton-Tenant), null in the session's own. */
  actingIn: ActingIn | null;
}

const SessionContext = createContext<SessionContextValue>({
  status: 'loading',
  session: null,
  role: null,
  ended: false,
  actingIn: null,
});

const SERVER_STATE: State = { status: 'loading' };

export function SessionProvider({ children }: { children: ReactNode }) {
  const s = useSyncExternalStore(
    subscribe,
    () => state,
    () => SERVER_STATE,
  );
  useEffect(() => {
    if (state.status === 'loading') void boot();
  }, []);
  // Another user or tenant must not see what the previous one's queries cached.
  const queryClient = useQueryClient();
  const who =
    s.status === 'signed-in'
      ? `${s.session.user?.id ?? s.apiKey}@${s.session.tenant.id}>${s.actingIn?.id ?? ''}`
      : null;
  const last = useRef(who);
  useEffect(() => {
    if (last.current !== who) void queryClient.resetQueries();
    last.current = who;
  }, [who, queryClient]);
  const value = useMemo<SessionContextValue>(
    () =>
      s.status === 'signed-in'
        ? { status: s.status, session: s.session, role: s.session.role, ended: false, actingIn: s.actingIn }
        : {
            status: s.status,
            session: null,
            role: null,
            ended: s.status === 'signed-out' && s.ended,
            actingIn: null,
          },
    [s],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  return useContext(SessionContext);
}

/** Re-reads the session every minute, so a changed role or a revoked session shows without a reload. */
export function SessionCheck() {
  const q = api.useQuery('get', '/api/v1/auth/session', {}, { refetchInterval: 60_000 });
  useEffect(() => {
    if (q.data) refresh(q.data);
  }, [q.data]);
  return null;
}
