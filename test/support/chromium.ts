import { existsSync } from 'node:fs';
import { Browser, chromium, Page } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core: every browser suite (sample and simulator) launches it here. */
export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
const ci = process.env.CI === 'true';

if (!haveChromium && !ci) console.warn(`${CHROMIUM} not found: the browser suites are skipped (they fail instead when CI=true).`);

/** `describe` when a browser is there or CI must have one (the suite then fails in its beforeAll), else skipped. */
export const browserSuite = haveChromium || ci ? describe : describe.skip;

/** The widths the browser suites check their pages at: a PC and a phone. */
export const PAGE_WIDTHS = [
  ['desktop', 1280],
  ['mobile', 390],
] as const;

export function launchChromium(): Promise<Browser> {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing (CI=true): install Debian's chromium package`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Runs `body` on a page of a fresh context at this width (a phone below 600 px: touch, 2x pixels), closed afterwards. */
export async function withPageAt(browser: Browser, width: number, body: (page: Page) => Promise<void>): Promise<void> {
  const mobile = width < 600;
  const context = await browser.newContext({
    viewport: { width, height: mobile ? 844 : 800 },
    isMobile: mobile,
    hasTouch: mobile,
    deviceScaleFactor: mobile ? 2 : 1,
  });
  try {
    await body(await context.newPage());
  } finally {
    await context.close();
  }
}
