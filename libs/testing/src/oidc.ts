import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { freePort } from './processes.js';

/** What the test provider says about an account (its claims); `sub` is its login. */
export interface OidcTestAccount {
  email: string;
  email_verified: boolean;
  name: string;
  groups: string[];
}

/**
 * A real OpenID provider (`oidc-provider`) on the loopback, with its
 * development login and consent pages (any password; the login names the
 * account), one confidential client, and scopes `openid email profile groups`.
 * Accounts can be changed while it runs (their claims are read at each sign-in).
 */
export class OidcTestProvider {
  readonly clientId = 'baton';
  readonly clientSecret = randomBytes(24).toString('base64url');
  private server: Server | null = null;

  private constructor(
    readonly port: number,
    readonly accounts: Record<string, OidcTestAccount>,
  ) {}

  /** Picks the port first: the issuer goes into Baton's environment before the client's redirect URL is known. */
  static async prepare(accounts: Record<string, OidcTestAccount>): Promise<OidcTestProvider> {
    return new OidcTestProvider(await freePort(), accounts);
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it for a client that comes back to `redirectUri`. */
  async start(redirectUri: string): Promise<void> {
    const { default: Provider } = await import('oidc-provider');
    const provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: this.clientId,
          client_secret: this.clientSecret,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      scopes: ['openid', 'email', 'profile', 'groups'],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      features: { devInteractions: { enabled: true } },
      findAccount: (_ctx, id) => {
        const a = this.accounts[id];
        return a ? { accountId: id, claims: () => ({ sub: id, ...a }) } : undefined;
      },
    });
    this.server = await new Promise<Server>((res) => {
      const s = provider.listen(this.port, '127.0.0.1', () => res(s));
    });
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (s) await new Promise((r) => s.close(r));
  }
}
