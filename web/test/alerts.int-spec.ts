import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, freePort, startPlatform, waitFor } from '@baton/testing';
import { VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

// The Alerts view against a real `baton standalone` with its local agent and
// a real HTTP receiver: create a webhook channel and a rule for run_failed in
// the browser (seeing the API's field errors at the fields), make a job fail,
// and see the alert in the history (and at the receiver). A viewer is offered
// no controls that change alerts. Screenshots: docs/screenshots/alerts.png
// (and zh/alerts.png).

const ADMIN = { email: 'admin@alerts.example', password: 'alerts-admin-password-1' };
const SECRET = 'whsec-portal-0123456789';

describe('the Alerts view', () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let receiver: Server;
  let port: number;
  const got: Array<{ headers: IncomingHttpHeaders; body: { event: string; job: string; runId: string } }> = [];

  beforeAll(async () => {
    port = await freePort();
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        got.push({ headers: req.headers, body: JSON.parse(raw) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
    platform = await startPlatform({
      databaseUrl: null,
      localAgent: true,
      env: {
        BATON_ADMIN_EMAIL: ADMIN.email,
        BATON_ADMIN_PASSWORD: ADMIN.password,
        // the receiver is on 127.0.0.1
        BATON_ALERTS_ALLOW_PRIVATE_URLS: 'true',
      },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US', timezoneId: 'UTC' });
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
    await platform?.stop();
    await new Promise((r) => receiver?.close(r));
  });

  const field = (form: string, name: string) => page.locator(`[data-testid="${form}"] [data-field="${name}"]`);

  it('creates a webhook channel, showing the field the API refuses at that field', async () => {
    await page.getByRole('banner').getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.waitForURL(/\/alerts\/$/);
    await page.getByText('No alert channels yet.').waitFor();
    await page.getByRole('button', { name: 'New channel' }).click();
    const form = page.getByTestId('channel-form');
    await form.getByLabel('Name').fill('ops-hook');
    await form.getByLabel('Type').selectOption('webhook');
    await form.getByLabel('URL').fill(`http://127.0.0.1:${port}/hook`);
    await form.getByLabel('Signing secret').fill('too-short');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => field('channel-form', 'secret').locator('.field-error').textContent())
      .toBe('must be at least 16 characters');
    expect(await form.getByLabel('Signing secret').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Signing secret').fill(SECRET);
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.locator('[data-testid="alert-channels"] tr[data-channel="ops-hook"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(`http://127.0.0.1:${port}/hook`);
    expect(await row.locator('td').nth(2).textContent()).toBe('yes');
    // The secret is never shown back, in the page or in what the API answers.
    expect(await page.locator('main').textContent()).not.toContain(SECRET);
    expect(JSON.stringify((await platform.api('GET', '/api/v1/alert-channels')).body)).not.toContain(SECRET);
  });

  it('creates a rule for run_failed, with the throttle refused at its field first', async () => {
    await page.getByRole('tab', { name: 'Rules' }).click();
    await page.waitForURL(/tab=rules/);
    await page.getByText('No alert rules yet.').waitFor();
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByTestId('rule-form');
    await form.getByLabel('Name').fill('failures');
    expect(await form.getByLabel('Run failed').isChecked()).toBe(true);
    await form.getByLabel('ops-hook').check();
    await form.getByLabel('Jobs').fill('portal-*');
    await form.getByLabel('Throttle').fill('soon');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => field('rule-form', 'throttle').locator('.field-error').textContent())
      .toContain('must be a duration');
    await form.getByLabel('Throttle').fill('10m');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.locator('[data-testid="alert-rules"] tr[data-rule="failures"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('Run failed');
    expect(await row.textContent()).toContain('portal-*');
    expect(await row.textContent()).toContain('10m');
    expect((await platform.api('GET', '/api/v1/alert-rules/failures')).body).toMatchObject({
      events: ['run_failed'],
      jobs: ['portal-*'],
      channels: ['ops-hook'],
      throttleMs: 600_000,
    });
  });

  it('shows the alert of a failed run in the history, with the filters in the URL', async () => {
    expect(
      (
        await platform.api('PUT', '/api/v1/jobs/portal-breaks', {
          name: 'portal-breaks',
          tasks: [{ key: 'boom', type: 'shell', command: 'echo going down; exit 3' }],
        })
      ).status,
    ).toBe(201);
    const runId = (await platform.api('POST', '/api/v1/jobs/portal-breaks/runs', {})).body.id as string;
    await waitFor('the webhook', async () => got.find((g) => g.body.runId === runId));
    expect(got[0]!.body).toMatchObject({ event: 'run_failed', job: 'portal-breaks' });
    expect(got[0]!.headers['x-baton-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);

    await page.getByRole('tab', { name: 'History' }).click();
    await page.waitForURL(/tab=history/);
    const item = page.locator('[data-testid="alert-history"] tr[data-event="run_failed"]');
    await item.waitFor();
    await expect.poll(() => item.getAttribute('data-state'), { timeout: 20_000 }).toBe('sent');
    expect(await item.textContent()).toContain('portal-breaks');
    expect(await item.textContent()).toContain('ops-hook');
    expect(await item.locator(`a[href*="/run/?id=${runId}"]`).count()).toBe(1);
    await screenshot(page, 'alerts');

    await page.getByLabel('State', { exact: true }).selectOption('failed');
    await page.waitForURL(/state=failed/);
    await page.getByText('No alert matches these filters.').waitFor();
    await page.goto(`${platform.url}/alerts/?tab=history&rule=failures&job=portal-breaks&state=sent`);
    await item.waitFor();
    await expect.poll(() => page.getByLabel('Rule', { exact: true }).inputValue()).toBe('failures');
    expect(await page.getByLabel('Job', { exact: true }).inputValue()).toBe('portal-breaks');

    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '告警', exact: true }).waitFor();
    await item.waitFor();
    await screenshot(page, 'zh/alerts');
    await page.getByLabel('语言').selectOption('en');
  });

  it('loads more history a page at a time', async () => {
    // 55 more failures of a job the rule does not throttle against each other: one per job name.
    for (let i = 0; i < 55; i++) {
      const name = `portal-many-${i}`;
      await platform.api('PUT', `/api/v1/jobs/${name}`, {
        name,
        tasks: [{ key: 'boom', type: 'shell', command: 'exit 1' }],
      });
      await platform.api('POST', `/api/v1/jobs/${name}/runs`, {});
    }
    await waitFor(
      '56 alerts',
      async () => ((await platform.api('GET', '/api/v1/alerts?limit=100')).body.items.length as number) >= 56,
      90_000,
    );
    await page.goto(`${platform.url}/alerts/?tab=history`);
    const rows = page.locator('[data-testid="alert-history"] tr[data-alert]');
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows.count()).toBe(56);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
  }, 120_000);

  it('offers a viewer no controls that change channels or rules', async () => {
    const key = await platform.api('POST', '/api/v1/api-keys', { name: 'alerts viewer', role: 'viewer' });
    expect(key.status).toBe(201);
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
    const viewer = await context.newPage();
    try {
      await viewer.goto(`${platform.url}/sign-in/?method=api-key`);
      await viewer.getByLabel('API key').fill(key.body.token);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await viewer.getByTestId('role').waitFor();
      await viewer.goto(`${platform.url}/alerts/`);
      await viewer.locator('[data-testid="alert-channels"] tr[data-channel="ops-hook"]').waitFor();
      expect(await viewer.getByRole('button', { name: 'New channel' }).count()).toBe(0);
      expect(await viewer.getByRole('button', { name: /^(Edit|Delete) / }).count()).toBe(0);
      await viewer.getByRole('tab', { name: 'Rules' }).click();
      await viewer.locator('[data-testid="alert-rules"] tr[data-rule="failures"]').waitFor();
      expect(await viewer.getByRole('button', { name: 'New rule' }).count()).toBe(0);
      expect(await viewer.getByRole('button', { name: /^(Edit|Delete) / }).count()).toBe(0);
    } finally {
      await context.close();
    }
    expect(errors).toEqual([]);
  });
});
