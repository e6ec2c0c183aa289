import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform, waitFor } from '@baton/testing';
import { VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

// A platform admin's tenant switcher against a real `baton standalone`: it
// lists every tenant, and acting inside one sends X-Baton-Tenant on every call
// (what the API shows and records is that tenant's), with a banner that says
// so on every page. Screenshot: docs/screenshots/tenant-acting.png.

const ADMIN = { email: 'admin@switch.example', password: 'switch-admin-password-1' };

describe("a platform admin's tenant switcher", () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let acmeKey: string;

  beforeAll(async () => {
    platform = await startPlatform({
      databaseUrl: null,
      env: { BATON_ADMIN_EMAIL: ADMIN.email, BATON_ADMIN_PASSWORD: ADMIN.password },
    });
    const job = (name: string) => ({ name, tasks: [{ key: 'a', type: 'noop' }] });
    expect((await platform.api('PUT', '/api/v1/jobs/default-job', job('default-job'))).status).toBe(201);
    acmeKey = (await platform.api('POST', '/api/v1/tenants', { name: 'acme' })).body.adminToken;
    expect((await platform.api('POST', '/api/v1/tenants', { name: 'globex' })).status).toBe(201);
    const acme = { authorization: `Bearer ${acmeKey}` };
    expect((await platform.api('PUT', '/api/v1/jobs/acme-job', job('acme-job'), acme)).status).toBe(201);
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US', timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    errors = pageErrors(page);
    await page.goto(`${platform.url}/sign-in/?next=%2Fjobs%2F`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/jobs\/$/);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  const switcher = () => page.getByLabel('Tenant to act in');
  const banner = () => page.getByTestId('acting-banner');

  it('lists every tenant, the own one first', async () => {
    await page.locator('tr[data-job="default-job"]').waitFor();
    await expect
      .poll(() => switcher().locator('option').allTextContents())
      .toEqual(['default (own)', 'acme', 'globex']);
    expect(await banner().count()).toBe(0);
  });

  it('acts inside the tenant picked: its data, X-Baton-Tenant on every call, a banner on every page', async () => {
    const sent: Array<string | null> = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/v1/jobs')) sent.push(r.headers()['x-baton-tenant'] ?? null);
    });
    await switcher().selectOption({ label: 'acme' });
    await banner().getByText('Acting in tenant acme as platform admin').waitFor();
    await page.locator('tr[data-job="acme-job"]').waitFor();
    expect(await page.locator('tr[data-job="default-job"]').count()).toBe(0);
    const acmeId = (await platform.api('GET', '/api/v1/whoami', undefined, { authorization: `Bearer ${acmeKey}` })).body
      .tenant.id as string;
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.at(-1)).toBe(acmeId);
    await screenshot(page, 'tenant-acting');

    // A change made while acting is that tenant's, and its audit log says who acted from where.
    await page.goto(`${platform.url}/alerts/`);
    await banner().waitFor(); // kept for this tab across pages and reloads
    await page.getByRole('button', { name: 'New channel' }).click();
    const form = page.getByTestId('channel-form');
    await form.getByLabel('Name').fill('acme-hook');
    await form.getByLabel('URL').fill('https://hooks.example.com/acme');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr[data-channel="acme-hook"]').waitFor();
    const acme = { authorization: `Bearer ${acmeKey}` };
    expect((await platform.api('GET', '/api/v1/alert-channels/acme-hook', undefined, acme)).status).toBe(200);
    expect((await platform.api('GET', '/api/v1/alert-channels/acme-hook')).status).toBe(404);
    const put = await waitFor('the audit record in acme', async () => {
      const items = (await platform.api('GET', '/api/v1/audit?limit=20', undefined, acme)).body.items as unknown[];
      return items.find((r) => JSON.stringify(r).includes('/api/v1/alert-channels/acme-hook'));
    });
    expect(JSON.stringify(put)).toContain('actingFrom');
  });

  it('comes back to the own tenant', async () => {
    await page.goto(`${platform.url}/jobs/`);
    await banner().getByRole('button', { name: 'Back to default' }).click();
    await page.locator('tr[data-job="default-job"]').waitFor();
    expect(await banner().count()).toBe(0);
    expect(await switcher().inputValue()).toBe((await platform.api('GET', '/api/v1/whoami')).body.tenant.id as string);
    await page.reload();
    await page.locator('tr[data-job="default-job"]').waitFor();
    expect(await banner().count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
