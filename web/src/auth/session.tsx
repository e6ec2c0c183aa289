'use client';

import { type ReactNode, createContext, useContext, useMemo, useSyncExternalStore } from 'react';
import { type Role, type WhoAmI, client } from '@/api/client';

/**
 * The sign-in layer, and the only module that knows how the portal proves who
 * it is. Today that is an API key (the bootstrap key `npm start` prints, or one
 * from `baton api-keys`), kept in sessionStorage for this tab and sent as
 * `Authorization: Bearer`. When password and SSO sessions arrive (httpOnly
 * cookie), replace `signInWithApiKey` and the request middleware here; screens
 * only use `useSession()`.
 */
export interface Session {
  method: 'api-key';
  token: string;
  tenant: WhoAmI['tenant'];
  key: WhoAmI['key'];
}

const STORAGE_KEY = 'baton.session';
const listeners = new Set<() => void>();
let current: Session | null | undefined;

function load(): Session | null {
  if (current !== undefined) return current;
  if (typeof window === 'undefined') return null;
  try {
    const raw = window.sessionStorage.getItem(STORAGE_KEY);
    current = raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    current = null;
  }
  return current;
}

function store(next: Session | null) {
  current = next;
  if (next) window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else window.sessionStorage.removeItem(STORAGE_KEY);
  for (const l of listeners) l();
}

client.use({
  onRequest({ request }) {
    const s = load();
    if (s && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${s.token}`);
    return request;
  },
  onResponse({ request, response }) {
    // A revoked or expired key ends the session; the shell then shows the sign-in page.
    if (response.status === 401 && load() && request.headers.get('Authorization') === `Bearer ${load()?.token}`)
      store(null);
    return response;
  },
});

export type SignInError = 'invalid' | 'unreachable';

/** Checks the key against GET /api/v1/whoami and starts a session with it. */
export async function signInWithApiKey(token: string): Promise<Session> {
  const trimmed = token.trim();
  let result;
  try {
    result = await client.GET('/api/v1/whoami', { headers: { Authorization: `Bearer ${trimmed}` } });
  } catch {
    throw new SignInFailed('unreachable');
  }
  if (!result.data) throw new SignInFailed(result.response.status === 401 ? 'invalid' : 'unreachable');
  const session: Session = { method: 'api-key', token: trimmed, tenant: result.data.tenant, key: result.data.key };
  store(session);
  return session;
}

export class SignInFailed extends Error {
  constructor(readonly reason: SignInError) {
    super(reason);
  }
}

export function signOut() {
  store(null);
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

interface SessionContextValue {
  session: Session | null;
  role: Role | null;
}

const SessionContext = createContext<SessionContextValue>({ session: null, role: null });

export function SessionProvider({ children }: { children: ReactNode }) {
  const session = useSyncExternalStore(subscribe, load, () => null);
  const value = useMemo(() => ({ session, role: session?.key.role ?? null }), [session]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  return useContext(SessionContext);
}
