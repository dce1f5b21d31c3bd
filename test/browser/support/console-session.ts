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
  const browser = await launchChromium();
  const watched = await openPage(
    browser,
    options.colorScheme === undefined ? {} : { colorScheme: options.colorScheme },
  );
  const page = watched.page;
  if (options.initScript !== undefined) await page.addInitScript({ content: options.initScript });
  await page.goto(server.url + (options.query ?? ''));
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
