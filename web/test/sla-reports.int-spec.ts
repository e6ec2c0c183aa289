import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PastRunSeed, type Platform, openPlatformDatabase, seedRunHistory, startPlatform } from '@baton/testing';
import { VIEWPORT, launchBrowser, pageErrors, screenshot } from './browser';

// The SLA reports view and the Home heatmap against a real `baton standalone`
// whose history (two weeks of two jobs) is written into its database, with the
// figures computed by hand. Screenshots: docs/screenshots/sla-reports.png and
// sla-heatmap.png.

const ADMIN = { email: 'admin@reports.example', password: 'reports-admin-password-1' };
const DAY = 86_400_000;
const HOUR = 3_600_000;
const today = Math.floor(Date.now() / DAY) * DAY;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/*
 * Days 1..14 before today:
 * - nightly-load at 02:00, started 30 s late, 2 min long; failed 3 and 9 days
 *   ago (12 of 14: 85.7 %); its SLA missed 3 days ago (13 of 14: 92.9 %); its
 *   task took 2 attempts 5 days ago (1 retry).
 * - hourly-sync every 3 hours, on time, 10 s long; the 06:00 run failed on the
 *   7 even days (105 of 112: 93.8 %).
 * And today a nightly-load run at risk: predicted 04:30, key task transform.
 */
function history(): PastRunSeed[] {
  const runs: PastRunSeed[] = [];
  for (let i = 1; i <= 14; i++) {
    const day = today - i * DAY;
    const nightly = day + 2 * HOUR;
    runs.push({
      job: 'nightly-load',
      logicalDate: nightly,
      state: i === 3 || i === 9 ? 'failed' : 'succeeded',
      delayMs: 30_000,
      runtimeMs: 120_000,
      tasks: [{ key: 'transform', attempts: i === 5 ? 2 : 1 }],
      sla: { state: i === 3 ? 'missed' : 'met', finishBy: day + 4 * HOUR },
    });
    for (let h = 0; h < 24; h += 3) {
      runs.push({
        job: 'hourly-sync',
        logicalDate: day + h * HOUR,
        state: h === 6 && i % 2 === 0 ? 'failed' : 'succeeded',
        delayMs: 0,
        runtimeMs: 10_000,
      });
    }
  }
  runs.push({
    job: 'nightly-load',
    logicalDate: today + 2 * HOUR,
    state: 'running',
    delayMs: 0,
    runtimeMs: null,
    sla: {
      state: 'at_risk',
      finishBy: today + 4 * HOUR,
      predictedP90: today + 4 * HOUR + 30 * 60_000,
      keyTask: 'transform',
      reason: 'the predicted finish (p90) is past the warning time',
    },
  });
  return runs;
}

describe('the SLA reports view', () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let atRiskRun: string;

  beforeAll(async () => {
    platform = await startPlatform({
      databaseUrl: null,
      env: { BATON_ADMIN_EMAIL: ADMIN.email, BATON_ADMIN_PASSWORD: ADMIN.password },
    });
    const job = (name: string) => ({ name, tasks: [{ key: 'transform', type: 'noop' }] });
    expect(
      (await platform.api('PUT', '/api/v1/jobs/nightly-load', { ...job('nightly-load'), sla: { finishBy: '04:00' } }))
        .status,
    ).toBe(201);
    expect((await platform.api('PUT', '/api/v1/jobs/hourly-sync', job('hourly-sync'))).status).toBe(201);
    const tenantId = (await platform.api('GET', '/api/v1/whoami')).body.tenant.id as string;
    const db = await openPlatformDatabase({ databaseUrl: null, dataDir: platform.dataDir });
    try {
      const ids = await seedRunHistory(db, tenantId, history());
      atRiskRun = ids[ids.length - 1]!;
    } finally {
      await db.close();
    }
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
  });

  const cell = (job: string, field: string) =>
    page.locator(`[data-testid="report-jobs"] tr[data-job="${job}"] [data-field="${field}"]`).textContent();

  it('shows per job success rate, runtime and delay p50/p95, retries and SLA met %, for the range in the URL', async () => {
    const from = isoDay(today - 14 * DAY);
    const to = isoDay(today - DAY);
    await page.getByRole('banner').getByRole('link', { name: 'SLA reports', exact: true }).click();
    await page.waitForURL(/\/sla\/$/);
    await page.goto(`${platform.url}/sla/?from=${from}&to=${to}`);
    await page.locator('[data-testid="report-jobs"] tr[data-job="nightly-load"]').waitFor();
    expect(await cell('nightly-load', 'successRate')).toBe('85.7 %');
    expect(await cell('nightly-load', 'runtime')).toBe('2 m 00 s / 2 m 00 s');
    expect(await cell('nightly-load', 'delay')).toBe('30.000 s / 30.000 s');
    expect(await cell('nightly-load', 'slaMet')).toBe('92.9 %');
    const nightlyRow = await page.locator('[data-testid="report-jobs"] tr[data-job="nightly-load"]').textContent();
    expect(nightlyRow).toMatch(/^nightly-load14/);
    expect(await cell('hourly-sync', 'successRate')).toBe('93.8 %');
    expect(await cell('hourly-sync', 'runtime')).toBe('10.000 s / 10.000 s');
    expect(await cell('hourly-sync', 'slaMet')).toBe('—');
    expect(await page.locator('[data-testid="trend"]').count()).toBe(2);
    // The at-risk list: predicted finish, key task and a link to the run.
    const risk = page.locator(`[data-testid="at-risk"] tr[data-run="${atRiskRun}"]`);
    await risk.waitFor();
    expect(await risk.locator('[data-field="keyTask"]').textContent()).toBe('transform');
    expect(await risk.locator('[data-field="predicted"]').textContent()).toBe(`${isoDay(today)} 04:30:00`);
    expect(await risk.locator('[data-field="deadline"]').textContent()).toBe(`${isoDay(today)} 04:00:00`);
    expect(await risk.locator('[data-field="run"]').getAttribute('href')).toContain(`/run/?id=${atRiskRun}`);
    // The tasks that failed most: hourly-sync's main 7 of 112, nightly-load's transform 2 of 14 (1 retry).
    const top = page.locator('[data-testid="top-failing-tasks"] tbody tr');
    await top.first().waitFor();
    expect(await top.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')))).toEqual([
      'hourly-sync/main',
      'nightly-load/transform',
    ]);
    expect(await top.nth(0).locator('[data-field="failureRate"]').textContent()).toBe('6.3 %');
    expect(await top.nth(1).locator('[data-field="failureRate"]').textContent()).toBe('14.3 %');
    // The heatmap of the same range: hourly-sync's 06:00 runs failed 7 times.
    const heat = page.locator('[data-testid="report-heatmap-table"] tr[data-job="hourly-sync"]');
    await heat.waitFor({ state: 'attached' });
    expect(await heat.getAttribute('data-failures')).toBe('7');
    expect(await heat.locator('td[data-hour="6"]').textContent()).toBe('7');
    await screenshot(page, 'sla-reports');
  });

  it('filters by job through the URL and says when a range has no runs', async () => {
    await page.getByLabel('Job', { exact: true }).selectOption('hourly-sync');
    await page.waitForURL(/job=hourly-sync/);
    await expect.poll(() => page.locator('[data-testid="report-jobs"] tbody tr').count()).toBe(1);
    await expect.poll(() => page.locator('[data-testid="at-risk"]').textContent()).toContain('No run is at risk.');
    await page.goto(`${platform.url}/sla/?from=2020-01-01&to=2020-01-31`);
    await page.getByText('No runs in this range.').first().waitFor();
    // A range the API refuses (more than 92 days) is said, naming the field.
    await page.goto(`${platform.url}/sla/?from=2020-01-01&to=2020-12-31`);
    await expect
      .poll(() => page.locator('main').textContent(), { timeout: 10_000 })
      .toContain('to: must be at most 92 days after from');
  });

  it('shows the failure heatmap at home, in Chinese too', async () => {
    await page.goto(`${platform.url}/`);
    const heat = page.locator('[data-testid="failure-heatmap-table"] tr[data-job="nightly-load"]');
    await heat.waitFor({ state: 'attached' });
    expect(await heat.locator('td[data-hour="2"]').textContent()).toBe('2');
    await page.getByTestId('failure-heatmap').scrollIntoViewIfNeeded();
    await screenshot(page, 'sla-heatmap');
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '失败热力图' }).waitFor();
    await page.getByRole('banner').getByRole('link', { name: 'SLA 报表', exact: true }).click();
    await page.getByRole('heading', { name: '当前有风险' }).waitFor();
    await page.getByLabel('语言').selectOption('en');
    expect(errors).toEqual([]);
  });
});
