'use client';

import { useSyncExternalStore } from 'react';

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

/**
 * The token of a one-time link (`/invitation/#token=…`, `/reset-password/#token=…`). It travels in the
 * fragment, which browsers never send to a server (no access log, no Referer holds it). `ready` is false
 * while prerendered (no address yet).
 */
export function useLinkToken(): { ready: boolean; token: string | null } {
  const hash = useSyncExternalStore(
    subscribe,
    () => window.location.hash,
    () => null,
  );
  if (hash === null) return { ready: false, token: null };
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return { ready: true, token: token && token.length <= 200 ? token : null };
}
