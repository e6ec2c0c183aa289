import { In, type EntityManager } from 'typeorm';
import { MembershipEntity, TenantEntity, type UserEntity } from '@baton/persistence';
import { type Role, isRole } from '@baton/auth';
import { z } from 'zod';

export interface UserView {
  id: string;
  email: string;
  name: string;
  platformAdmin: boolean;
  createdAt: string;
}

export interface MembershipView {
  tenant: { id: string; name: string };
  role: Role;
}

export const userView = (u: UserEntity): UserView => ({
  id: u.id,
  email: u.email,
  name: u.name,
  platformAdmin: u.platformAdmin,
  createdAt: new Date(u.createdAt).toISOString(),
});

/** Loose on purpose: `admin@localhost` is an address, and only the mailbox's owner can say more. */
export const EmailAddress = z
  .string()
  .trim()
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');

/** Emails are one account whatever their case. */
export const emailKey = (email: string) => email.trim().toLowerCase();

/** A user's memberships with their tenants' names, oldest first (the first is where a login lands by default). */
export async function membershipsOf(m: EntityManager, userId: string): Promise<MembershipView[]> {
  // across tenants: a user's memberships are what lets them into tenants
  const rows = await m.find(MembershipEntity, { where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
  if (rows.length === 0) return [];
  const tenants = await m.find(TenantEntity, { where: { id: In(rows.map((r) => r.tenantId)) } });
  const names = new Map(tenants.map((t) => [t.id, t.name]));
  const out: MembershipView[] = [];
  for (const r of rows) {
    if (isRole(r.role))
      out.push({ tenant: { id: r.tenantId, name: names.get(r.tenantId) ?? r.tenantId }, role: r.role });
  }
  return out;
}
