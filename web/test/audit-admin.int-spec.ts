import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, openPlatformDatabase, startPlatform, waitFor } from '@baton/testing';
import { VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

// The Audit view (an auditor reviews, filters, pages, verifies and exports) and
// Admin → Tenants (a platform admin suspends and resumes a tenant) against a
// real `baton standalone`. Screenshots: docs/screenshots/audit.png and admin-tenants.png.

const ADMIN = { email: 'admin@audit.example', password: 'audit-admin-password-1' };
const JOBS = 55; // more than one page (50) of records

describe('the Audit view and Admin → Tenants', () => {
  let platform: Platform;
  let browser: Browser;
  let auditorKey: string;
  let viewerKey: string;
  let acmeKey: string;

  beforeAll(async () => {
    platform = await startPlatform({
      databaseUrl: null,
      env: { BATON_ADMIN_EMAIL: ADMIN.email, BATON_ADMIN_PASSWORD: ADMIN.password },
    });
    for (let i = 0; i < JOBS; i++) {
      const name = `job-${String(i).padStart(2, '0')}`;
      expect(
        (await platform.api('PUT', `/api/v1/jobs/${name}`, { name, tasks: [{ key: 'a', type: 'noop' }] })).status,
      ).toBe(201);
    }
    expect((await platform.api('PUT', '/api/v1/jobs/broken', { tasks: 'nope' })).status).toBe(400);
    auditorKey = (await platform.api('POST', '/api/v1/api-keys', { name: 'e2e auditor', role: 'auditor' })).body.token;
    viewerKey = (await platform.api('POST', '/api/v1/api-keys', { name: 'e2e viewer', role: 'viewer' })).body.token;
    acmeKey = (await platform.api('POST', '/api/v1/tenants', { name: 'acme' })).body.adminToken;
    await waitFor('the audit records', async () => {
      const r = await platform.api('GET', '/api/v1/audit?limit=100');
      return r.body.items.length >= JOBS + 3 ? true : null;
    });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  /** A fresh browser signed in with an API key (or as the admin user), on `path`. */
  const open = async (
    path: string,
    key: string | null,
  ): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> => {
    const context = await browser.newContext({
      viewport: VIEWPORT,
      locale: 'en-US',
      timezoneId: 'UTC',
      acceptDownloads: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = pageErrors(page);
    await page.goto(`${platform.url}/sign-in/${key ? '?method=api-key' : ''}`);
    if (key) {
      await page.getByLabel('API key').fill(key);
    } else {
      await page.getByLabel('Email').fill(ADMIN.email);
      await page.getByLabel('Password').fill(ADMIN.password);
    }
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('role').waitFor();
    await page.goto(`${platform.url}${path}`);
    return { page, errors, close: () => context.close() };
  };
  const navLink = (page: Page, name: string) => page.getByRole('banner').getByRole('link', { name, exact: true });

  it('lets an auditor review the log: filters in the address, Load more, Verify chain, CSV and checkpoint exports', async () => {
    const { page, errors, close } = await open('/', auditorKey);
    try {
      await page.getByTestId('role').getByText('Auditor').waitFor();
      await navLink(page, 'Audit').click();
      await page.waitForURL(/\/audit\/$/);
      const rows = page.locator('[data-testid="audit-table"] tbody tr');
      await rows.first().waitFor();
      expect(await rows.count()).toBe(50);
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => rows.count()).toBeGreaterThan(50);
      await page.getByText(/records shown/).waitFor();

      // Filters: applied to the address; a reload shows the same list.
      await page.getByLabel('Action').fill('PUT /api/v1/jobs');
      await page.getByLabel('Status').selectOption('4xx');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/action=PUT(\+|%20)%2Fapi%2Fv1%2Fjobs.*status=4xx|status=4xx.*action=PUT/);
      await expect.poll(() => rows.count()).toBe(1);
      expect(await rows.first().textContent()).toContain('/api/v1/jobs/broken');
      await page.reload();
      await expect.poll(() => rows.count()).toBe(1);
      expect(await page.getByLabel('Action').inputValue()).toBe('PUT /api/v1/jobs');
      await page.getByLabel('Target').fill('nothing-like-it');
      await page.getByLabel('Target').press('Enter'); // the keyboard applies too
      await page.getByText('No record matches the filters.').waitFor();
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.waitForURL(/\/audit\/$/);
      await expect.poll(() => rows.count()).toBe(50);

      // Verify chain: the result with its counts.
      await page.getByRole('button', { name: 'Verify chain' }).click();
      const verdict = page.getByTestId('audit-verdict');
      await verdict.waitFor();
      expect(await verdict.getAttribute('data-ok')).toBe('true');
      expect(await verdict.textContent()).toMatch(/The chain holds: \d+ record\(s\) checked\./);
      expect(await verdict.textContent()).toContain('Checkpoints checked');

      // Export CSV of the filtered records.
      await page.goto(`${platform.url}/audit/?status=4xx`);
      await expect.poll(() => rows.count()).toBe(1);
      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export CSV' }).click(),
      ]);
      expect(csv.suggestedFilename()).toBe('audit-default.csv');
      const text = readFileSync((await csv.path())!, 'utf8').split('\n');
      expect(text[0]).toBe('seq,occurredAt,actor,action,target,status,detail,hash');
      expect(text.slice(1).filter(Boolean)).toEqual([expect.stringMatching(/,\/api\/v1\/jobs\/broken,400,/)]);

      // Export checkpoints: a new one of the head, then all of them as JSON.
      const [cps] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export checkpoints' }).click(),
      ]);
      expect(cps.suggestedFilename()).toBe('audit-checkpoints-default.json');
      const saved = JSON.parse(readFileSync((await cps.path())!, 'utf8'));
      expect(saved.items.length).toBeGreaterThanOrEqual(1);
      expect(saved.items.at(-1)).toMatchObject({
        seq: expect.any(Number),
        signature: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      await page.getByText(/Signed a checkpoint of the head/).waitFor();

      await page.goto(`${platform.url}/audit/`);
      await rows.first().waitFor();
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await page.getByTestId('audit-verdict').waitFor();
      await screenshot(page, 'audit');

      // A record rewritten behind the API's back: the result names it and why.
      const where = `seq = 5 AND tenant_id = (SELECT id FROM tenants WHERE name = 'default')`;
      const tamper = async (status?: number): Promise<number> => {
        const db = await openPlatformDatabase({ databaseUrl: null, dataDir: platform.dataDir });
        try {
          const [row] = (await db.manager.query(`SELECT status FROM audit_events WHERE ${where}`)) as Array<{
            status: number;
          }>;
          if (status !== undefined)
            await db.manager.query(`UPDATE audit_events SET status = ? WHERE ${where}`, [status]);
          return Number(row!.status);
        } finally {
          await db.close();
        }
      };
      const original = await tamper();
      await tamper(299);
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await expect.poll(() => verdict.getAttribute('data-ok')).toBe('false');
      expect(await verdict.textContent()).toMatch(/The chain is broken at record 5: record was modified/);
      await tamper(original);
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await expect.poll(() => verdict.getAttribute('data-ok')).toBe('true');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('offers a viewer no Audit view, and a tenant admin no Tenants tab', async () => {
    const viewer = await open('/', viewerKey);
    try {
      await viewer.page.getByTestId('role').getByText('Viewer').waitFor();
      await navLink(viewer.page, 'Jobs').waitFor();
      expect(await navLink(viewer.page, 'Audit').count()).toBe(0);
    } finally {
      await viewer.close();
    }
    const acme = await open('/admin/', acmeKey);
    try {
      await acme.page.getByRole('tab', { name: 'Members' }).waitFor();
      await navLink(acme.page, 'Audit').waitFor(); // a tenant admin reads its audit log
      expect(await acme.page.getByRole('tab', { name: 'Tenants' }).count()).toBe(0);
    } finally {
      await acme.close();
    }
  });

  it('lets a platform admin suspend a tenant with a reason and resume it; API keys show expiry and last use', async () => {
    const { page, errors, close } = await open('/admin/', null);
    try {
      await page.getByRole('tab', { name: 'Tenants' }).click();
      await page.waitForURL(/tab=tenants/);
      const row = page.locator('tr[data-tenant="acme"]');
      await row.waitFor();
      expect(await row.getAttribute('data-state')).toBe('active');
      await row.getByRole('button', { name: 'Suspend acme' }).click();
      const dialog = page.getByRole('dialog');
      // The reason is required: confirming without one does nothing.
      await dialog.getByRole('button', { name: 'Suspend' }).click();
      expect(await row.getAttribute('data-state')).toBe('active');
      await dialog.getByLabel('Reason (told to its callers)').fill('invoice overdue');
      await dialog.getByRole('button', { name: 'Suspend' }).click();
      await expect.poll(() => row.getAttribute('data-state')).toBe('suspended');
      expect(await row.textContent()).toContain('invoice overdue');
      await page.getByText('The tenant “acme” is suspended.').waitFor();
      const asAcme = await platform.api('GET', '/api/v1/jobs', undefined, { authorization: `Bearer ${acmeKey}` });
      expect(asAcme.status).toBe(403);
      expect(JSON.stringify(asAcme.body)).toContain('invoice overdue');
      await screenshot(page, 'admin-tenants');

      await row.getByRole('button', { name: 'Resume acme' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
      await expect.poll(() => row.getAttribute('data-state')).toBe('active');
      expect(
        (await platform.api('GET', '/api/v1/jobs', undefined, { authorization: `Bearer ${acmeKey}` })).status,
      ).toBe(200);
      // The state filter is in the address.
      await page.getByLabel('State').selectOption('suspended');
      await page.waitForURL(/state=suspended/);
      await page.getByText('No tenants.').waitFor();

      // Create a tenant: its admin key shown once. Then delete it and purge it, typing its name.
      await page.getByLabel('State').selectOption('');
      await page.getByRole('button', { name: 'Create tenant' }).click();
      await page.getByRole('dialog').getByLabel('Name').fill('short-lived');
      await page.getByRole('dialog').getByRole('button', { name: 'Create tenant' }).click();
      const issued = page.getByTestId('issued-secret');
      expect(await issued.getByLabel("The tenant's first admin key").inputValue()).toMatch(/^bat_key_/);
      const gone = page.locator('tr[data-tenant="short-lived"]');
      await gone.getByRole('button', { name: 'Delete short-lived' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
      await expect.poll(() => gone.getAttribute('data-state')).toBe('deleted');
      await gone.getByRole('button', { name: 'Purge short-lived' }).click();
      const purge = page.getByRole('dialog');
      await purge.getByLabel('Type short-lived to confirm').fill('short');
      await purge.getByRole('button', { name: 'Purge' }).click();
      await purge.getByRole('alert').waitFor();
      await purge.getByLabel('Type short-lived to confirm').fill('short-lived');
      await purge.getByRole('button', { name: 'Purge' }).click();
      await page.getByText(/The tenant “short-lived” was purged/).waitFor();
      await expect.poll(() => gone.count()).toBe(0);

      // API keys: an expiry set at creation, and the last use.
      await page.getByRole('tab', { name: 'API keys' }).click();
      await page.getByRole('button', { name: 'Create key' }).click();
      await page.getByRole('dialog').getByLabel('Name').fill('expiring');
      await page.getByRole('dialog').getByLabel('Expires after').selectOption('30d');
      await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
      await page.getByTestId('issued-secret').waitFor();
      const keys = (await platform.api('GET', '/api/v1/api-keys')).body.items as Array<{
        name: string;
        expiresAt: string | null;
      }>;
      const expiresAt = Date.parse(keys.find((k) => k.name === 'expiring')!.expiresAt!);
      expect(Math.abs(expiresAt - Date.now() - 30 * 86_400_000)).toBeLessThan(600_000);
      const headers = await page.locator('[data-testid="keys-table"] thead th').allTextContents();
      expect(headers).toEqual(expect.arrayContaining(['Expires', 'Last used']));
      expect(await page.locator('tr[data-credential="expiring"]').textContent()).toContain('never used');
      expect(await page.locator('tr[data-credential="e2e auditor"]').textContent()).not.toContain('never used');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
