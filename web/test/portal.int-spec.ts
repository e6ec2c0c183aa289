import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  openPlatformDatabase,
  seedRunHistory,
  startAgentProcess,
  startPlatform,
  waitFor,
} from '@baton/testing';
import { TABLET, VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

// The portal end to end: a real `baton standalone` serving the built portal
// (web/out) at `/`, a real `baton agent`, and Chromium driven by playwright-core.
// Each view is saved as a 1280×800 PNG in docs/screenshots/.

const CHAIN = {
  name: 'e2e-chain',
  description: 'extract, two parallel transforms, load',
  params: { rows: 3 },
  tasks: [
    {
      key: 'extract',
      type: 'shell',
      command: 'echo "extracting $ROWS rows"; sleep 0.3',
      env: { ROWS: '{{ params.rows }}' },
    },
    { key: 'clean', type: 'shell', dependsOn: ['extract'], command: 'echo cleaning; sleep 0.2' },
    { key: 'enrich', type: 'shell', dependsOn: ['extract'], command: 'echo enriching; sleep 0.4' },
    { key: 'load', type: 'shell', dependsOn: ['clean', 'enrich'], command: 'echo "loaded into the warehouse"' },
  ],
};

// The first platform admin user, as `npm start` creates it from these variables.
const ADMIN = { email: 'admin@e2e.example', password: 'e2e-admin-password-1' };
const DEV = { email: 'dana@e2e.example', name: 'Dana Developer', password: 'dana-password-123' };

describe('the web portal', () => {
  let platform: Platform;
  let agent: AgentProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'baton-web-e2e-'));
    platform = await startPlatform({
      databaseUrl: null,
      env: { BATON_ADMIN_EMAIL: ADMIN.email, BATON_ADMIN_PASSWORD: ADMIN.password },
    });
    agent = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name: 'e2e-agent',
      labels: 'zone=a,os=linux',
      workDir: join(work, 'agent'),
    });
    await waitFor('the agent to connect', async () => {
      const r = await platform.api('GET', '/api/v1/agents');
      return r.body.items?.some(
        (a: { name: string; status: string }) => a.name === 'e2e-agent' && a.status === 'connected',
      );
    });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US', timezoneId: 'Europe/Berlin' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: platform.url });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    errors = pageErrors(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await platform?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const runIdFromUrl = () => new URL(page.url()).searchParams.get('id')!;
  const nav = (name: string) => page.getByRole('banner').getByRole('link', { name, exact: true });

  it('serves the portal at / and the API under /api/v1 on the same port', async () => {
    const home = await fetch(`${platform.url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('<html');
    const api = await fetch(`${platform.url}/api/v1/whoami`);
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
    const unknownApi = await fetch(`${platform.url}/api/v1/no-such-route`, { headers: { accept: 'text/html' } });
    expect(unknownApi.headers.get('content-type')).toContain('application/problem+json');
  });

  /** Signs a page in with email and password from the sign-in page. */
  const signIn = async (p: Page, email: string, password: string) => {
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
  };

  it('signs in with email and password, refusing a wrong password, and returns to the page asked for', async () => {
    await page.goto(`${platform.url}/jobs/`);
    await page.waitForURL(/\/sign-in\/\?next=/);
    await screenshot(page, 'sign-in');
    await signIn(page, ADMIN.email, 'not-the-password');
    await expect
      .poll(() => page.locator('#signin-error').textContent())
      .toContain('email or the password is not right');
    // Failures are limited per email: beyond the budget the API answers 429, and the page says how long to wait.
    const locked = 'locked-out@e2e.example';
    for (let i = 0; i < 5; i++)
      expect((await platform.request('POST', '/api/v1/auth/login', { email: locked, password: 'guess' })).status).toBe(
        401,
      );
    await signIn(page, locked, 'guess');
    await expect
      .poll(() => page.locator('#signin-error').textContent())
      .toMatch(/Too many failed sign-ins\. Try again in about \d+ minutes? \(\d+ s\)/);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/jobs\/$/);
    await expect.poll(() => page.getByTestId('role').textContent()).toBe('Platform admin');
    // a platform admin's tenant switcher lists every tenant, the own one first (tenant-switcher.int-spec.ts)
    await expect
      .poll(() => page.getByLabel('Tenant to act in').locator('option:checked').textContent())
      .toBe('default (own)');
    // No jobs yet: the empty state tells how to add one.
    await page.getByText('No jobs yet.').waitFor();
    // The session is the httpOnly cookie: nothing of it is readable by the page.
    expect(await page.evaluate(() => document.cookie)).not.toContain('baton_session');
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))).not.toContain('bat_');
  });

  it('lists a job applied through the API, with search in the address', async () => {
    expect((await platform.api('PUT', `/api/v1/jobs/${CHAIN.name}`, CHAIN)).status).toBe(201);
    await page.reload();
    const row = page.locator('tr[data-job="e2e-chain"]');
    await row.waitFor();
    expect(await row.locator('th').textContent()).toBe('e2e-chain');
    await page.getByLabel('Search').fill('nothing-like-it');
    await page.waitForURL(/q=nothing-like-it/);
    await page.getByText('No job name starts with').waitFor();
    await page.getByLabel('Search').fill('e2e');
    await page.waitForURL(/q=e2e/);
    await row.waitFor();
  });

  it('runs the job from the portal and watches it succeed in the graph and the Gantt', async () => {
    await page.locator('tr[data-job="e2e-chain"] a', { hasText: 'e2e-chain' }).click();
    await page.waitForURL(/\/job\/\?name=e2e-chain/);
    await page.locator('.dag-node[data-task="load"]').waitFor();
    await screenshot(page, 'job');
    await page.getByRole('tab', { name: 'Triggers' }).click();
    await page.waitForURL(/tab=triggers/);
    await page.getByText('No triggers.').waitFor();
    await page.getByRole('tab', { name: 'Graph' }).click();

    await page.getByRole('button', { name: 'Run now' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Parameters (JSON)').fill('{"rows": 7}');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/run\/\?id=/);
    const id = runIdFromUrl();

    for (const key of ['extract', 'clean', 'enrich', 'load'])
      await page.locator(`.dag-node[data-task="${key}"][data-state="succeeded"]`).waitFor({ timeout: 30_000 });
    await page.locator('h1 [data-state="succeeded"]').waitFor();
    // One Gantt bar per attempt: four tasks, one attempt each.
    await page.getByRole('img', { name: 'Timeline of 4 attempts' }).waitFor();
    const run = await platform.api('GET', `/api/v1/runs/${id}`);
    expect(run.body.state).toBe('succeeded');
    expect(run.body.params).toEqual({ rows: 7 });
    await screenshot(page, 'run');
  });

  it("shows where the run's time went: queue wait, dispatch and execution along the critical path", async () => {
    const panel = page.getByTestId('lateness-panel');
    await panel.getByTestId('lateness-path').waitFor();
    const api = (await platform.api('GET', `/api/v1/runs/${runIdFromUrl()}/lateness`)).body;
    expect(api.criticalPath.length).toBeGreaterThan(0);
    // The path's tasks, first to last, as the API has them; the load task ended the run.
    const keys = await panel
      .locator('[data-testid="lateness-path"] tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')));
    expect(keys).toEqual(api.criticalPath.map((t: { key: string }) => t.key));
    expect(keys.at(-1)).toBe('load');
    // A manual run has no trigger delay; the total is a duration, not "still running".
    expect(await panel.locator('[data-field="triggerDelayMs"] dd').textContent()).toBe('not time-triggered');
    expect(api.totalMs).toBeGreaterThan(0);
    expect(await panel.locator('[data-field="totalMs"] dd').textContent()).toMatch(/\d/);
    expect(await panel.locator('[data-field="executionMs"] dt').textContent()).toBe('Execution');
    await panel.getByRole('img', { name: /Shares of queue wait/ }).waitFor();
    await panel.scrollIntoViewIfNeeded();
    await screenshot(page, 'run-lateness');
  });

  it("reads a task's log", async () => {
    await page.getByTestId('tasks-table').getByRole('button', { name: 'extract' }).click();
    await page.waitForURL(/task=extract/);
    const log = page.getByTestId('log-text');
    await expect.poll(() => log.textContent()).toContain('extracting 7 rows');
    await page.getByTestId('attempts-table').locator('tr[data-attempt="1"]').waitFor();
    await page.getByTestId('task-panel').scrollIntoViewIfNeeded();
    await screenshot(page, 'run-task-log');
  });

  it('makes a task fail and reruns it from the portal', async () => {
    const marker = join(work, 'fixed');
    const flaky = {
      name: 'e2e-flaky',
      tasks: [
        { key: 'prepare', type: 'shell', command: 'echo preparing' },
        {
          key: 'publish',
          type: 'shell',
          dependsOn: ['prepare'],
          command: 'if [ -f "$MARKER" ]; then echo published; else echo "target not reachable" >&2; exit 3; fi',
          env: { MARKER: marker },
        },
        { key: 'notify', type: 'shell', dependsOn: ['publish'], command: 'echo notified' },
      ],
    };
    expect((await platform.api('PUT', `/api/v1/jobs/${flaky.name}`, flaky)).status).toBe(201);
    const started = await platform.api('POST', `/api/v1/jobs/${flaky.name}/runs`, {});
    const failedId: string = started.body.id;
    await page.goto(`${platform.url}/run/?id=${failedId}&task=publish`);
    await page.locator('h1 [data-state="failed"]').waitFor({ timeout: 30_000 });
    await page.locator('.dag-node[data-task="publish"][data-state="failed"]').waitFor();
    await page.locator('.dag-node[data-task="notify"][data-state="upstream_failed"]').waitFor();
    await expect.poll(() => page.getByTestId('log-text').textContent()).toContain('target not reachable');
    await screenshot(page, 'run-failed');

    writeFileSync(marker, 'ok');
    await page.getByRole('button', { name: 'Rerun failed' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('with 1 failed task').waitFor();
    await dialog.getByRole('button', { name: 'Rerun failed' }).click();
    await page.waitForURL((u) => u.searchParams.get('id') !== failedId);
    await page.locator('h1 [data-state="succeeded"]').waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: failedId.slice(-12) }).waitFor(); // "rerun of" the failed run
    const rerun = await platform.api('GET', `/api/v1/runs/${runIdFromUrl()}`);
    expect(rerun.body.parentRunId).toBe(failedId);
    expect(rerun.body.tasks.map((t: { state: string }) => t.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it("writes a job in the YAML editor: marks the problems as you type and the API's on save, then saves", async () => {
    await nav('Jobs').click();
    await page.getByRole('link', { name: 'New job' }).click();
    await page.waitForURL(/\/jobs\/new\/$/);
    const editor = page.getByRole('textbox', { name: 'Job definition (YAML)' });
    const problems = page.getByTestId('yaml-problems');
    const save = page.getByRole('button', { name: 'Save' });
    const write = async (text: string) => {
      await editor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText(text);
    };
    // A task type the schema does not know and a field it does not have, marked at their lines.
    await write('name: e2e-yaml\ntasks:\n  - key: first\n    type: shel\n    command: echo one\n    colour: red\n');
    await expect.poll(() => problems.textContent()).toContain('must be one of: shell, noop, http, script, sql');
    expect(await problems.locator('li[data-line="4"]').textContent()).toContain('tasks[0].type');
    expect(await problems.locator('li[data-line="6"]').textContent()).toContain('unknown field “colour”');
    await page.locator('.cm-gutter-lint .cm-lint-marker-error').first().waitFor();
    expect(await save.isDisabled()).toBe(true);
    await screenshot(page, 'job-new-invalid');

    // Well-shaped, but the DAG names a task that does not exist: only the API knows; its field error is marked too.
    const good = 'name: e2e-yaml\ntasks:\n  - key: first\n    type: shell\n    command: echo one\n';
    await write(`${good}  - key: second\n    type: shell\n    dependsOn: [nope]\n    command: echo two\n`);
    await page.getByTestId('editor-status').getByText('No problems').waitFor();
    await save.click();
    await expect.poll(() => problems.textContent()).toContain('unknown task "nope"');
    expect(await problems.locator('li[data-line="8"]').textContent()).toContain('tasks[1].dependsOn[0]');
    expect((await platform.api('GET', '/api/v1/jobs/e2e-yaml')).status).toBe(404);

    await write(`${good}  - key: second\n    type: shell\n    dependsOn: [first]\n    command: echo two\n`);
    await page.getByTestId('editor-status').getByText('No problems').waitFor();
    await save.click();
    await page.waitForURL(/\/job\/\?name=e2e-yaml&tab=definition/);
    const job = await platform.api('GET', '/api/v1/jobs/e2e-yaml');
    expect(job.body.version).toBe(1);
    expect(job.body.definition.tasks[1].dependsOn).toEqual(['first']);

    // Edit it where it lives: a new version.
    const current = page.getByRole('textbox', { name: 'Job definition (YAML)' });
    await current.getByText('echo two').waitFor();
    await write(
      `${good}  - key: second\n    type: shell\n    dependsOn: [first]\n    command: echo two, edited\n    timeout: 30s\n`,
    );
    await page.getByTestId('editor-status').getByText('No problems').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved as version 2.').waitFor();
    expect((await platform.api('GET', '/api/v1/jobs/e2e-yaml')).body.definition.tasks[1].timeoutMs).toBe(30_000);
    await screenshot(page, 'job-definition');
  });

  it("shows a job's versions and the diff between two of them", async () => {
    await page.getByRole('tab', { name: 'Versions' }).click();
    await page.waitForURL(/tab=versions/);
    const diff = page.getByTestId('version-diff');
    await diff.waitFor();
    expect(await diff.locator('tr.del').allTextContents()).toEqual(['9−    command: echo two']);
    expect(await diff.locator('tr.add').allTextContents()).toEqual([
      '9+    command: echo two, edited',
      '10+    timeout: 30s',
    ]);
    // Comparing a version with itself: nothing to show; the choice is in the address.
    await page.getByLabel('Compare to version 1').click(); // the address holds the choice, so it shows once the URL changes
    await page.waitForURL(/from=1&to=1/);
    await page.getByText('The two versions are the same.').waitFor();
    await page.getByLabel('Compare to version 2').click();
    await diff.waitFor();
    await screenshot(page, 'job-versions');
    // Side by side: the removed line faces the line that replaced it, the added one faces a blank.
    await page.getByLabel('Side by side').click(); // checked once the address holds the choice
    await page.waitForURL(/diff=split/);
    const split = page.getByTestId('version-diff-split');
    await split.waitFor();
    const changed = split.locator('tr', { has: page.locator('td.del') });
    expect(await changed.locator('td.text').allTextContents()).toEqual([
      '    command: echo two',
      '    command: echo two, edited',
    ]);
    expect(await changed.locator('td.ln').allTextContents()).toEqual(['9 removed', '9 added']);
    const added = split.locator('tr', { has: page.locator('td.blank') });
    expect(await added.locator('td.text').allTextContents()).toEqual(['', '    timeout: 30s']);
    expect(await added.locator('td.ln').allTextContents()).toEqual(['', '10 added']);
    await screenshot(page, 'job-versions-side-by-side');
    await page.getByLabel('Unified').click();
    await page.waitForURL((u) => !u.search.includes('diff=split'));
    await diff.waitFor();
  });

  it('shows the runs × tasks grid, virtualised, and opens a run at a task from a cell', async () => {
    await page.goto(`${platform.url}/job/?name=e2e-flaky&tab=grid`);
    const grid = page.getByTestId('state-grid');
    await grid.waitFor();
    // Newest run first: the rerun that succeeded, then the run that failed at "publish".
    const failed = (await platform.api('GET', '/api/v1/runs?job=e2e-flaky&state=failed')).body.items[0].id as string;
    await grid.locator(`.grid-cell[data-run="${failed}"][data-task="publish"][data-state="failed"]`).waitFor();
    await grid.locator(`.grid-cell[data-run="${failed}"][data-task="notify"][data-state="upstream_failed"]`).waitFor();
    await grid.locator(`.grid-cell[data-run="${failed}"][data-task="publish"]`).click();
    await page.waitForURL((u) => u.searchParams.get('id') === failed && u.searchParams.get('task') === 'publish');
    expect(new URL(page.url()).searchParams.get('attempt')).toBe('1');
    await expect.poll(() => page.getByTestId('log-text').textContent()).toContain('target not reachable');

    // 500 tasks: only the rows in view are in the page, and scrolling brings the last one.
    const tasks = Array.from({ length: 500 }, (_, i) => ({
      key: `t${String(i).padStart(3, '0')}`,
      type: 'noop',
      agentSelector: { zone: 'nowhere' }, // never placed: each run keeps its first task queued, the rest pending
      ...(i > 0 ? { dependsOn: [`t${String(i - 1).padStart(3, '0')}`] } : {}),
    }));
    expect((await platform.api('PUT', '/api/v1/jobs/e2e-wide', { name: 'e2e-wide', tasks })).status).toBe(201);
    // 100 runs: 12 live ones, and 88 finished ones before them written into the database (running them would take minutes).
    for (let i = 0; i < 12; i++)
      expect((await platform.api('POST', '/api/v1/jobs/e2e-wide/runs', {})).status).toBe(201);
    const tenantId = (await platform.api('GET', '/api/v1/whoami')).body.tenant.id as string;
    const db = await openPlatformDatabase({ databaseUrl: null, dataDir: platform.dataDir });
    try {
      const hour = 3_600_000;
      const base = Date.now() - 100 * hour;
      for (let i = 0; i < 88; i++)
        await seedRunHistory(db, tenantId, [
          {
            job: 'e2e-wide',
            logicalDate: base + i * hour,
            state: i % 10 === 3 ? 'failed' : 'succeeded',
            delayMs: 100,
            runtimeMs: 60_000,
            tasks: tasks.map((x) => ({ key: x.key, attempts: 1 })),
          },
        ]);
    } finally {
      await db.close();
    }
    // Measured, not asserted (docs/benchmarks.md, section 9, times it properly: npm run bench -- --only portal).
    const t0 = Date.now();
    await page.goto(`${platform.url}/job/?name=e2e-wide&tab=grid`);
    await page.getByText('500 tasks × 100 runs').waitFor();
    await grid.locator('.grid-cell[data-task="t000"][data-state="queued"]').first().waitFor();
    console.log(`[portal timing] 500 × 100 grid render: ${Date.now() - t0} ms (navigation to cells painted)`);
    await grid.locator('.grid-cell[data-task="t000"][data-state="succeeded"]').first().waitFor();
    await grid.locator('.grid-cell[data-task="t001"][data-state="pending"]').first().waitFor();
    expect(await grid.locator('.grid-row').count()).toBeLessThan(100);
    expect(await grid.locator('.grid-row .grid-task', { hasText: 't499' }).count()).toBe(0);
    await grid.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await grid.locator('.grid-task', { hasText: 't499' }).waitFor();
    await grid.evaluate((el) => el.scrollTo({ top: 0 }));
    await screenshot(page, 'job-grid');
    const wide = (
      (await platform.api('GET', '/api/v1/runs?job=e2e-wide&limit=50')).body.items as Array<{
        id: string;
        state: string;
      }>
    ).filter((r) => !['succeeded', 'failed', 'cancelled'].includes(r.state));
    expect(wide).toHaveLength(12);
    for (const r of wide) expect((await platform.api('POST', `/api/v1/runs/${r.id}/cancel`, {})).status).toBe(200);
  });

  it('previews a backfill with a dry run, starts it and follows its progress', async () => {
    const job = {
      name: 'e2e-backfill',
      triggers: [{ type: 'cron', cron: '0 0 * * * *' }],
      tasks: [{ key: 'hour', type: 'shell', command: 'echo "backfilling $BATON_LOGICAL_DATE"' }],
    };
    expect((await platform.api('PUT', `/api/v1/jobs/${job.name}`, job)).status).toBe(201);
    // One of the hours already ran: the backfill skips it.
    const ran = await platform.api('POST', `/api/v1/jobs/${job.name}/runs`, { logicalDate: '2026-11-01T01:00:00Z' });
    expect(ran.status).toBe(201);

    await page.goto(`${platform.url}/job/?name=e2e-backfill&tab=backfill`);
    await page.getByLabel('From (ISO 8601)').fill('2026-11-01T00:00:00Z');
    await page.getByLabel('To (ISO 8601)').fill('2026-11-01T03:00:00Z');
    await page.getByRole('button', { name: 'Preview slots' }).click();
    const preview = page.getByTestId('backfill-preview');
    await preview.getByText('Dry run: 3 to run, 1 skipped').waitFor();
    expect(await preview.locator('tr[data-action="run"]').count()).toBe(3);
    expect(await preview.locator('tr[data-action="skip"]').textContent()).toContain(ran.body.id.slice(-12));
    expect((await platform.api('GET', `/api/v1/runs?job=${job.name}`)).body.items).toHaveLength(1); // a dry run

    await page.getByRole('button', { name: 'Start backfill' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Start a backfill of 3 runs?').waitFor();
    await dialog.getByRole('button', { name: 'Start backfill' }).click();
    await page.waitForURL(/backfill=/);
    const progress = page.getByTestId('backfill-progress');
    await progress.getByText(/^Finished /).waitFor({ timeout: 30_000 });
    const id = new URL(page.url()).searchParams.get('backfill')!;
    const b = await platform.api('GET', `/api/v1/backfills/${id}`);
    expect([b.body.started, b.body.skipped, b.body.runs]).toEqual([3, 1, { succeeded: 3 }]);
    expect(await progress.textContent()).toContain('3 of 3 started runs finished, 1 skipped');
    await screenshot(page, 'job-backfill');
  });

  it("shows a run's SLA: missed with the reason, the deadline on the Gantt, a task past its maxDuration", async () => {
    const job = {
      name: 'e2e-sla-missed',
      sla: { maxDuration: '1s' },
      tasks: [
        { key: 'prepare', type: 'shell', command: 'echo preparing' },
        { key: 'crunch', type: 'shell', dependsOn: ['prepare'], command: 'sleep 3', maxDuration: '500ms' },
      ],
    };
    expect((await platform.api('PUT', `/api/v1/jobs/${job.name}`, job)).status).toBe(201);
    const run = await platform.api('POST', `/api/v1/jobs/${job.name}/runs`, {});
    expect(run.status).toBe(201);
    await page.goto(`${platform.url}/run/?id=${run.body.id}`);
    const panel = page.getByTestId('sla-panel');
    // Still running at its deadline (start + 1 s): missed before the run ends.
    await panel.locator('[data-sla-state="missed"]').first().waitFor({ timeout: 30_000 });
    await page.locator('h1 [data-state="succeeded"]').waitFor({ timeout: 30_000 });
    expect(await panel.getByRole('heading').textContent()).toContain('missed');
    expect(await page.getByTestId('sla-reason').textContent()).toMatch(/not finished by the deadline · since \d{4}-/);
    const sla = await platform.api('GET', `/api/v1/runs/${run.body.id}/sla`);
    expect(sla.body.state).toBe('missed');
    expect(sla.body.taskBreaches.map((b: { task: string }) => b.task)).toEqual(['crunch']);
    // The deadline in the browser's zone (Europe/Berlin here), as the API's instant.
    const berlin = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(sla.body.finishBy));
    expect(await page.getByTestId('sla-finish-by').textContent()).toContain(berlin);
    // The task past its own maxDuration (500 ms) is flagged in the panel and the table.
    await page
      .getByTestId('sla-breaches')
      .getByText(/crunch: past its maxDuration of 500 ms at \d{4}-/)
      .waitFor({ timeout: 15_000 });
    await page.locator('tr[data-task="crunch"]').getByTestId('task-breach').waitFor();
    await page
      .getByTestId('gantt-sla-legend')
      .getByText(/Dashed red line: the deadline/)
      .waitFor();
    await page.getByRole('img', { name: 'Timeline of 2 attempts' }).waitFor();
    await screenshot(page, 'run-sla-missed');
    await page.locator('#run-gantt-title').scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById('run-gantt-title')?.scrollIntoView({ block: 'start' }));
    await screenshot(page, 'run-sla-gantt');
  });

  it("backtests proposed SLAs against a job's runs: a generous one met, a tight one missed, misses link to runs", async () => {
    const job = {
      name: 'e2e-sla-backtest',
      sla: { finishBy: '23:59+1d', timezone: 'Europe/Berlin' },
      tasks: [{ key: 'work', type: 'shell', command: 'sleep 0.5' }],
    };
    expect((await platform.api('PUT', `/api/v1/jobs/${job.name}`, job)).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await platform.api('POST', `/api/v1/jobs/${job.name}/runs`, {})).body.id);
    await waitFor('both runs to finish', async () => {
      const runs = await Promise.all(ids.map((id) => platform.api('GET', `/api/v1/runs/${id}`)));
      return runs.every((r) => r.body.state === 'succeeded');
    });

    await page.goto(`${platform.url}/job/?name=${job.name}`);
    await page.getByRole('tab', { name: 'SLA' }).click();
    await page.waitForURL(/tab=sla/);
    const declared = page.getByTestId('sla-declared');
    expect(await declared.textContent()).toContain('23:59+1d');
    expect(await declared.textContent()).toContain('Europe/Berlin');
    const form = page.locator('form.sla-form');
    // The form starts from the declared SLA.
    expect(await form.getByLabel('Finish by').inputValue()).toBe('23:59+1d');

    // The API's 400 is shown on the field it names.
    await form.getByLabel('Finish by').fill('soon');
    await form.getByRole('button', { name: 'Backtest' }).click();
    await form.locator('[data-field="finishBy"] .field-error').waitFor();
    expect(await form.getByLabel('Finish by').getAttribute('aria-invalid')).toBe('true');
    expect(await form.locator('[data-field="finishBy"] .field-error').textContent()).toContain('HH:MM');
    expect(await form.locator('.form-error').textContent()).toBe(''); // said once, on the field

    // Generous: both runs would have met it.
    await form.getByLabel('Finish by').fill('23:59+1d');
    await form.getByLabel('Max duration').fill('1h');
    await form.getByRole('button', { name: 'Backtest' }).click();
    const result = page.getByTestId('sla-backtest-result');
    await result.getByText('Every run would have met it.').waitFor();
    expect(await form.locator('.field-error').count()).toBe(0);
    expect(await page.getByTestId('backtest-met').textContent()).toBe('2 of 2');
    expect(await page.getByTestId('backtest-ratio').textContent()).toBe('100.0 %');

    // Tight: neither would have; each miss links to its run.
    await form.getByLabel('Max duration').fill('100ms');
    await form.getByRole('button', { name: 'Backtest' }).click();
    await result.getByText('2 runs would have missed').first().waitFor();
    expect(await page.getByTestId('backtest-met').textContent()).toBe('0 of 2');
    expect(await page.getByTestId('backtest-ratio').textContent()).toBe('0.0 %');
    expect(await page.getByTestId('backtest-worst').textContent()).not.toBe('—');
    const misses = page.getByTestId('backtest-misses');
    for (const id of ids) await misses.locator(`tr[data-run="${id}"]`).waitFor();
    expect(await misses.textContent()).toContain('finished after the deadline');
    await screenshot(page, 'job-sla-backtest');
    // The proposal is in the address: a reload (or a shared link) tests it again.
    await page.waitForURL(/maxDuration=100ms/);
    await page.reload();
    await page.getByTestId('backtest-met').getByText('0 of 2').waitFor();
    expect(await form.getByLabel('Max duration').inputValue()).toBe('100ms');
    await misses.locator(`tr[data-run="${ids[0]}"] a`).click();
    await page.waitForURL(new RegExp(`/run/\\?id=${ids[0]}`));
    await page.getByTestId('sla-panel').locator('[data-sla-state="met"]').first().waitFor();
  });

  it('shows the agents with status, slots, labels and last heartbeat', async () => {
    await nav('Agents').click();
    await page.waitForURL(/\/agents\/$/);
    const row = page.locator('tr[data-agent="e2e-agent"]');
    await row.waitFor();
    expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('connected');
    expect(await row.textContent()).toContain('zone=a');
    expect(await row.textContent()).toContain('of 4');
    await screenshot(page, 'agents');
  });

  it('shows counts by state, running runs, failures and agent health at home', async () => {
    await nav('Home').click();
    await page.getByTestId('failures').getByRole('link', { name: 'e2e-flaky' }).waitFor();
    await page.getByTestId('agent-health').getByText('1 of 1 connected').waitFor();
    await screenshot(page, 'home');
    // Measured, not asserted: a full load of the home page until its counts and agent health show.
    const t0 = Date.now();
    await page.goto(`${platform.url}/`);
    await page.getByTestId('state-counts').waitFor();
    await page.getByTestId('agent-health').getByText('1 of 1 connected').waitFor();
    console.log(`[portal timing] home page load: ${Date.now() - t0} ms (navigation to counts and agents shown)`);
  });

  it('switches to Simplified Chinese and to UTC', async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await nav('作业').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    // The main views in Chinese (docs/screenshots/zh/; the CJK glyphs need fonts-noto-cjk, which .ci/run installs).
    await page.getByTestId('agent-health').waitFor();
    await screenshot(page, 'zh/home');
    await nav('作业').click();
    await page.locator('tr[data-job="e2e-chain"]').waitFor();
    await screenshot(page, 'zh/jobs');
    await page.goto(`${platform.url}/job/?name=e2e-chain`);
    await page.locator('.dag-node').first().waitFor();
    await screenshot(page, 'zh/job-graph');
    await page.goto(`${platform.url}/job/?name=e2e-wide&tab=grid`);
    await page.getByTestId('state-grid').waitFor();
    await screenshot(page, 'zh/job-grid');
    await page.goto(`${platform.url}/agents/`);
    await page.locator('tr[data-agent="e2e-agent"]').waitFor();
    await screenshot(page, 'zh/agents');
    await page.goto(`${platform.url}/`);
    await page.getByLabel('语言').selectOption('en');
    await nav('Jobs').waitFor();

    // The browser is in Berlin (UTC+1 in December); the UTC toggle shows the API's instants as they are.
    const agents = await platform.api('GET', '/api/v1/agents');
    const connectedAt: string = agents.body.items[0].connectedAt;
    const utcText = connectedAt.slice(0, 19).replace('T', ' ');
    await page.goto(`${platform.url}/agents/`);
    const cell = page.locator('tr[data-agent="e2e-agent"] td').last();
    await cell.waitFor();
    expect(await cell.textContent()).not.toBe(utcText);
    await page.getByLabel('UTC').check();
    await expect.poll(() => cell.textContent()).toBe(utcText);
    await page.getByLabel('UTC').uncheck();
  });

  it("reads every main view at a tablet's size (768×1024): nothing wider than the screen", async () => {
    const tablet = await browser.newContext({
      viewport: TABLET,
      locale: 'en-US',
      timezoneId: 'Europe/Berlin',
      storageState: await context.storageState(),
    });
    const tab = await tablet.newPage();
    tab.setDefaultTimeout(15_000);
    const tabErrors = pageErrors(tab);
    const run = (await platform.api('GET', '/api/v1/runs?job=e2e-chain&state=succeeded&limit=1')).body.items[0].id;
    const views: Array<[string, string, string]> = [
      ['home', '/', '[data-testid="state-counts"] canvas'],
      ['jobs', '/jobs/', 'tr[data-job="e2e-chain"]'],
      ['job', '/job/?name=e2e-chain', '.dag-node[data-task="load"]'],
      ['job-grid', '/job/?name=e2e-wide&tab=grid', '[data-testid="state-grid"] .grid-cell'],
      ['run', `/run/?id=${run}`, '[data-testid="lateness-path"]'],
      ['agents', '/agents/', 'tr[data-agent="e2e-agent"]'],
      ['quotas', '/quotas/', '[data-testid="quota-table"]'],
      ['sla-reports', '/sla/', 'main h1'],
      ['alerts', '/alerts/', 'main h1'],
      ['audit', '/audit/', 'main h1'],
      ['admin', '/admin/', 'main h1'],
    ];
    try {
      for (const [name, path, ready] of views) {
        await tab.goto(`${platform.url}${path}`);
        await tab.locator(ready).first().waitFor();
        await tab.waitForLoadState('networkidle').catch(() => undefined);
        // A page wider than the screen scrolls sideways: its right edge is cut off. So is a table's that
        // scrolls inside its frame (the grid scrolls by design: 100 runs never fit).
        const overflow = await tab.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name} is ${overflow} px wider than the tablet`).toBeLessThanOrEqual(0);
        const cut = await tab.evaluate(() =>
          [...document.querySelectorAll('.table-wrap')]
            .filter((w) => w.scrollWidth > w.clientWidth + 1)
            .map((w) => `${w.querySelector('th')?.textContent ?? '?'}: ${w.scrollWidth - w.clientWidth} px`),
        );
        expect(cut, `${name}: tables cut off at the right`).toEqual([]);
        await screenshot(tab, `tablet/${name}`);
      }
      expect(tabErrors).toEqual([]);
    } finally {
      await tablet.close();
    }
  });

  it('offers a viewer no run, rerun or cancel controls (and the API refuses them)', async () => {
    const key = await platform.api('POST', '/api/v1/api-keys', { name: 'e2e viewer', role: 'viewer' });
    expect(key.status).toBe(201);
    const viewerContext = await browser.newContext({ viewport: VIEWPORT });
    const viewer = await viewerContext.newPage();
    try {
      await viewer.goto(`${platform.url}/sign-in/`);
      await viewer.getByRole('button', { name: 'Use an API key instead' }).click();
      await viewer.getByLabel('API key').fill('bat_key_not_a_real_key_0000000000');
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => viewer.locator('#signin-error').textContent()).toContain('not accepted');
      await viewer.getByLabel('API key').fill(key.body.token);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await viewer.getByTestId('role').getByText('Viewer').waitFor();
      // A viewer's key administers nothing: no Admin in the bar.
      expect(await viewer.getByRole('banner').getByRole('link', { name: 'Admin' }).count()).toBe(0);

      await viewer.goto(`${platform.url}/job/?name=e2e-chain`);
      await viewer.locator('.dag-node[data-task="load"]').waitFor();
      expect(await viewer.getByRole('button', { name: 'Run now' }).count()).toBe(0);
      await viewer.getByRole('tab', { name: 'Definition' }).click();
      await viewer.getByRole('textbox', { name: 'Job definition (YAML)' }).getByText('extracting').waitFor();
      expect(await viewer.getByRole('textbox', { name: 'Job definition (YAML)' }).getAttribute('contenteditable')).toBe(
        'false',
      );
      for (const name of ['Save', 'Discard changes'])
        expect(await viewer.getByRole('button', { name }).count(), name).toBe(0);
      await viewer.goto(`${platform.url}/jobs/`);
      await viewer.locator('tr[data-job="e2e-chain"]').waitFor();
      expect(await viewer.getByRole('link', { name: 'New job' }).count()).toBe(0);
      await viewer.goto(`${platform.url}/job/?name=e2e-backfill&tab=backfill`);
      await viewer.getByText('Your role may not start backfills.').waitFor();
      expect(await viewer.getByRole('button', { name: 'Preview slots' }).count()).toBe(0);

      const runs = await platform.api('GET', '/api/v1/runs?job=e2e-flaky&state=failed');
      await viewer.goto(`${platform.url}/run/?id=${runs.body.items[0].id}&task=publish`);
      await viewer.locator('h1 [data-state="failed"]').waitFor();
      await viewer.getByTestId('log-text').waitFor();
      for (const name of ['Rerun failed', 'Rerun all', 'Cancel run', 'Mark succeeded', 'Mark skipped'])
        expect(await viewer.getByRole('button', { name }).count(), name).toBe(0);
      await screenshot(viewer, 'run-as-viewer');

      const refused = await fetch(`${platform.url}/api/v1/jobs/e2e-chain/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.body.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(refused.status).toBe(403);
    } finally {
      await viewerContext.close();
    }
  });

  describe('people: Admin, roles, tenants and sessions', () => {
    let dev: BrowserContext;
    let devPage: Page;
    let acmeAdminKey: string;

    afterAll(async () => {
      await dev?.close();
    });

    const member = (email: string) => page.locator(`tr[data-member="${email}"]`);

    it('adds a developer with a password in Admin', async () => {
      await nav('Admin').click();
      await page.waitForURL(/\/admin\/$/);
      await member(ADMIN.email).waitFor();
      // The admin's own row offers no change or removal.
      expect(await member(ADMIN.email).textContent()).toContain('you');
      await page.getByRole('button', { name: 'Add member' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Email').fill(DEV.email);
      await dialog.getByLabel('Name').fill(DEV.name);
      await dialog.getByLabel('Password (new accounts only)').fill(DEV.password);
      await dialog.getByLabel('Role').selectOption('developer');
      await dialog.getByRole('button', { name: 'Add member' }).click();
      await page.getByText(`${DEV.name} was added.`).waitFor();
      await member(DEV.email).waitFor();
      expect(await member(DEV.email).getByLabel(`Role of ${DEV.name}`).inputValue()).toBe('developer');
      // The filters are in the address.
      await page.getByLabel('Role', { exact: true }).selectOption('developer');
      await page.waitForURL(/role=developer/);
      expect(await member(ADMIN.email).count()).toBe(0);
      await page.getByLabel('Name or email').fill('nobody-like-this');
      await page.waitForURL(/q=nobody-like-this/);
      await page.getByText('No member matches the filters.').waitFor();
      await page.goto(`${platform.url}/admin/?tab=members`);
      await member(DEV.email).waitFor();
      await screenshot(page, 'admin');
    });

    it('signs the developer in elsewhere: no admin controls, and a tenant switcher across memberships', async () => {
      // A second tenant the developer also belongs to, as an operator there.
      const acme = await platform.api('POST', '/api/v1/tenants', { name: 'acme' });
      expect(acme.status).toBe(201);
      acmeAdminKey = acme.body.adminToken;
      const added = await platform.api(
        'POST',
        '/api/v1/users',
        { email: DEV.email, name: DEV.name, role: 'operator' },
        { authorization: `Bearer ${acme.body.adminToken}` },
      );
      expect(added.status).toBe(201);

      dev = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
      devPage = await dev.newPage();
      await devPage.goto(`${platform.url}/admin/?tab=members`);
      await devPage.waitForURL(/\/sign-in\//);
      await signIn(devPage, DEV.email, DEV.password);
      await devPage.waitForURL(/\/admin\//);
      await expect.poll(() => devPage.getByTestId('role').textContent()).toBe('Developer');
      // Only their own sessions: no members or keys, no add or create.
      await devPage.getByRole('tab', { name: 'My sessions' }).waitFor();
      for (const name of ['Members', 'API keys'])
        expect(await devPage.getByRole('tab', { name }).count(), name).toBe(0);
      for (const name of ['Add member', 'Create key'])
        expect(await devPage.getByRole('button', { name }).count(), name).toBe(0);
      await devPage.locator('tr[data-current="true"]').waitFor();

      await devPage.getByLabel('Switch tenant').selectOption('acme');
      await expect.poll(() => devPage.getByTestId('role').textContent()).toBe('Operator');
      await devPage.getByLabel('Switch tenant').selectOption('default');
      await expect.poll(() => devPage.getByTestId('role').textContent()).toBe('Developer');
    });

    it('changes the role: the member, now a viewer, is offered no New job', async () => {
      await page.reload();
      await member(DEV.email).getByLabel(`Role of ${DEV.name}`).selectOption('viewer');
      await page.getByText(`The role of ${DEV.name} was changed.`).waitFor();
      const members = await platform.api('GET', '/api/v1/users');
      expect(members.body.items.find((m: { email: string }) => m.email === DEV.email).role).toBe('viewer');

      await devPage.goto(`${platform.url}/jobs/`);
      await expect.poll(() => devPage.getByTestId('role').textContent()).toBe('Viewer');
      await devPage.locator('tr[data-job="e2e-chain"]').waitFor();
      expect(await devPage.getByRole('link', { name: 'New job' }).count()).toBe(0);
    });

    it('shows what the API refuses: the last tenant admin of a tenant is not demoted', async () => {
      const owner = { email: 'owner@acme.example', name: 'Acme Owner', role: 'tenant_admin' };
      const auth = { authorization: `Bearer ${acmeAdminKey}` };
      expect((await platform.api('POST', '/api/v1/users', owner, auth)).status).toBe(201);
      const keyContext = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
      try {
        const p = await keyContext.newPage();
        await p.goto(`${platform.url}/sign-in/?method=api-key&next=%2Fadmin%2F`);
        await p.getByLabel('API key').fill(acmeAdminKey);
        await p.getByRole('button', { name: 'Sign in' }).click();
        await p.waitForURL(/\/admin\/$/);
        await expect.poll(() => p.getByTestId('tenant').textContent()).toBe('acme');
        // A key is no person: no sessions of its own.
        expect(await p.getByRole('tab', { name: 'My sessions' }).count()).toBe(0);
        await p
          .locator(`tr[data-member="${owner.email}"]`)
          .getByLabel(`Role of ${owner.name}`)
          .selectOption('developer');
        await expect.poll(() => p.getByTestId('admin-error').textContent()).toContain('Not possible');
        const members = await platform.api('GET', '/api/v1/users', undefined, auth);
        expect(members.body.items.find((m: { email: string }) => m.email === owner.email).role).toBe('tenant_admin');
      } finally {
        await keyContext.close();
      }
    });

    it('creates an API key with a role, shows it once with a copy button, and revokes it', async () => {
      await page.getByRole('tab', { name: 'API keys' }).click();
      await page.waitForURL(/tab=keys/);
      await page.getByRole('button', { name: 'Create key' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Name').fill('e2e deploy');
      // Nobody issues above their own rank, and platform admin keys only at bootstrap.
      const offered = await dialog.getByLabel('Role').locator('option').allTextContents();
      expect(offered).toEqual(['Tenant admin', 'Developer', 'Operator', 'Viewer', 'Auditor']);
      await dialog.getByLabel('Role').selectOption('operator');
      await dialog.getByRole('button', { name: 'Create key' }).click();
      const issued = page.getByTestId('issued-secret');
      await issued.waitFor();
      const token = await issued.getByLabel('The new API key').inputValue();
      expect(token).toMatch(/^bat_key_/);
      await issued.getByRole('button', { name: 'Copy' }).click();
      await issued.getByText('Copied to the clipboard.').waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
      const row = page.locator('tr[data-credential="e2e deploy"]');
      expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('active');
      // The list never shows the key again.
      expect(await page.getByTestId('keys-table').textContent()).not.toContain(token);
      await screenshot(page, 'admin-keys');
      await issued.getByRole('button', { name: 'Done' }).click();
      expect(await page.getByTestId('issued-secret').count()).toBe(0);

      const asKey = () => fetch(`${platform.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect((await asKey()).status).toBe(200);
      await row.getByRole('button', { name: 'Revoke e2e deploy' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await expect.poll(() => row.locator('[data-status]').getAttribute('data-status')).toBe('revoked');
      expect((await asKey()).status).toBe(401);
      await page.getByLabel('Status').selectOption('active');
      await page.waitForURL(/status=active/);
      expect(await row.count()).toBe(0);
    });

    it('creates an agent token shown once, and revokes it', async () => {
      await page.getByRole('tab', { name: 'Agent tokens' }).click();
      await page.waitForURL(/tab=tokens/);
      // The e2e agent's token, issued through the API before the tests, is listed.
      await page.getByTestId('tokens-table').waitFor();
      await page.getByRole('button', { name: 'Create token' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Agent name').fill('e2e-edge');
      await dialog.getByRole('button', { name: 'Create token' }).click();
      const issued = page.getByTestId('issued-secret');
      expect(await issued.getByLabel('The new agent token').inputValue()).toMatch(/^bat_agt_/);
      const row = page.locator('tr[data-credential="e2e-edge"]');
      await row.getByRole('button', { name: 'Revoke e2e-edge' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await expect.poll(() => row.locator('[data-status]').getAttribute('data-status')).toBe('revoked');
      const tokens = await platform.api('GET', '/api/v1/agent-tokens');
      expect(tokens.body.items.find((x: { name: string }) => x.name === 'e2e-edge').revokedAt).not.toBeNull();
    });

    it("lists the user's own sessions and revokes one: that browser is sent to sign in, and back", async () => {
      const other = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
      try {
        const otherPage = await other.newPage();
        await otherPage.goto(`${platform.url}/agents/?status=connected`);
        await signIn(otherPage, ADMIN.email, ADMIN.password);
        await otherPage.waitForURL(/\/agents\/\?status=connected/);

        await page.goto(`${platform.url}/admin/?tab=sessions`);
        const rows = page.getByTestId('sessions-table').locator('tbody tr');
        await expect.poll(() => rows.count()).toBe(2);
        await screenshot(page, 'admin-sessions');
        await page.locator('tr:not([data-current]) button', { hasText: 'Revoke' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
        await page.getByText('The session was revoked.').waitFor();
        await expect.poll(() => rows.count()).toBe(1);

        // The other browser's next call is refused: it lands on sign-in saying why, and returns after.
        await otherPage.getByRole('banner').getByRole('link', { name: 'Jobs', exact: true }).click();
        await otherPage.getByTestId('session-ended').waitFor();
        expect(new URL(otherPage.url()).searchParams.get('next')).toBe('/jobs/');
        await signIn(otherPage, ADMIN.email, ADMIN.password);
        await otherPage.waitForURL(/\/jobs\/$/);

        // Revoked again while that browser is away: reloading the page says so too.
        await page.reload();
        await expect.poll(() => rows.count()).toBe(2);
        await page.locator('tr:not([data-current]) button', { hasText: 'Revoke' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
        await expect.poll(() => rows.count()).toBe(1);
        await otherPage.reload();
        await otherPage.getByTestId('session-ended').waitFor();
        expect(new URL(otherPage.url()).searchParams.get('next')).toBe('/jobs/');
      } finally {
        await other.close();
      }
    });

    it('signs out: the session ends on the server too', async () => {
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(/\/sign-in\//);
      expect(await page.getByTestId('session-ended').count()).toBe(0);
      await page.goto(`${platform.url}/admin/`);
      await page.waitForURL(/\/sign-in\/\?next=%2Fadmin%2F/);
      const cookies = await context.cookies(platform.url);
      expect(cookies.find((c) => c.name === 'baton_session')).toBeUndefined();
    });
  });

  it('raised no uncaught errors in the page', () => {
    expect(errors).toEqual([]);
  });
});
