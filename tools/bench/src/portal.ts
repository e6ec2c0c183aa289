import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Page, chromium } from 'playwright-core';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  openPlatformDatabase,
  type PastRunSeed,
  type Platform,
  seedRunHistory,
} from '@baton/testing';
import { type DbKind, freshTarget, launch, putJob, tail } from './platform.js';
import { type Summary, median, percentile, summarize } from './stats.js';

/** The size: a job of 500 tasks with 100 runs of history, and the goal for both pages. */
export const PORTAL_TASKS = 500;
export const PORTAL_RUNS = 100;
export const PORTAL_GOAL_MS = 1_000;
/** Timed loads of each page (after one untimed load that warms the server and the browser's cache). */
export const PORTAL_LOADS = 20;
export const PORTAL_VIEWPORT = { width: 1280, height: 800 };

const PORTAL_OUT = resolve(__dirname, '../../../web/out/index.html');
const ADMIN = { email: 'bench@portal.example', password: 'bench-portal-password-1' };
const JOB = 'portal-wide';
const HOUR = 3_600_000;

export interface PortalPage {
  name: string;
  /** What "loaded" means for the page. */
  until: string;
  /** The first load in a fresh browser context (signed in, nothing cached). */
  coldMs: number;
  /** That load's scripts (KiB decoded) and when the last arrived; its document parsed and last API response. */
  cold?: { scriptsKb: number; scriptsDoneMs: number; domMs: number; apiStartMs: number; apiDoneMs: number };
  /** Median of the timed loads: when the first API request went out. */
  apiStartMs?: number;
  /** Navigation start → the frame it shows, over PORTAL_LOADS loads (warm cache); p95 beside the summary. */
  ms: Summary & { p95: number };
  /** Medians over the timed loads: document parsed, last API response read, the slowest API call. */
  domMs: number;
  apiDoneMs: number;
  slowestApi: { path: string; ms: number };
}

export interface PortalResult {
  db: DbKind;
  ok: boolean;
  error?: string;
  tasks: number;
  runs: number;
  loads: number;
  viewport: string;
  chromium: string;
  pages: PortalPage[];
}

const key = (i: number) => `t${String(i).padStart(3, '0')}`;

/**
 * The job's history: PORTAL_RUNS finished runs an hour apart (one in ten failed), every task with one attempt,
 * written into the database (running them would take an hour).
 */
export function portalHistory(now: number): PastRunSeed[] {
  const tasks = Array.from({ length: PORTAL_TASKS }, (_, i) => ({ key: key(i), attempts: 1 }));
  return Array.from({ length: PORTAL_RUNS }, (_, i) => ({
    job: JOB,
    logicalDate: now - (PORTAL_RUNS - i) * HOUR,
    state: i % 10 === 3 ? 'failed' : 'succeeded',
    delayMs: 200,
    runtimeMs: 120_000,
    tasks,
  }));
}

/**
 * Milliseconds from the navigation's start (performance.timeOrigin) to the first animation frame in which
 * `ready` holds, read in the page: the browser's own clock, so Playwright's round trips do not count.
 */
/** Where a load's time went, read from the page's Resource and Navigation Timing entries (ms from its start). */
interface LoadTimes {
  readyMs: number;
  /** The document parsed and its scripts run (domContentLoadedEventEnd). */
  domMs: number;
  /** The last API response read before the page was ready, and the slowest one's duration. */
  apiDoneMs: number;
  slowestApi: { path: string; ms: number };
  /** Scripts the page ran (decoded sizes, KiB) and when the last one had arrived. */
  scriptsKb: number;
  scriptsDoneMs: number;
  /** When the first API request went out (the app booted: scripts compiled and run, the session read). */
  apiStartMs: number;
}

const TIMINGS = `(() => {
  const ready = window.__benchReadyAt;
  const nav = performance.getEntriesByType('navigation')[0];
  const api = performance
    .getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/v1/') && e.responseEnd <= ready);
  const scripts = performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'script');
  const slowest = api.reduce((a, e) => (e.duration > a.duration ? e : a), { name: '', duration: 0 });
  return {
    readyMs: ready,
    domMs: nav ? nav.domContentLoadedEventEnd : 0,
    apiDoneMs: api.reduce((a, e) => Math.max(a, e.responseEnd), 0),
    slowestApi: { path: slowest.name ? new URL(slowest.name).pathname : '', ms: slowest.duration },
    scriptsKb: scripts.reduce((a, e) => a + e.decodedBodySize, 0) / 1024,
    scriptsDoneMs: scripts.reduce((a, e) => Math.max(a, e.responseEnd), 0),
    apiStartMs: api.reduce((a, e) => Math.min(a, e.startTime), api.length ? Infinity : 0),
  };
})()`;

async function timeTo(page: Page, url: string, ready: string): Promise<LoadTimes> {
  await page.goto(url, { waitUntil: 'commit' });
  // The frame's time is taken in the predicate, not after Playwright has heard of it.
  const handle = await page.waitForFunction(
    `(() => { const ok = ${ready}; if (ok) window.__benchReadyAt = performance.now(); return ok; })()`,
    undefined,
    { polling: 'raf', timeout: 60_000 },
  );
  await handle.dispose();
  return page.evaluate(TIMINGS) as Promise<LoadTimes>;
}

// The predicates run in the page (the bench compiles without the DOM's types, so they are source text).

/** Counts by state drawn on the home page (the chart and its text list). */
const HOME_READY = `(() => {
  const counts = document.querySelector('[data-testid="state-counts"]');
  return !!counts && !!counts.querySelector('canvas') && counts.querySelectorAll('ul li').length > 0;
})()`;

/** The grid's last visible cell (bottom right of what the viewport shows of it) drawn, with its state. */
const GRID_READY = `(() => {
  const grid = document.querySelector('[data-testid="state-grid"]');
  if (!grid) return false;
  const box = grid.getBoundingClientRect();
  const right = Math.min(box.right, window.innerWidth) - 24;
  const bottom = Math.min(box.bottom, window.innerHeight) - 24;
  if (right <= box.left || bottom <= box.top) return false;
  const cell = document.elementFromPoint(right, bottom);
  return !!cell && cell.classList.contains('grid-cell') && !!cell.getAttribute('data-state');
})()`;

async function measure(
  page: Page,
  name: string,
  until: string,
  url: string,
  ready: string,
  loads: number,
  cold: LoadTimes,
  log: (s: string) => void,
): Promise<PortalPage> {
  const coldMs = cold.readyMs;
  await timeTo(page, url, ready); // warm
  const loadsOf: LoadTimes[] = [];
  for (let i = 0; i < loads; i++) loadsOf.push(await timeTo(page, url, ready));
  const times = loadsOf.map((l) => l.readyMs);
  const ms = {
    ...summarize(times),
    p95: percentile(
      [...times].sort((a, b) => a - b),
      95,
    ),
  };
  const mid = (f: (l: LoadTimes) => number) => median(loadsOf.map(f));
  const slowest = loadsOf.map((l) => l.slowestApi).sort((a, b) => a.ms - b.ms)[Math.floor(loadsOf.length / 2)]!;
  const out = {
    name,
    until,
    coldMs,
    cold: {
      scriptsKb: cold.scriptsKb,
      scriptsDoneMs: cold.scriptsDoneMs,
      domMs: cold.domMs,
      apiStartMs: cold.apiStartMs,
      apiDoneMs: cold.apiDoneMs,
    },
    ms,
    domMs: mid((l) => l.domMs),
    apiStartMs: mid((l) => l.apiStartMs),
    apiDoneMs: mid((l) => l.apiDoneMs),
    slowestApi: slowest,
  };
  log(
    `  ${name}: cold ${coldMs.toFixed(0)} ms, p50 ${ms.p50.toFixed(0)} ms, p95 ${ms.p95.toFixed(0)} ms; ` +
      `document ${out.domMs.toFixed(0)} ms, API done ${out.apiDoneMs.toFixed(0)} ms, slowest ${slowest.path} ${slowest.ms.toFixed(0)} ms; ` +
      `cold: ${cold.scriptsKb.toFixed(0)} KiB of scripts by ${cold.scriptsDoneMs.toFixed(0)} ms, document ${cold.domMs.toFixed(0)} ms, ` +
      `first API request ${cold.apiStartMs.toFixed(0)} ms, API done ${cold.apiDoneMs.toFixed(0)} ms`,
  );
  return out;
}

/** The embedded default (SQLite), a 500-task job with 100 runs of history, and the two pages timed in Chromium. */
export async function runPortal(kind: DbKind, loads: number, log: (s: string) => void): Promise<PortalResult> {
  const result: PortalResult = {
    db: kind,
    ok: false,
    tasks: PORTAL_TASKS,
    runs: PORTAL_RUNS,
    loads,
    viewport: `${PORTAL_VIEWPORT.width}×${PORTAL_VIEWPORT.height}`,
    chromium: '',
    pages: [],
  };
  if (!existsSync(PORTAL_OUT)) {
    result.error = 'the portal is not built: npm run build:web first';
    return result;
  }
  if (!existsSync(CHROMIUM_PATH)) {
    result.error = `no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set BATON_TEST_CHROMIUM)`;
    return result;
  }
  const t = await freshTarget(kind);
  let platform: Platform | null = null;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  try {
    result.chromium = browser.version();
    platform = await launch(t, { env: { BATON_ADMIN_EMAIL: ADMIN.email, BATON_ADMIN_PASSWORD: ADMIN.password } });
    await putJob(platform, JOB, {
      name: JOB,
      tasks: Array.from({ length: PORTAL_TASKS }, (_, i) => ({
        key: key(i),
        type: 'noop',
        ...(i > 0 ? { dependsOn: [key(i - 1)] } : {}),
      })),
    });
    const tenantId = (await platform.api<{ tenant: { id: string } }>('GET', '/api/v1/whoami')).body.tenant.id;
    const db = await openPlatformDatabase({ databaseUrl: t.db.url, dataDir: t.dataDir });
    try {
      await seedRunHistory(db, tenantId, portalHistory(Date.now()));
    } finally {
      await db.close();
    }
    const context = await browser.newContext({ viewport: PORTAL_VIEWPORT, locale: 'en-US', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${platform.url}/sign-in/`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('role').waitFor();
    // The grid must show the whole history before it is timed.
    await page.goto(`${platform.url}/job/?name=${JOB}&tab=grid`);
    await page.getByText(`${PORTAL_TASKS} tasks × ${PORTAL_RUNS} runs`).waitFor();

    // Cold: a new context (the session cookie copied, no cache) loads each page once.
    const state = await context.storageState();
    const cold = async (url: string, ready: string) => {
      const c = await browser.newContext({
        viewport: PORTAL_VIEWPORT,
        locale: 'en-US',
        timezoneId: 'UTC',
        storageState: state,
      });
      try {
        return await timeTo(await c.newPage(), url, ready);
      } finally {
        await c.close();
      }
    };
    const homeUrl = `${platform.url}/`;
    const gridUrl = `${platform.url}/job/?name=${JOB}&tab=grid`;
    const homeCold = await cold(homeUrl, HOME_READY);
    const gridCold = await cold(gridUrl, GRID_READY);
    result.pages.push(
      await measure(page, 'home page', 'counts by state drawn', homeUrl, HOME_READY, loads, homeCold, log),
      await measure(
        page,
        `grid, ${PORTAL_TASKS} tasks × ${PORTAL_RUNS} runs`,
        'the last visible cell drawn with its state',
        gridUrl,
        GRID_READY,
        loads,
        gridCold,
        log,
      ),
    );
    result.ok = true;
  } catch (err) {
    result.error = `${err instanceof Error ? err.message : String(err)}\n${tail(platform)}`;
  } finally {
    await browser.close();
    await platform?.stop();
    await t.cleanup();
  }
  return result;
}
