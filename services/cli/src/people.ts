import { ApiClient, CliError, type Connection } from './client.js';
import { readSecret } from './session.js';

type Out = (line: string) => void;

interface InvitationView {
  id: string;
  email: string;
  role: string;
  invitedBy: string;
  createdAt: string;
  expiresAt: string;
}

const pad = (s: string, n: number) => s.padEnd(n);

/** Invites an email into the tenant; prints the one-time link (shown once) and whether it was mailed. */
export async function invite(api: ApiClient, email: string, role: string, out: Out): Promise<void> {
  const r = await api.request<InvitationView & { link: string; delivery: string }>('POST', '/api/v1/invitations', {
    email,
    role,
  });
  out(r.link);
  const how: Record<string, string> = {
    mailed: `mailed to ${r.email}`,
    logged: 'not mailed (no SMTP server): written to the server log',
    failed: 'the mail could not be sent (see the server log): pass the link on yourself',
    not_sent: 'not mailed (no SMTP server): pass the link on yourself',
  };
  process.stderr.write(
    `invitation ${r.id} for ${r.email} as ${r.role}, valid until ${r.expiresAt}; ${how[r.delivery] ?? r.delivery}. The link is shown once.\n`,
  );
}

export async function listInvitations(api: ApiClient, out: Out): Promise<void> {
  const page = await api.request<{ items: InvitationView[] }>('GET', '/api/v1/invitations');
  out(`${pad('ID', 38)} ${pad('EMAIL', 32)} ${pad('ROLE', 14)} ${pad('EXPIRES', 25)} INVITED BY`);
  for (const i of page.items) {
    out(`${pad(i.id, 38)} ${pad(i.email, 32)} ${pad(i.role, 14)} ${pad(i.expiresAt, 25)} ${i.invitedBy}`);
  }
}

export async function revokeInvitation(api: ApiClient, id: string, out: Out): Promise<void> {
  const r = await api.request<InvitationView>('DELETE', `/api/v1/invitations/${encodeURIComponent(id)}`);
  out(`invitation ${r.id} for ${r.email} revoked`);
}

/**
 * The current and the new password: prompted without echo on a terminal, else the first two lines of stdin.
 */
async function passwords(): Promise<[string, string]> {
  if (process.stdin.isTTY) {
    const current = await readSecret('Current password: ');
    const next = await readSecret('New password: ');
    if ((await readSecret('New password again: ')) !== next) throw new CliError('the new passwords differ');
    return [current, next];
  }
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  const [current = '', next = ''] = text.split(/\r?\n/);
  return [current, next];
}

/** Changes the password of the user signed in with `baton login`; the user's other sessions end. */
export async function changePassword(conn: Connection, out: Out): Promise<void> {
  if (!conn.session) {
    throw new CliError(`baton password changes the password of a login session: run \`baton login\` first`);
  }
  const [current, next] = await passwords();
  if (!current || !next) throw new CliError('give the current password and the new one (two lines on stdin)');
  const r = await new ApiClient(conn).request<{ sessionsEnded: number }>('POST', '/api/v1/auth/password', {
    current,
    new: next,
  });
  out(`password changed; ${r.sessionsEnded} other session(s) ended`);
}
