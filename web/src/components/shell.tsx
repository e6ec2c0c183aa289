'use client';

import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { type ReactNode, Suspense, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { roleMayCall } from '@/auth/roles';
import { SessionCheck, isPlatformAdmin, signOut, switchTenant, useSession } from '@/auth/session';
import { problemText } from '@/components/feedback';
import { ActingBanner, PlatformTenantSwitcher } from '@/components/tenant-switcher';
import { LANGUAGES, type Language, setLanguage } from '@/i18n/i18n';
import { usePrefs } from '@/lib/prefs';
import { href } from '@/lib/url';

const NAV = [
  { href: '/', key: 'nav.home' },
  { href: '/jobs/', key: 'nav.jobs' },
  { href: '/agents/', key: 'nav.agents' },
  { href: '/sla/', key: 'nav.slaReports' },
  { href: '/quotas/', key: 'nav.quotas' },
  { href: '/alerts/', key: 'alerts.nav' },
  { href: '/audit/', key: 'nav.audit' },
  { href: '/admin/', key: 'nav.admin' },
] as const;

/** Which nav entry a path belongs to (a job page is under Jobs, a run page too). */
function section(pathname: string): string {
  if (pathname.startsWith('/job') || pathname.startsWith('/run')) return '/jobs/';
  if (pathname.startsWith('/agents')) return '/agents/';
  if (pathname.startsWith('/sla')) return '/sla/';
  if (pathname.startsWith('/quotas')) return '/quotas/';
  if (pathname.startsWith('/alerts')) return '/alerts/';
  if (pathname.startsWith('/audit')) return '/audit/';
  if (pathname.startsWith('/admin')) return '/admin/';
  return '/';
}

export function Shell({ children }: { children: ReactNode }) {
  const { session, status } = useSession();
  const pathname = usePathname();
  // The ways in need no session: sign in, accept an invitation, reset a password.
  const onSignIn = ['/sign-in', '/invitation', '/reset-password'].some((p) => pathname.startsWith(p));
  if (onSignIn) return <main className="signin-main">{children}</main>;
  if (status === 'loading') return <div className="boot" aria-busy="true" />;
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
      <ActingBanner />
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

/** Without a session, every page sends the visitor to sign in and back (saying so when it ended). */
function ToSignIn() {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const { ended } = useSession();
  useEffect(() => {
    const qs = params.toString();
    router.replace(href.signIn(qs ? `${pathname}?${qs}` : pathname, ended ? 'ended' : undefined));
  }, [router, pathname, params, ended]);
  return <div className="boot" aria-busy="true" />;
}

/** The Admin view is offered to whoever can use one of its tabs; a person always has their sessions. */
function mayAdmin(session: NonNullable<ReturnType<typeof useSession>['session']>): boolean {
  return (
    session.credential === 'session' ||
    roleMayCall(session.role, 'GET /api/v1/users') ||
    roleMayCall(session.role, 'GET /api/v1/api-keys') ||
    roleMayCall(session.role, 'GET /api/v1/agent-tokens')
  );
}

/** Who is signed in, where, and (with several memberships) a switch to another tenant. */
function Who() {
  const { t } = useTranslation();
  const { session } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!session) return null;
  const tenants = session.memberships.map((m) => m.tenant.name);
  // a platform admin picks among every tenant, and acts inside it (X-Baton-Tenant)
  const platform = isPlatformAdmin(session);
  const onSwitch = async (name: string) => {
    setBusy(true);
    setError(null);
    try {
      await switchTenant(name);
    } catch (e) {
      setError(problemText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="who" data-testid="who">
      <span className="who-user" title={session.user?.name}>
        {session.user ? session.user.email : t('nav.apiKeyUser')}
      </span>
      <span className="who-label" aria-hidden={platform || tenants.length > 1 ? true : undefined}>
        {t('nav.tenantLabel')}
      </span>
      {platform ? (
        <PlatformTenantSwitcher />
      ) : tenants.length > 1 ? (
        <>
          <label className="visually-hidden" htmlFor="tenant">
            {t('nav.tenant')}
          </label>
          <select
            id="tenant"
            value={session.tenant.name}
            disabled={busy}
            aria-describedby={error ? 'tenant-error' : undefined}
            onChange={(e) => void onSwitch(e.target.value)}
          >
            {tenants.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          {error && (
            <span id="tenant-error" className="form-error" role="alert">
              {error}
            </span>
          )}
        </>
      ) : (
        <span className="who-tenant" data-testid="tenant">
          {session.tenant.name}
        </span>
      )}
      <span className="role" data-testid="role">
        {t(`roles.${session.role}`)}
      </span>
    </span>
  );
}

function Header() {
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const { utc, setUtc } = usePrefs();
  const nav = NAV.filter((n) => {
    if (n.href === '/admin/') return session !== null && mayAdmin(session);
    // tenant admins, auditors and platform admins read the audit log
    if (n.href === '/audit/') return roleMayCall(session?.role ?? null, 'GET /api/v1/audit');
    return true;
  });
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
          {nav.map((n) => (
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
        <Who />
        <button type="button" className="btn btn-quiet" onClick={() => void signOut()}>
          {t('nav.signOut')}
        </button>
      </div>
    </header>
  );
}
