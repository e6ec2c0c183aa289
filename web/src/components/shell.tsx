'use client';

import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { type ReactNode, Suspense, useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '@/api/client';
import { signOut, useSession } from '@/auth/session';
import { LANGUAGES, type Language, setLanguage } from '@/i18n/i18n';
import { usePrefs } from '@/lib/prefs';
import { href } from '@/lib/url';

const NAV = [
  { href: '/', key: 'nav.home' },
  { href: '/jobs/', key: 'nav.jobs' },
  { href: '/agents/', key: 'nav.agents' },
] as const;

/** Which nav entry a path belongs to (a job page is under Jobs, a run page too). */
function section(pathname: string): string {
  if (pathname.startsWith('/job') || pathname.startsWith('/run')) return '/jobs/';
  if (pathname.startsWith('/agents')) return '/agents/';
  return '/';
}

export function Shell({ children }: { children: ReactNode }) {
  const { session } = useSession();
  const pathname = usePathname();
  const onSignIn = pathname.startsWith('/sign-in');
  if (onSignIn) return <main className="signin-main">{children}</main>;
  if (!session)
    return (
      <Suspense>
        <ToSignIn />
      </Suspense>
    );
  return (
    <>
      <SessionCheck />
      <Header />
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

/** Without a session, every page sends the visitor to sign in and back. */
function ToSignIn() {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  useEffect(() => {
    const qs = params.toString();
    router.replace(href.signIn(qs ? `${pathname}?${qs}` : pathname));
  }, [router, pathname, params]);
  return <div className="boot" aria-busy="true" />;
}

/** Re-reads whoami so a role change or a revoked key shows at once (a 401 ends the session). */
function SessionCheck() {
  api.useQuery('get', '/api/v1/whoami', {}, { refetchInterval: 60_000 });
  return null;
}

function Header() {
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const { utc, setUtc } = usePrefs();
  const pathname = usePathname();
  const active = section(pathname);
  return (
    <header className="topbar">
      <a className="skip" href="#main">
        {t('nav.skip')}
      </a>
      <Link href="/" className="brand" aria-label={t('nav.brand')}>
        <span className="brand-mark" aria-hidden="true">
          ◆
        </span>
        Baton
      </Link>
      <nav aria-label={t('nav.label')}>
        <ul className="nav">
          {NAV.map((n) => (
            <li key={n.href}>
              <Link href={n.href} aria-current={active === n.href ? 'page' : undefined}>
                {t(n.key)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="topbar-tools">
        <label className="switch">
          <input type="checkbox" checked={utc} onChange={(e) => setUtc(e.target.checked)} />
          <span>{t('prefs.utc')}</span>
        </label>
        <label className="visually-hidden" htmlFor="lang">
          {t('prefs.language')}
        </label>
        <select id="lang" value={i18n.language} onChange={(e) => void setLanguage(e.target.value as Language)}>
          {LANGUAGES.map((l) => (
            <option key={l} value={l}>
              {t(`prefs.languages.${l}`)}
            </option>
          ))}
        </select>
        {session && (
          <span className="who" title={session.key.name}>
            <span className="who-tenant">{session.tenant.name}</span>
            <span className="role" data-testid="role">
              {t(`roles.${session.key.role}`)}
            </span>
          </span>
        )}
        <button type="button" className="btn btn-quiet" onClick={signOut}>
          {t('nav.signOut')}
        </button>
      </div>
    </header>
  );
}
