'use client';

import { useTranslation } from 'react-i18next';
import { api } from '@/api/client';
import { actIn, isPlatformAdmin, useSession } from '@/auth/session';

/**
 * A platform admin's tenant switcher: every tenant (`GET /api/v1/tenants`),
 * the session's own first. Choosing another one acts inside it: every call
 * then carries `X-Baton-Tenant` (auth/session.tsx) until they come back.
 */
export function PlatformTenantSwitcher() {
  const { t } = useTranslation();
  const { session, actingIn } = useSession();
  const tenants = api.useQuery('get', '/api/v1/tenants', {}, { enabled: session !== null && isPlatformAdmin(session) });
  if (!session) return null;
  const home = session.tenant;
  const others: Array<{ id: string; name: string; state: string }> = (tenants.data?.items ?? []).filter(
    (x) => x.id !== home.id && x.state !== 'deleted',
  );
  // the tenant acted in stays listed while the list loads (or if it was deleted meanwhile)
  if (actingIn && !others.some((x) => x.id === actingIn.id)) others.unshift({ ...actingIn, state: 'active' });
  return (
    <>
      <label className="visually-hidden" htmlFor="tenant">
        {t('tenantSwitcher.label')}
      </label>
      <select
        id="tenant"
        data-testid="tenant-switcher"
        value={actingIn?.id ?? home.id}
        onChange={(e) => {
          const picked = others.find((x) => x.id === e.target.value);
          actIn(picked ? { id: picked.id, name: picked.name } : null);
        }}
      >
        <option value={home.id}>{t('tenantSwitcher.own', { name: home.name })}</option>
        {others.map((x) => (
          <option key={x.id} value={x.id}>
            {x.state === 'suspended' ? t('tenantSwitcher.suspended', { name: x.name }) : x.name}
          </option>
        ))}
      </select>
    </>
  );
}

/** While a platform admin acts inside another tenant: says so on every page, with the way back. */
export function ActingBanner() {
  const { t } = useTranslation();
  const { session, actingIn } = useSession();
  if (!session || !actingIn) return null;
  return (
    <div className="notice acting-banner" role="status" data-testid="acting-banner">
      <span>{t('tenantSwitcher.acting', { tenant: actingIn.name, home: session.tenant.name })}</span>
      <button type="button" className="btn btn-quiet" onClick={() => actIn(null)}>
        {t('tenantSwitcher.back', { home: session.tenant.name })}
      </button>
    </div>
  );
}
