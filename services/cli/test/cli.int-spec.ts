import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type TestDatabase,
  createTestDatabase,
  runCli,
  startPlatform,
  testDatabaseKinds,
} from '@baton/testing';

const kinds = await testDatabaseKinds();
const example = resolve(__dirname, '../../../examples/hello.yaml');

describe.each(kinds)('the baton CLI against a running platform (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const dir = mkdtempSync(join(tmpdir(), 'baton-cli-'));
  const baton = (...args: string[]) => runCli(args, { BATON_SERVER: platform.url, BATON_TOKEN: platform.token }, dir);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, localAgent: true });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('applies the example, runs it to the end, lists it and prints a task log', async () => {
    const applied = await baton('apply', '-f', example);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(/job hello: created \(version 1\), next fire/);
    expect((await baton('apply', '-f', example)).stdout).toMatch(/job hello: unchanged \(version 1\)/);

    const run = await baton('run', 'hello', '--wait');
    expect(run.code, run.stderr).toBe(0);
    const id = /^run (\S+) \(job hello v1\)/.exec(run.stdout)![1]!;
    for (const key of ['extract', 'transform', 'load']) expect(run.stdout).toMatch(new RegExp(`${key}\\s+succeeded`));
    expect(run.stdout).toContain(`run ${id} succeeded`);

    const runs = await baton('runs', '--job', 'hello');
    expect(runs.stdout).toContain(id);
    const logs = await baton('logs', id, 'extract');
    expect(logs.stdout).toMatch(/extracting for hello at/);
  });

  it('exits 1 when the run fails and shows the failing task', async () => {
    const file = join(dir, 'fails.yaml');
    writeFileSync(file, 'name: fails\ntasks:\n  - key: broken\n    type: shell\n    command: exit 7\n');
    await baton('apply', '-f', file);
    const run = await baton('run', 'fails', '--wait');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/broken\s+failed .*exit=7/);
  });

  it('names the line of a YAML syntax error and the field of an invalid definition', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: x\ntasks:\n  - key: a\n   type: shell\n');
    const syntax = await baton('apply', '-f', broken);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/broken\.yaml:4:\d+:/);

    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, 'name: bad\ntasks:\n  - key: a\n    type: shell\n    retry: { backoff: sometimes }\n');
    const semantic = await baton('apply', '-f', invalid);
    expect(semantic.code).toBe(1);
    expect(semantic.stderr).toMatch(/400/);
    expect(semantic.stderr).toMatch(/tasks\[0\]\.retry\.backoff/);
  });

  it('refuses a YAML file whose aliases expand past the limit, naming the file, the document and the problem', async () => {
    const laughs = join(dir, 'laughs.yaml');
    const levels = Array.from({ length: 8 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(',')}]`);
    writeFileSync(
      laughs,
      [
        'name: fine',
        'tasks: [{ key: a, type: noop }]',
        '---',
        'name: laughs',
        'l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
        ...levels,
        'tasks: [{ key: a, type: noop }]',
        '',
      ].join('\n'),
    );
    const r = await baton('apply', '-f', laughs);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `baton: ${laughs}:3: YAML aliases expand to more than 100 nodes; such a document is refused\n`,
    );
    // Nothing was applied: the file is read whole before the first request.
    expect((await platform.api('GET', '/api/v1/jobs/fine')).status).toBe(404);
  });

  it('logs in, calls with the session (CSRF token included) and logs out', async () => {
    const home = mkdtempSync(join(tmpdir(), 'baton-cli-home-'));
    const env = { BATON_SERVER: platform.url, HOME: home };
    const password = 'cli-password-0123456789';
    const add = await platform.api('POST', '/api/v1/users', {
      email: 'cli@baton.test',
      name: 'CLI',
      password,
      role: 'developer',
    });
    expect(add.status).toBe(201);
    const wrong = await runCli(['login', '--email', 'cli@baton.test'], env, home, 'not-it\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/401 the email or the password is wrong/);

    const ok = await runCli(['login', '--email', 'CLI@baton.test'], env, home, `${password}\n`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/logged in as cli@baton\.test, developer in tenant default/);
    const file = join(home, '.baton', 'config.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { session: { cookie: string; csrfToken: string } };
    expect(saved.session.cookie).toMatch(/^baton_session=bat_ses_/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(password);

    // A change through the session: the CLI sends the CSRF header.
    const applied = await runCli(['apply', '-f', example], env, home);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await runCli(['jobs'], env, home)).stdout).toContain('hello');
    // A developer's session is a developer: no agent tokens.
    expect((await runCli(['agent-token', 'create'], env, home)).stderr).toMatch(/403/);

    const out = await runCli(['logout'], env, home);
    expect([out.code, out.stdout.trim()]).toEqual([0, 'logged out']);
    expect(JSON.parse(readFileSync(file, 'utf8')).session).toBeUndefined();
    const gone = await platform.request('GET', '/api/v1/jobs', undefined, { cookie: saved.session.cookie });
    expect(gone.status).toBe(401);
    expect((await runCli(['jobs'], env, home)).stderr).toMatch(/baton login/);
  });

  it('lets a platform admin list, suspend, resume, delete and purge tenants, and act inside one', async () => {
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'cli-co' });
    expect(t.status).toBe(201);
    const inside = await baton('--act-in', 'cli-co', 'apply', '-f', example);
    expect(inside.code, inside.stderr).toBe(0);
    const own = await runCli(['jobs'], { BATON_SERVER: platform.url, BATON_TOKEN: t.body.adminToken }, dir);
    expect(own.stdout).toContain('hello');

    const noReason = await baton('tenant', 'suspend', 'cli-co');
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toMatch(/--reason/);
    const s = await baton('tenant', 'suspend', 'cli-co', '--reason', 'audit pending');
    expect([s.code, s.stdout.trim()]).toEqual([0, 'tenant cli-co is suspended: audit pending']);
    expect((await baton('tenants', '--state', 'suspended')).stdout).toMatch(/cli-co\s+suspended .* audit pending/);
    const refused = await runCli(['jobs'], { BATON_SERVER: platform.url, BATON_TOKEN: t.body.adminToken }, dir);
    expect(refused.stderr).toMatch(/403 tenant cli-co is suspended: audit pending/);
    expect((await baton('tenant', 'resume', 'cli-co')).stdout.trim()).toBe('tenant cli-co is active');

    expect((await baton('tenant', 'delete', 'cli-co')).stdout.trim()).toBe('tenant cli-co is deleted: deleted');
    const unconfirmed = await baton('tenant', 'purge', 'cli-co');
    expect([unconfirmed.code, unconfirmed.stderr]).toEqual([2, expect.stringMatching(/pass --yes/)]);
    const purged = await baton('tenant', 'purge', 'cli-co', '--yes');
    expect(purged.stdout).toMatch(/^tenant cli-co purged: \d+ rows in \d+ tables/);
    expect((await baton('tenants')).stdout).not.toContain('cli-co');
  });

  it('refuses to run without a token and says how to get one', async () => {
    const r = await runCli(
      ['runs'],
      { BATON_SERVER: platform.url, BATON_CONFIG: join(dir, 'none.json'), HOME: dir },
      dir,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no API token/);
  });
});
