/**
 * One browser test file's console: the built site served over HTTP,
 * Chromium, and a watched page at the console's URL (with an init script,
 * such as a fake navigator.serial, installed before the page's own).
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPage, type WatchedPage } from './browser.ts';
import { type BuiltSite, buildSite } from './site.ts';
import { type StaticServer, serveDirectory } from './static-server.ts';

export interface ConsoleSessionOptions {
  /** Where the site is mounted (default '/'). */
  readonly base?: string;
  readonly colorScheme?: 'light' | 'dark';
  /** Script run in the page before its own (see bundleInitScript). */
  readonly initScript?: string;
  /** Appended to the page's address, e.g. '?link=115200'. */
  readonly query?: string;
}

export interface ConsoleSession {
  readonly site: BuiltSite;
  readonly server: StaticServer;
  readonly browser: Browser;
  readonly watched: WatchedPage;
  readonly page: Page;
  close(): Promise<void>;
}

export async function openConsole(options: ConsoleSessionOptions = {}): Promise<ConsoleSession> {
  const site = await buildSite();
  const server = await serveDirectory(site.dir, options.base === undefined ? {} : { base: options.base });
  // Chromium now and then exits while it starts on a busy machine ("Target
  // page, context or browser has been closed"): a second launch, then fail.
  let browser: Browser | undefined;
  let watched: WatchedPage | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      browser = await launchChromium();
      watched = await openPage(
        browser,
        options.colorScheme === undefined ? {} : { colorScheme: options.colorScheme },
      );
      if (options.initScript !== undefined) await watched.page.addInitScript({ content: options.initScript });
      await watched.page.goto(server.url + (options.query ?? ''));
      break;
    } catch (e) {
      await browser?.close().catch(() => {});
      if (attempt >= 2 || !/has been closed|crashed/i.test(String(e))) {
        await server.close();
        await site.remove();
        throw e;
      }
    }
  }
  const page = watched.page;
  return {
    site,
    server,
    browser,
    watched,
    page,
    async close() {
      await browser.close();
      await server.close();
      await site.remove();
    },
  };
}

/**
 * The console's address query that pins the virtual board's link at the
 * boot rate, as on a real board's first connect: a test's timings then do
 * not depend on the rate the worker measured for this machine.
 */
export const BOOT_RATE_LINK = '?link=115200';

/** Presses Connect (the virtual board is the default choice) and waits for the session. */
export async function connectConsole(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
}
