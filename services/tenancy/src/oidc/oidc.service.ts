import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, LessThan } from 'typeorm';
import {
  Database,
  MembershipEntity,
  OidcLoginEntity,
  TenantEntity,
  UserEntity,
  UserIdentityEntity,
  forUpdate,
  newId,
  scoped,
} from '@baton/persistence';
import { type TenantRole, hashToken, isRole, mappedRole, refuseInactive, safeReturnPath } from '@baton/auth';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig, type OidcConfig } from '@baton/config';
import { ProblemException } from '@baton/http';
import { LOGGER, type Logger } from '@baton/telemetry';
import type * as OpenIdClient from 'openid-client' with { 'resolution-mode': 'import' };
import { AuthService, type ClientInfo, type SessionView } from '../auth/auth.service.js';
import { emailKey, membershipsOf } from '../users/users.views.js';

// openid-client is an ES module: its types here, the module itself loaded with import() at the first sign-in.
type OidcClient = typeof OpenIdClient;
type Configuration = OpenIdClient.Configuration;

/** An SSO sign-in has this long between leaving for the provider and coming back. */
const LOGIN_TTL_MS = 10 * 60_000;

/** A refused SSO sign-in: told to the person on a page of its own (the callback is a browser navigation). */
export class SsoRefused extends ProblemException {}

const refused = (status: number, detail: string) => new SsoRefused(status, 'sso_refused', detail);

/**
 * OpenID Connect single sign-on: authorization code with PKCE (openid-client).
 * The state, nonce and PKCE verifier wait in `oidc_logins` (any replica can
 * finish the sign-in; single use); the browser holds the state in a cookie,
 * so a callback that did not start in this browser is refused. The user is
 * found by the provider's `sub`, else linked by a verified email, else
 * created; the role claim, mapped by `BATON_OIDC_ROLE_MAP`, gives the role in
 * the tenant on every sign-in; no mapped role, no sign-in.
 */
@Injectable()
export class OidcService {
  private readonly oidc: OidcConfig | null;
  private discovered: Promise<{ lib: OidcClient; config: Configuration }> | null = null;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly auth: AuthService,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.oidc = config.oidc;
    this.log = logger.child('oidc');
  }

  get enabled(): boolean {
    return this.oidc !== null;
  }

  /** The provider's URL to send the browser to, and the state for the browser's cookie. */
  async begin(returnTo: unknown): Promise<{ url: string; state: string }> {
    const o = this.settings();
    const { lib, config } = await this.provider();
    const verifier = lib.randomPKCECodeVerifier();
    const state = lib.randomState();
    const nonce = lib.randomNonce();
    const now = Date.now();
    await this.db.tx(async (m) => {
      // Sign-ins abandoned at the provider leave a row each; the next sign-in sweeps the expired ones.
      await m.delete(OidcLoginEntity, { expiresAt: LessThan(now) });
      await m.insert(OidcLoginEntity, {
        id: newId(now),
        stateHash: hashToken(state),
        codeVerifier: verifier,
        nonce,
        returnTo: safeReturnPath(returnTo),
        createdAt: now,
        expiresAt: now + LOGIN_TTL_MS,
      });
    });
    const url = lib.buildAuthorizationUrl(config, {
      redirect_uri: o.redirectUrl,
      scope: o.scopes.join(' '),
      code_challenge: await lib.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state };
  }

  /**
   * The provider's answer: `query` is the callback's query string, `browserState` the state cookie. Exchanges the
   * code (PKCE verifier, state and nonce checked by openid-client), reads the claims (ID token, then userinfo),
   * and opens a session like a password login.
   */
  async finish(
    query: string,
    browserState: string | null,
    client: ClientInfo,
  ): Promise<{ token: string; view: SessionView; returnTo: string }> {
    const o = this.settings();
    const current = new URL(o.redirectUrl);
    current.search = query;
    const params = current.searchParams;
    if (params.get('error')) {
      const why = params.get('error_description') ?? params.get('error');
      throw refused(401, `the identity provider refused the sign-in: ${why}`);
    }
    const state = params.get('state');
    if (!state || !browserState || state !== browserState) {
      throw refused(400, 'this sign-in did not start in this browser, or took too long: start it again');
    }
    const row = await this.db.manager.findOne(OidcLoginEntity, { where: { stateHash: hashToken(state) } });
    // Single use: of two callbacks with one state, one finds the row.
    const taken = row ? await this.db.manager.delete(OidcLoginEntity, { id: row.id }) : null;
    if (!row || (taken?.affected ?? 0) === 0 || row.expiresAt < Date.now()) {
      throw refused(400, 'this sign-in was used already or took too long: start it again');
    }
    const { lib, config } = await this.provider();
    let claims: Record<string, unknown>;
    try {
      const tokens = await lib.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: row.codeVerifier,
        expectedState: state,
        expectedNonce: row.nonce,
        idTokenExpected: true,
      });
      const id = tokens.claims();
      if (!id) throw new Error('no ID token');
      claims = { ...id };
      if (config.serverMetadata().userinfo_endpoint) {
        // The ID token's claims win; the userinfo fills in what it left out (groups, email with some providers).
        claims = { ...(await lib.fetchUserInfo(config, tokens.access_token, id.sub)), ...id };
      }
    } catch (err) {
      this.log.warn('SSO sign-in failed at the code exchange', { error: String(err) });
      throw refused(401, `the identity provider's answer did not verify: ${String((err as Error).message ?? err)}`);
    }
    const out = await this.signIn(o, claims, client);
    this.relay.kick();
    return { ...out, returnTo: row.returnTo ?? '/' };
  }

  private async signIn(
    o: OidcConfig,
    claims: Record<string, unknown>,
    client: ClientInfo,
  ): Promise<{ token: string; view: SessionView }> {
    const sub = String(claims.sub);
    const email = typeof claims.email === 'string' ? claims.email.trim() : null;
    const verified = claims.email_verified === true;
    const tenantName = o.tenantClaim ? claims[o.tenantClaim] : o.tenant;
    const role = mappedRole(claims[o.roleClaim], o.roleMap);
    const tenant =
      typeof tenantName === 'string' && tenantName !== ''
        ? await this.db.manager.findOne(TenantEntity, { where: { name: tenantName } })
        : null;
    const who = `oidc:${email ?? sub}`.slice(0, 200);
    if (!tenant) {
      throw refused(
        403,
        o.tenantClaim
          ? `your account names no tenant of Baton in its ${o.tenantClaim} claim: ask an administrator`
          : `the SSO tenant ${o.tenant} does not exist: ask an administrator`,
      );
    }
    if (!role) {
      await this.refusal(tenant.id, who, `no role: the ${o.roleClaim} claim maps to none`, claims[o.roleClaim]);
      throw refused(
        403,
        `your account has no Baton role: none of its ${o.roleClaim} is in the role mapping. Ask an administrator to add you to a group that maps to a role.`,
      );
    }
    refuseInactive(role, tenant);
    if (!email) throw refused(403, 'the identity provider sent no email for your account: Baton needs one');
    return this.db.tx(async (m) => {
      const now = Date.now();
      const user = await this.findOrCreate(m, o.issuer, sub, email, verified, claims, tenant.id, who, now);
      await this.grant(m, user, tenant.id, role, who);
      const memberships = await membershipsOf(m, user.id);
      const chosen = memberships.find((x) => x.tenant.id === tenant.id) ?? {
        tenant: { id: tenant.id, name: tenant.name },
        role,
      };
      return this.auth.startSession(m, user, chosen, memberships, client, 'oidc');
    });
  }

  /** By the provider's subject; else the account of the same email when the provider verified it; else a new one. */
  private async findOrCreate(
    m: EntityManager,
    issuer: string,
    subject: string,
    email: string,
    verified: boolean,
    claims: Record<string, unknown>,
    tenantId: string,
    who: string,
    now: number,
  ): Promise<UserEntity> {
    const identity = await m.findOne(UserIdentityEntity, { where: { issuer, subject } });
    if (identity) {
      const user = await m.findOne(UserEntity, { where: { id: identity.userId } });
      if (user) {
        await m.update(UserIdentityEntity, { id: identity.id }, { lastLoginAt: now });
        return user;
      }
    }
    let user = await m.findOne(UserEntity, { where: { emailKey: emailKey(email) } });
    if (user && !verified) {
      // An unverified email must not open the account of whoever owns that address here.
      throw refused(
        403,
        `an account with ${email} exists, and the identity provider has not verified that this address is yours`,
      );
    }
    if (!user) {
      const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : email;
      user = {
        id: newId(now),
        email: email.slice(0, 254),
        emailKey: emailKey(email).slice(0, 254),
        name,
        passwordHash: null,
        platformAdmin: false,
        createdAt: now,
        updatedAt: now,
      };
      await m.insert(UserEntity, user);
      await enqueueAudit(m, this.record(tenantId, who, 'user.created', `user ${user.id} (${user.email})`, { issuer }));
    }
    if (identity) await m.delete(UserIdentityEntity, { id: identity.id });
    await m.insert(UserIdentityEntity, {
      id: newId(now),
      userId: user.id,
      issuer,
      subject,
      createdAt: now,
      lastLoginAt: now,
    });
    return user;
  }

  /** The mapped role, in the tenant: a new membership, or the role changed (never the tenant's last admin demoted). */
  private async grant(m: EntityManager, user: UserEntity, tenantId: string, role: TenantRole, who: string) {
    const scope = { tenantId };
    const target = `user ${user.id} (${user.email})`;
    const membership = await scoped(m, scope).findOne(MembershipEntity, { where: { userId: user.id } });
    if (!membership) {
      await scoped(m, scope).insert(MembershipEntity, {
        id: newId(),
        tenantId,
        userId: user.id,
        role,
        createdAt: Date.now(),
      });
      await enqueueAudit(m, this.record(tenantId, who, 'user.added', target, { role, by: 'sso' }));
      return;
    }
    if (membership.role === role || !isRole(membership.role)) return;
    if (membership.role === 'tenant_admin') {
      const admins = await forUpdate(
        this.db,
        scoped(m, scope).query(MembershipEntity, 'm', 'm.role = :r', { r: 'tenant_admin' }),
      ).getMany();
      if (admins.length <= 1) return;
    }
    await scoped(m, scope).update(MembershipEntity, { id: membership.id }, { role });
    await enqueueAudit(
      m,
      this.record(tenantId, who, 'user.role-changed', target, { from: membership.role, to: role, by: 'sso' }),
    );
  }

  private async refusal(tenantId: string, who: string, reason: string, claim: unknown): Promise<void> {
    await this.db.tx((m) =>
      enqueueAudit(m, {
        ...this.record(tenantId, who, 'auth.sso-refused', 'sso', { reason, claim: claim ?? null }),
        status: 403,
      }),
    );
    this.relay.kick();
  }

  private record(tenantId: string, actor: string, action: string, target: string, detail: Record<string, unknown>) {
    return { tenantId, action, actor, target: target.slice(0, 300), status: 200, detail, occurredAt: Date.now() };
  }

  private settings(): OidcConfig {
    if (!this.oidc) throw ProblemException.notFound('single sign-on (BATON_OIDC_ISSUER is not set)');
    return this.oidc;
  }

  /** The provider's metadata, discovered once; a failed discovery is tried again on the next sign-in. */
  private provider(): Promise<{ lib: OidcClient; config: Configuration }> {
    const o = this.settings();
    this.discovered ??= (async () => {
      const lib = await import('openid-client');
      const config = await lib.discovery(
        new URL(o.issuer),
        o.clientId,
        o.clientSecret ?? undefined,
        o.clientSecret ? undefined : lib.None(),
        o.allowHttp ? { execute: [lib.allowInsecureRequests] } : undefined,
      );
      return { lib, config };
    })().catch((err: unknown) => {
      this.discovered = null;
      this.log.error('OpenID provider discovery failed', { issuer: o.issuer, error: String(err) });
      throw new ProblemException(
        503,
        'unavailable',
        `the identity provider ${o.issuer} did not answer: try again later`,
      );
    });
    return this.discovered;
  }
}
