import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, type Platform, startAgentProcess, startPlatform, waitFor } from '@baton/testing';
import { VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

// The Quotas and usage view against a real `baton standalone` with a real
// agent: each quota against current use, usage per day, a platform admin
// editing a quota, and a viewer offered no editor. Screenshot:
// docs/screenshots/quotas.png.

const ADMIN = { email: 'admin@quotas.example', password: 'quotas-admin-password-1' };

describe('the Quotas and usage view', () => {
  let platform: Platform;
  let agent: AgentProcess;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'baton-web-quotas-'));
    platform = await startPlatform({
      databaseUrl: null,
      env: { BATON_ADMIN_EMAIL: ADMIN.email, BATON_ADMIN_PASSWORD: ADMIN.password },
    });
    agent = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name: 'quotas-agent',
      workDir: join(work, 'agent'),
    });
    expect(
      (await platform.api('PUT', '/api/v1/tenants/default/quota', { maxJobs: 5, maxConcurrentRuns: 4, maxAgents: 3 }))
        .status,
    ).toBe(200);
    for (const [name, command] of [
      ['quota-ok', 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'],
      ['quota-fails', 'exit 1'],
    ] as const) {
      expect(
        (await platform.api('PUT', `/api/v1/jobs/${name}`, { name, tasks: [{ key: 'a', type: 'shell', command }] }))
          .status,
      ).toBe(201);
    }
    const ids = [];
    for (const job of ['quota-ok', 'quota-ok', 'quota-fails'])
      ids.push((await platform.api('POST', `/api/v1/jobs/${job}/runs`, {})).body.id as string);
    await waitFor(
      'the runs to end',
      async () => {
        for (const id of ids) {
          const r = await platform.api('GET', `/api/v1/runs/${id}`);
          if (r.body.state !== 'succeeded' && r.body.state !== 'failed') return null;
        }
        return true;
      },
      30_000,
    );
    browser = await launchBrowser();
    const context = await browser.newContext({
      viewport: VIEWPORT,
      locale: 'en-US',
      timezoneId: 'UTC',
      acceptDownloads: true,
    });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    errors = pageErrors(page);
    await page.goto(`${platform.url}/sign-in/`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('role').waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await platform?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const used = (quota: string) =>
    page.locator(`[data-testid="quota-table"] tr[data-quota="${quota}"] [data-field="used"]`).textContent();
  const limit = (quota: string) =>
    page.locator(`[data-testid="quota-table"] tr[data-quota="${quota}"] [data-field="limit"]`).textContent();

  it('shows each quota against current use and the usage per day', async () => {
    await page.getByRole('banner').getByRole('link', { name: 'Quotas', exact: true }).click();
    await page.waitForURL(/\/quotas\/$/);
    await page.locator('[data-testid="quota-table"] tr[data-quota="maxJobs"]').waitFor();
    expect(await used('maxJobs')).toBe('2 of 5');
    expect(await used('maxAgents')).toBe('1 of 3');
    expect(await limit('runsPerMinute')).toBe('not limited');
    await page.getByTestId('usage-chart').waitFor();
    const total = (k: string) => page.locator(`[data-testid="usage-totals"] [data-field="${k}"] dd`).textContent();
    expect(await total('runsStarted')).toBe('3');
    expect(await total('runsSucceeded')).toBe('2');
    expect(await total('runsFailed')).toBe('1');
    expect(errors).toEqual([]);
  });

  it('shows the usage per day as a table and downloads the range in the address as CSV', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${platform.url}/quotas/?from=${from}&to=${today}`);
    const table = page.getByTestId('usage-table');
    await table.locator(`tr[data-day="${today}"]`).waitFor();
    // Seven days, newest first, the totals at the foot.
    expect(await table.locator('tbody tr').count()).toBe(7);
    expect(await table.locator('tbody tr').first().getAttribute('data-day')).toBe(today);
    const cell = (day: string, k: string) => table.locator(`tr[data-day="${day}"] [data-field="${k}"]`).textContent();
    expect(await cell(today, 'runsStarted')).toBe('3');
    expect(await cell(today, 'runsSucceeded')).toBe('2');
    expect(await cell(today, 'runsFailed')).toBe('1');
    expect(Number(await cell(today, 'taskSeconds'))).toBeGreaterThan(0);
    expect(await cell(from, 'runsStarted')).toBe('0');
    expect(await cell('total', 'runsStarted')).toBe('3');
    await expect.poll(() => table.getByRole('columnheader', { name: 'Agent-hours' }).count()).toBe(1);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('usage-csv').click()]);
    expect(csv.suggestedFilename()).toBe(`usage-${from}-${today}.csv`);
    const lines = readFileSync((await csv.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toBe('day,runsStarted,runsSucceeded,runsFailed,taskSeconds,cpuSeconds,agentHours');
    expect(lines).toHaveLength(8);
    expect(lines[1]).toMatch(new RegExp(`^${from},0,0,0,`));
    expect(lines[7]).toMatch(new RegExp(`^${today},3,2,1,`));
    await table.scrollIntoViewIfNeeded();
    await screenshot(page, 'quotas-usage');
    // Changing the range changes the address and the table.
    await page.getByLabel('From', { exact: true }).fill(today);
    await page.waitForURL(new RegExp(`from=${today}`));
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    await page.goto(`${platform.url}/quotas/`);
    expect(errors).toEqual([]);
  });

  it('lets a platform admin edit the quotas (a blank field lifts a limit)', async () => {
    const editor = page.getByTestId('quota-editor');
    await editor.getByLabel('Jobs', { exact: true }).fill('7');
    await editor.getByLabel('Agents connected').fill('');
    await editor.getByRole('button', { name: 'Save quotas' }).click();
    await editor.getByText('Quotas saved.').waitFor();
    await expect.poll(() => used('maxJobs')).toBe('2 of 7');
    await expect.poll(() => limit('maxAgents')).toBe('not limited');
    const q = await platform.api('GET', '/api/v1/quota');
    expect(q.body).toMatchObject({ maxJobs: 7, maxAgents: null, maxConcurrentRuns: 4 });
    // A value the API refuses shows its reason, naming the field.
    await editor.getByLabel('Runs at once').fill('0');
    await editor.getByRole('button', { name: 'Save quotas' }).click();
    await expect.poll(() => editor.getByRole('alert').textContent()).toContain('maxConcurrentRuns');
    await editor.getByLabel('Runs at once').fill('4');
    await editor.getByRole('button', { name: 'Save quotas' }).click();
    await editor.getByText('Quotas saved.').waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'quotas');
    expect(errors).toEqual([]);
  });

  it('offers a viewer the quotas and usage but no editor', async () => {
    const key = await platform.api('POST', '/api/v1/api-keys', { name: 'quotas viewer', role: 'viewer' });
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US', timezoneId: 'UTC' });
    const viewer = await context.newPage();
    try {
      await viewer.goto(`${platform.url}/sign-in/`);
      await viewer.getByRole('button', { name: 'Use an API key instead' }).click();
      await viewer.getByLabel('API key').fill(key.body.token);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await viewer.getByTestId('role').getByText('Viewer').waitFor();
      await viewer.goto(`${platform.url}/quotas/`);
      await viewer.locator('[data-testid="quota-table"] tr[data-quota="maxJobs"]').waitFor();
      await viewer.getByTestId('usage-chart').waitFor();
      expect(await viewer.getByTestId('quota-editor').count()).toBe(0);
      // And the API refuses it the edit.
      const put = await platform.api(
        'PUT',
        '/api/v1/tenants/default/quota',
        { maxJobs: 1 },
        { authorization: `Bearer ${key.body.token}` },
      );
      expect(put.status).toBe(403);
    } finally {
      await context.close();
    }
  });

  it('shows the view in Chinese', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN', timezoneId: 'UTC' });
    const zh = await context.newPage();
    try {
      await zh.goto(`${platform.url}/sign-in/`);
      await zh.locator('input[type="email"]').fill(ADMIN.email);
      await zh.locator('input[type="password"]').fill(ADMIN.password);
      await zh.locator('button[type="submit"]').click();
      await zh.getByTestId('role').waitFor();
      await zh.goto(`${platform.url}/quotas/`);
      await zh.getByRole('heading', { name: '配额与用量' }).waitFor();
      await zh.locator('[data-testid="quota-table"] tr[data-quota="maxJobs"]').getByText('作业数').waitFor();
    } finally {
      await context.close();
    }
  });
});
