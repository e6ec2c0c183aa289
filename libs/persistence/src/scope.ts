/**
 * The tenant a query runs for. Tenant-owned data is only reachable through
 * functions that take one, so a query without a tenant does not compile.
 */
export interface TenantScope {
  readonly tenantId: string;
}

export const DEFAULT_TENANT_NAME = 'default';
