import { createInterface } from 'node:readline/promises';
import { ApiClient, CliError, type Connection, updateClientFile } from './client.js';

type Out = (line: string) => void;

interface LoginView {
  user: { email: string };
  tenant: { name: string };
  role: string;
  csrfToken: string;
}

/** Logs in and saves the session (cookie and CSRF token) where later commands read their credentials. */
export async function login(
  server: string,
  cmd: { email: string; password: string; tenant?: string | undefined },
  file: string,
  out: Out,
): Promise<void> {
  const anonymous = new ApiClient({ server, token: null, session: null, source: 'login' });
  const { body, headers } = await anonymous.exchange<LoginView>('POST', '/api/v1/auth/login', {
    email: cmd.email,
    password: cmd.password,
    ...(cmd.tenant ? { tenant: cmd.tenant } : {}),
  });
  // The cookie as the server named it; its attributes are for browsers.
  const cookie = headers.getSetCookie().map((c) => c.split(';')[0]!)[0];
  if (!cookie) throw new CliError(`${server} answered the login without a session cookie`, 1);
  updateClientFile(file, (f) => ({
    ...f,
    server,
    session: { cookie, csrfToken: body.csrfToken, email: body.user.email, tenant: body.tenant.name },
  }));
  out(`logged in as ${body.user.email}, ${body.role} in tenant ${body.tenant.name}; session saved in ${file}`);
}

/** Ends the saved session on the server (if it still lives) and forgets it here. */
export async function logout(conn: Connection, out: Out): Promise<void> {
  if (!conn.session) throw new CliError(`not logged in: ${conn.source} holds no session (an API key needs no logout)`);
  try {
    await new ApiClient(conn).request('POST', '/api/v1/auth/logout');
  } catch (err) {
    // An expired or revoked session is over already; anything else is worth saying.
    if (!(err instanceof CliError) || !/: 401 /.test(err.message)) throw err;
  }
  updateClientFile(conn.source, ({ session: _ended, ...rest }) => rest);
  out('logged out');
}

/** The first line of stdin when it is not a terminal; otherwise a prompt that does not echo. */
export async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  try {
    return await new Promise<string>((res, rej) => {
      let typed = '';
      const onData = (s: string) => {
        for (const ch of s) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            return res(typed);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return rej(new CliError('cancelled', 130));
          }
          typed = ch === '\u007f' || ch === '\b' ? typed.slice(0, -1) : typed + ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** A line typed at a prompt (echoed); only on a terminal. */
export async function readLine(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) throw new CliError('--email is required when stdin is not a terminal');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}
