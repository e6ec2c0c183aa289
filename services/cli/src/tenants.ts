import type { ApiClient } from './client.js';

type Out = (line: string) => void;

interface TenantView {
  id: string;
  name: string;
  state: string;
  stateReason: string | null;
  stateChangedAt: string | null;
  createdAt: string;
}

const pad = (s: string, n: number) => s.padEnd(n);
const path = (tenant: string) => `/api/v1/tenants/${encodeURIComponent(tenant)}`;

export async function listTenants(api: ApiClient, state: string | undefined, out: Out): Promise<void> {
  const q = state ? `?state=${encodeURIComponent(state)}` : '';
  const page = await api.request<{ items: TenantView[] }>('GET', `/api/v1/tenants${q}`);
  out(`${pad('TENANT', 24)} ${pad('STATE', 10)} ${pad('SINCE', 25)} REASON`);
  for (const t of page.items) {
    out(`${pad(t.name, 24)} ${pad(t.state, 10)} ${pad(t.stateChangedAt ?? t.createdAt, 25)} ${t.stateReason ?? ''}`);
  }
}

export async function moveTenant(
  api: ApiClient,
  tenant: string,
  move: 'suspend' | 'resume' | 'delete',
  reason: string | undefined,
  out: Out,
): Promise<void> {
  const body = reason !== undefined ? { reason } : {};
  const t =
    move === 'delete'
      ? await api.request<TenantView>('DELETE', path(tenant), body)
      : await api.request<TenantView>('POST', `${path(tenant)}/${move}`, body);
  out(`tenant ${t.name} is ${t.state}${t.stateReason ? `: ${t.stateReason}` : ''}`);
}

export async function purgeTenant(api: ApiClient, tenant: string, out: Out): Promise<void> {
  const r = await api.request<{ tenant: string; deleted: Record<string, number> }>('POST', `${path(tenant)}/purge`, {});
  const rows = Object.values(r.deleted).reduce((n, v) => n + v, 0);
  out(`tenant ${r.tenant} purged: ${rows} rows in ${Object.keys(r.deleted).length} tables`);
}
