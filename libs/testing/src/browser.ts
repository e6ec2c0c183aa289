/**
 * Debian's Chromium (`apt-get install -y chromium`) as the browser tests and the portal benchmark launch it
 * with playwright-core (browser downloads are not possible here); BATON_TEST_CHROMIUM points elsewhere.
 */
export const CHROMIUM_PATH = process.env.BATON_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Headless, no sandbox (root in CI), nothing reaching out to the network. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
