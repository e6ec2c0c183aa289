import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@baton/testing';

const ROOT = resolve(__dirname, '../..');
export const SCREENSHOTS = join(ROOT, 'docs/screenshots');

/** Debian's chromium (`apt-get install -y chromium`); BATON_TEST_CHROMIUM points elsewhere (a local Chrome). */
const CHROMIUM = CHROMIUM_PATH;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the portal's browser tests need Chromium at ${CHROMIUM}: apt-get update && apt-get install -y chromium (or set BATON_TEST_CHROMIUM)`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
}

export const VIEWPORT = { width: 1280, height: 800 };
/** A tablet held upright (an iPad's CSS pixels): the narrowest screen the portal is made for. */
export const TABLET = { width: 768, height: 1024 };

/** A PNG of what the user sees now, for docs/screenshots/ (`zh/<view>` Chinese, `tablet/<view>` at 768×1024). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(dirname(join(SCREENSHOTS, `${name}.png`)), { recursive: true });
  // Let charts finish drawing and the spinners settle before the picture.
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Collects uncaught page errors, so a test can show them when it fails. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}
