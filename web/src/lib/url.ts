'use client';

import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback } from 'react';

/**
 * Filters and selections live in the query string, so every view is
 * addressable: a reload, a shared link or the back button shows the same thing.
 */
export function useQueryState(): [URLSearchParams, (changes: Record<string, string | null>) => void] {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const update = useCallback(
    (changes: Record<string, string | null>) => {
      const next = new URLSearchParams(params.toString());
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === '') next.delete(k);
        else next.set(k, v);
      }
      const qs = next.toString();
      router.replace(qs ? `${pathname}?${qs}` : pathname, { scroll: false });
    },
    [params, router, pathname],
  );
  return [params, update];
}

export const href = {
  home: () => '/',
  jobs: () => '/jobs/',
  newJob: () => '/jobs/new/',
  job: (name: string, tab?: string) => `/job/?name=${encodeURIComponent(name)}${tab ? `&tab=${tab}` : ''}`,
  run: (id: string, task?: string, attempt?: number) =>
    `/run/?id=${encodeURIComponent(id)}${task ? `&task=${encodeURIComponent(task)}` : ''}${
      task && attempt ? `&attempt=${attempt}` : ''
    }`,
  agents: () => '/agents/',
  slaReports: (q: { from?: string; to?: string; job?: string } = {}) => {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v) as Array<[string, string]>).toString();
    return qs ? `/sla/?${qs}` : '/sla/';
  },
  admin: (tab?: string) => (tab ? `/admin/?tab=${tab}` : '/admin/'),
  signIn: (next?: string, reason?: 'ended') => {
    const qs = new URLSearchParams();
    if (next && next !== '/') qs.set('next', next);
    if (reason) qs.set('reason', reason);
    const s = qs.toString();
    return s ? `/sign-in/?${s}` : '/sign-in/';
  },
};
