'use client';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { type ReactNode, useEffect, useState } from 'react';
import { I18nextProvider } from 'react-i18next';
import { SessionProvider } from '@/auth/session';
import { i18next, preferredLanguage, setLanguage } from '@/i18n/i18n';
import { PrefsProvider } from '@/lib/prefs';
import { Shell } from '@/components/shell';

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: { retry: 1, staleTime: 2_000, refetchOnWindowFocus: true },
        },
      }),
  );
  // The export is prerendered without a session or a language; everything
  // user-specific renders after the browser has said which ones apply.
  const [ready, setReady] = useState(false);
  useEffect(() => {
    void setLanguage(preferredLanguage()).then(() => setReady(true));
  }, []);
  return (
    <I18nextProvider i18n={i18next}>
      <QueryClientProvider client={queryClient}>
        <SessionProvider>
          <PrefsProvider>{ready ? <Shell>{children}</Shell> : <div className="boot" aria-busy="true" />}</PrefsProvider>
        </SessionProvider>
      </QueryClientProvider>
    </I18nextProvider>
  );
}
