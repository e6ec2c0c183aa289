import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../columns.js';

const ms = (nullable = false) => ({ type: 'bigint' as const, transformer: epochMs, nullable });

/** A person who logs in. Platform-wide: memberships give the tenants and a role in each. */
@Entity('users')
export class UserEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  /** As the user typed it. */
  @Column('varchar', { length: 254 }) email!: string;
  /** The lower-cased email, unique: emails are equal whatever their case (the MySQL collation is binary). */
  @Column('varchar', { length: 254 }) emailKey!: string;
  @Column('varchar', { length: 200 }) name!: string;
  /** An argon2id PHC string; null: the user cannot log in with a password. */
  @Column('varchar', { length: 255, nullable: true }) passwordHash!: string | null;
  @Column('boolean', { default: false }) platformAdmin!: boolean;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
}

/** A user's role in one tenant; a user has at most one membership per tenant. */
@Entity('memberships')
export class MembershipEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 36 }) userId!: string;
  @Column('varchar', { length: 40 }) role!: string;
  @Column(ms()) createdAt!: number;
}

/** A login: the cookie's token is stored only as its SHA-256, like API keys. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) userId!: string;
  /** The tenant the session acts in (one of the user's memberships). */
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 64 }) hash!: string;
  @Column('varchar', { length: 200, nullable: true }) userAgent!: string | null;
  @Column('varchar', { length: 64, nullable: true }) ip!: string | null;
  @Column(ms()) createdAt!: number;
  /** Refreshed at most once a minute; idle expiry counts from here. */
  @Column(ms()) lastSeenAt!: number;
  /** The absolute expiry, fixed at login. */
  @Column(ms()) expiresAt!: number;
  @Column(ms(true)) revokedAt!: number | null;
}

/** A one-time link inviting an email into a tenant with a role; its token is stored only as its SHA-256. */
@Entity('invitations')
export class InvitationEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 254 }) email!: string;
  @Column('varchar', { length: 254 }) emailKey!: string;
  @Column('varchar', { length: 40 }) role!: string;
  @Column('varchar', { length: 64 }) hash!: string;
  /** The inviter as audit records name them. */
  @Column('varchar', { length: 200 }) invitedBy!: string;
  @Column(ms()) createdAt!: number;
  @Column(ms()) expiresAt!: number;
  @Column(ms(true)) acceptedAt!: number | null;
  @Column('varchar', { length: 36, nullable: true }) acceptedUserId!: string | null;
  @Column(ms(true)) revokedAt!: number | null;
}

/** A one-time password reset link of a user (platform-wide, like the user); the token only as its SHA-256. */
@Entity('password_resets')
export class PasswordResetEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) userId!: string;
  @Column('varchar', { length: 64 }) hash!: string;
  @Column(ms()) createdAt!: number;
  @Column(ms()) expiresAt!: number;
  @Column(ms(true)) usedAt!: number | null;
}

/** A user's account at an OpenID provider: the issuer and its `sub`, unique together. */
@Entity('user_identities')
export class UserIdentityEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) userId!: string;
  @Column('varchar', { length: 255 }) issuer!: string;
  @Column('varchar', { length: 255 }) subject!: string;
  @Column(ms()) createdAt!: number;
  @Column(ms()) lastLoginAt!: number;
}

/**
 * An SSO sign-in under way: the state's SHA-256 (the browser holds the state in a cookie), the PKCE verifier
 * and the nonce, kept server-side so any replica can finish it; single use, short-lived.
 */
@Entity('oidc_logins')
export class OidcLoginEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 64 }) stateHash!: string;
  @Column('varchar', { length: 128 }) codeVerifier!: string;
  @Column('varchar', { length: 128 }) nonce!: string;
  @Column('varchar', { length: 500, nullable: true }) returnTo!: string | null;
  @Column(ms()) createdAt!: number;
  @Column(ms()) expiresAt!: number;
}
