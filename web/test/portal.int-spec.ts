import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, type Platform, startAgentProcess, startPlatform, waitFor } from '@baton/testing';
import { VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

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
    platform = await startPlatform({ databaseUrl: null });
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

  it('signs in with an API key, refusing a wrong one', async () => {
    await page.goto(`${platform.url}/jobs/`);
    await page.waitForURL(/\/sign-in\/\?next=/);
    await screenshot(page, 'sign-in');
    await page.getByLabel('API key').fill('bat_key_not_a_real_key_0000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#signin-error').textContent()).toContain('not accepted');
    await page.getByLabel('API key').fill(platform.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/jobs\/$/);
    await expect.poll(() => page.getByTestId('role').textContent()).toBe('Platform admin');
    // No jobs yet: the empty state tells how to add one.
    await page.getByText('No jobs yet.').waitFor();
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
  });

  it('switches to Simplified Chinese and to UTC', async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await nav('作业').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
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

  it('offers a viewer no run, rerun or cancel controls (and the API refuses them)', async () => {
    const key = await platform.api('POST', '/api/v1/api-keys', { name: 'e2e viewer', role: 'viewer' });
    expect(key.status).toBe(201);
    const viewerContext = await browser.newContext({ viewport: VIEWPORT });
    const viewer = await viewerContext.newPage();
    try {
      await viewer.goto(`${platform.url}/sign-in/`);
      await viewer.getByLabel('API key').fill(key.body.token);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await viewer.getByTestId('role').getByText('Viewer').waitFor();

      await viewer.goto(`${platform.url}/job/?name=e2e-chain`);
      await viewer.locator('.dag-node[data-task="load"]').waitFor();
      expect(await viewer.getByRole('button', { name: 'Run now' }).count()).toBe(0);

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

  it('raised no uncaught errors in the page', () => {
    expect(errors).toEqual([]);
  });
});
