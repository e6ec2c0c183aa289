import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcTestProvider, type Platform, SmtpReceiver, startPlatform, waitFor } from '@baton/testing';
import { VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

// The other ways in, in Chromium against a real `baton standalone`: SSO against a real OpenID provider
// (oidc-provider, its development login and consent pages), an invitation from Admin → Members accepted
// from its mailed link, a forgotten password reset by its mailed link, and a password change.
// Screenshots: sign-in-sso.png, admin-invitations.png, invitation.png, reset-password.png.

const ADMIN = { email: 'admin@ways.example', password: 'ways-admin-password-1' };

describe('signing in with SSO, an invitation and a password reset', () => {
  let platform: Platform;
  let provider: OidcTestProvider;
  let smtp: SmtpReceiver;
  let browser: Browser;

  beforeAll(async () => {
    smtp = await SmtpReceiver.start();
    provider = await OidcTestProvider.prepare({
      sara: { email: 'sara@ways.example', email_verified: true, name: 'Sara SSO', groups: ['data-eng'] },
    });
    platform = await startPlatform({
      databaseUrl: null,
      env: {
        BATON_ADMIN_EMAIL: ADMIN.email,
        BATON_ADMIN_PASSWORD: ADMIN.password,
        BATON_SMTP_URL: smtp.url,
        BATON_OIDC_ISSUER: provider.issuer,
        BATON_OIDC_CLIENT_ID: provider.clientId,
        BATON_OIDC_CLIENT_SECRET: provider.clientSecret,
        BATON_OIDC_SCOPES: 'openid email profile groups',
        BATON_OIDC_ROLE_MAP: JSON.stringify({ 'data-eng': 'developer' }),
      },
    });
    await provider.start(`${platform.url}/api/v1/auth/oidc/callback`);
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await provider?.stop();
    await smtp?.stop();
  });

  const fresh = async (): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> => {
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return { page, errors: pageErrors(page), close: () => context.close() };
  };
  const tokenLink = (text: string) => /(http:\/\/\S+#token=bat_(?:inv|rst)_[A-Za-z0-9_-]+)/.exec(text)?.[1] ?? null;

  it('signs in with SSO through the provider and lands on the page asked for', async () => {
    const { page, errors, close } = await fresh();
    try {
      await page.goto(`${platform.url}/sign-in/?next=/jobs/`);
      const sso = page.getByRole('link', { name: 'Sign in with SSO' });
      await sso.waitFor();
      await screenshot(page, 'sign-in-sso');
      await sso.click();
      // The provider's own pages: its login (any password), then its consent.
      await page.waitForURL((u) => u.href.startsWith(provider.issuer));
      await page.locator('input[name=login]').fill('sara');
      await page.locator('input[name=password]').fill('anything');
      await page.locator('button[type=submit]').first().click();
      await page.waitForURL((u) => u.href.startsWith(platform.url) || u.pathname.includes('/interaction/'));
      if (page.url().startsWith(provider.issuer)) await page.locator('button[type=submit]').first().click();
      await page.waitForURL(`${platform.url}/jobs/`);
      await page.getByTestId('who').getByText('sara@ways.example').waitFor();
      await page.getByTestId('role').getByText('Developer').waitFor();
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('invites from Admin → Members; the mailed link creates the account and signs in', async () => {
    const admin = await fresh();
    try {
      const { page } = admin;
      await page.goto(`${platform.url}/sign-in/`);
      await page.getByLabel('Email').fill(ADMIN.email);
      await page.getByLabel('Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('role').waitFor();
      await page.goto(`${platform.url}/admin/?tab=members`);
      await page.getByRole('button', { name: 'Invite', exact: true }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Email').fill('nina@ways.example');
      await dialog.getByLabel('Role').selectOption('operator');
      await dialog.getByRole('button', { name: 'Invite', exact: true }).click();
      await page.getByTestId('issued-secret').waitFor();
      await page.getByText('nina@ways.example was invited; the link was mailed.').waitFor();
      await page.locator('[data-invitation="nina@ways.example"]').waitFor();
      await screenshot(page, 'admin-invitations');
      expect(admin.errors).toEqual([]);
    } finally {
      await admin.close();
    }

    const mail = await waitFor('the invitation mail', async () => smtp.to('nina@ways.example')[0]);
    const link = tokenLink(mail.text)!;
    expect(link).toContain('/invitation/#token=');
    const invitee = await fresh();
    try {
      const { page } = invitee;
      await page.goto(link);
      // Before accepting: which tenant, role and email the link is for.
      const preview = page.getByTestId('invitation-preview');
      await preview.waitFor();
      expect(await preview.locator('[data-field="tenant"] dd').textContent()).toBe('default');
      expect(await preview.locator('[data-field="role"] dd').textContent()).toBe('Operator');
      expect(await preview.locator('[data-field="email"] dd').textContent()).toBe('nina@ways.example');
      await page.getByLabel('Your name').fill('Nina Operator');
      await page.getByLabel('Password').fill('nina-password-0123');
      await screenshot(page, 'invitation');
      await page.getByRole('button', { name: 'Accept and sign in' }).click();
      await page.getByTestId('who').getByText('nina@ways.example').waitFor();
      await page.getByTestId('role').getByText('Operator').waitFor();
      expect(invitee.errors).toEqual([]);
    } finally {
      await invitee.close();
    }

    // Used, the link says so and offers no form; a wrong token, too.
    const again = await fresh();
    try {
      const { page } = again;
      await page.goto(link);
      const state = page.getByTestId('invitation-state');
      await state.waitFor();
      expect(await state.getAttribute('data-state')).toBe('accepted');
      expect(await state.textContent()).toContain('was accepted already');
      expect(await page.getByTestId('invitation-preview').locator('[data-field="email"] dd').textContent()).toBe(
        'nina@ways.example',
      );
      expect(await page.getByRole('button', { name: 'Accept and sign in' }).count()).toBe(0);
      await page.goto(`${platform.url}/invitation/#token=bat_inv_not-a-real-token`);
      await page.reload();
      await expect.poll(() => state.textContent()).toContain('This invitation link is not valid');
      expect(await page.getByTestId('invitation-preview').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Accept and sign in' }).count()).toBe(0);
      expect(again.errors).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('resets a forgotten password by the mailed link, then changes it from Admin → Your sessions', async () => {
    const { page, errors, close } = await fresh();
    try {
      await page.goto(`${platform.url}/sign-in/`);
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await page.getByTestId('reset-password').waitFor();
      await page.getByLabel('Email').fill('nina@ways.example');
      await page.getByRole('button', { name: 'Send the link' }).click();
      await page.getByTestId('reset-done').waitFor();
      const mail = await waitFor('the reset mail', async () =>
        smtp.to('nina@ways.example').find((m) => /Reset your Baton password/.test(m.subject)),
      );
      await page.goto(tokenLink(mail.text)!);
      await page.getByLabel('New password', { exact: true }).fill('nina-new-password-1');
      await page.getByLabel('New password again').fill('nina-new-password-1');
      await screenshot(page, 'reset-password');
      await page.getByRole('button', { name: 'Set the password' }).click();
      await page.getByText('Your password was changed. Sign in with it.').waitFor();

      await page.goto(`${platform.url}/sign-in/`);
      await page.getByLabel('Email').fill('nina@ways.example');
      await page.getByLabel('Password').fill('nina-new-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('role').waitFor();
      await page.goto(`${platform.url}/admin/?tab=sessions`);
      await page.getByRole('button', { name: 'Change password' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Current password').fill('nina-new-password-1');
      await dialog.getByLabel('New password', { exact: true }).fill('nina-third-password');
      await dialog.getByLabel('New password again').fill('nina-third-password');
      await dialog.getByRole('button', { name: 'Change password' }).click();
      await page.getByText(/Your password was changed; 0 other sessions ended/).waitFor();
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
    expect(
      (
        await platform.request('POST', '/api/v1/auth/login', {
          email: 'nina@ways.example',
          password: 'nina-third-password',
        })
      ).status,
    ).toBe(200);
  });
});
