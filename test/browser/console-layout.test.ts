/**
 * The console's layout and its new controls, in one page session on the
 * virtual board: the terminal and the connection on a 1280×800 desktop's
 * first screen and the terminal on a 390×844 phone's (page at most about
 * three screens with panels collapsed), screenshots of both saved; no
 * text under 12 px, touch targets of 24 px; panels that collapse from the
 * keyboard; the theme toggle and a disabled Connect that looks disabled in
 * the dark; the log folding repeats, filtered by kind and searched; the
 * timeline's axis, zoom and pan; live registers during a transfer; one
 * line per reset; exact counts; a newline from the peer's text field; and
 * the first page's size (gzip, lazy chunks apart), printed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath, type WatchedPage } from './support/browser.ts';
import { BOOT_RATE_LINK, type ConsoleSession, openConsole } from './support/console-session.ts';

let session: ConsoleSession;
let watched: WatchedPage;
let page: Page;

beforeAll(async () => {
  // The virtual link pinned at the boot rate, as on a real board's first
  session = await openConsole({ query: BOOT_RATE_LINK });
  ({ watched, page } = session);
  await page.setViewportSize({ width: 1280, height: 800 });
}, 120_000);

afterAll(async () => {
  await session?.close();
});

const logText = () => page.locator('#event-log').textContent();
const until = (fn: string, timeout = 20_000) => page.waitForFunction(fn, null, { timeout });

/** Elements that show text smaller than 12 px, or controls smaller than 24 px, among those visible. */
function auditPage(p: Page) {
  return p.evaluate(() => {
    const visible = (e: Element) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
    };
    const smallText: string[] = [];
    for (const e of document.querySelectorAll('body *')) {
      if (!visible(e) || e.closest('.xterm-helpers, .xterm-accessibility')) continue;
      const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent!.trim() !== '');
      if (own && Number.parseFloat(getComputedStyle(e).fontSize) < 12)
        smallText.push(`${e.tagName}#${e.id}.${e.className}: ${getComputedStyle(e).fontSize}`);
    }
    const smallTargets: string[] = [];
    for (const e of document.querySelectorAll('button, input, select, summary, a.button-link')) {
      if (!visible(e)) continue;
      const r = e.getBoundingClientRect();
      if (r.width < 24 || r.height < 24) smallTargets.push(`${e.tagName}#${e.id}: ${r.width}×${r.height}`);
    }
    return { smallText, smallTargets };
  });
}

describe('console layout', () => {
  it('keeps the first page small: xterm.js and uPlot load in chunks of their own (sizes printed)', () => {
    const dir = session.site.dir;
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    const first = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    const gz = (file: string) => gzipSync(readFileSync(join(dir, file))).length;
    const firstBytes = gz('index.html') + first.reduce((n, f) => n + gz(f), 0);
    const lazy = readdirSync(join(dir, 'assets'))
      .filter((f) => /\.(js|css)$/.test(f) && !first.includes(`assets/${f}`) && !/worker/i.test(f))
      .map((f) => `${f} ${(gz(`assets/${f}`) / 1024).toFixed(1)} KB`);
    console.log(
      `console first page: ${(firstBytes / 1024).toFixed(1)} KB gzip (${first.join(', ')}); lazy: ${lazy.join('; ')}`,
    );
    expect(firstBytes).toBeLessThanOrEqual(90 * 1024);
    // The terminal library is not in the first page's script.
    const entry = first.find((f) => f.endsWith('.js'))!;
    expect(readFileSync(join(dir, entry), 'utf8')).not.toContain('xterm-helper-textarea');
  });

  it('shows the terminal and the connection on a desktop first screen, with nothing too small', async () => {
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    await page.locator('#terminal-output .xterm').waitFor();
    for (const id of ['connection', 'terminal-output', 'terminal-input', 'terminal-send', 'disconnect']) {
      const box = await page.locator(`#${id}`).boundingBox();
      expect(box!.y + box!.height, `#${id} on the first screen`).toBeLessThanOrEqual(800);
    }
    const { smallText, smallTargets } = await auditPage(page);
    expect(smallText).toEqual([]);
    expect(smallTargets).toEqual([]);
    await page.screenshot({ path: screenshotPath('console-desktop-first-screen.png') });
  });

  it('collapses and opens panels from the keyboard', async () => {
    const summary = page.locator('#registers-toggle');
    await summary.focus();
    await page.keyboard.press('Enter');
    await expect(page.locator('#registers').evaluate((d: HTMLDetailsElement) => d.open)).resolves.toBe(false);
    await page.keyboard.press('Space');
    await expect(page.locator('#registers').evaluate((d: HTMLDetailsElement) => d.open)).resolves.toBe(true);
  });

  it('sends a newline from the peer text field and counts bytes exactly', async () => {
    await page.locator('#peer-ending').selectOption('lf');
    await page.locator('#peer-data').fill('line one');
    await page.locator('#peer-inject').click();
    await until(`window.dmaConsole.terminal.view.receivedText().endsWith('line one\\n')`);
    await until(
      `document.querySelector('#event-log')?.textContent?.includes("sent 9 bytes to the board's RX")`,
    );
    // A count is never rounded: 1500 bytes read as 1500 B, not 1.5 KiB.
    await page.locator('#send-format').selectOption('text');
    await page.locator('#send-data').fill('x'.repeat(1500));
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    await until(`document.querySelector('#progress-text')?.textContent === '1500 B of 1500 B sent'`);
  });

  it('folds repeated log lines, filters them by kind and searches them', async () => {
    // Six framing errors in a row: one line, counted.
    for (let i = 0; i < 6; i++) await page.getByRole('button', { name: 'Send a framing error' }).click();
    await until(
      `/USART1 framing error \\(FE\\) × 6 in \\d+\\.\\d s/.test(document.querySelector('#event-log')?.textContent ?? '')`,
    );
    expect((await logText())?.match(/USART1 framing error \(FE\)/g)?.length).toBe(1);
    // Kinds off and on, from the keyboard.
    await page.locator('#log-filter-usart').focus();
    await page.keyboard.press('Enter');
    await expect(page.locator('#log-filter-usart').getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(page.locator('#event-log li[data-kind="usart"]:not([hidden])').count()).resolves.toBe(0);
    await page.keyboard.press('Enter');
    await page.locator('#log-search').fill('framing');
    const shown = await page.locator('#event-log li:not([hidden])').allTextContents();
    expect(shown.length).toBeGreaterThan(0);
    for (const line of shown) expect(line.toLowerCase()).toContain('framing');
    await page.locator('#log-search').fill('');
  });

  it('reads registers live while a transfer runs', async () => {
    // At 9600 Bd the DMA, not the host link, sets the pace: the channel runs most of the send.
    await page.locator('#usart-settings summary').click();
    await page.locator('#usart-baud').fill('9600');
    await page.locator('#usart-apply').click();
    await until(`document.querySelector('#event-log')?.textContent?.includes('USART1 set to 9600 Bd 8N1')`);
    await page.getByLabel('Live').check();
    await page.locator('#send-format').selectOption('text');
    await page.locator('#send-data').fill('z'.repeat(1800));
    const seen = page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          const cell = document.querySelector('tr[data-register="DMA1_CNDTR1"] td.value')!;
          const values: string[] = [];
          const observer = new MutationObserver(() => values.push(cell.textContent ?? ''));
          observer.observe(cell, { childList: true, characterData: true, subtree: true });
          setTimeout(() => {
            observer.disconnect();
            resolve(values);
          }, 2500);
        }),
    );
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    const values = await seen;
    // Read during the send: the channel's count was seen running, not only at rest.
    expect(values.some((v) => v !== '0x00000000')).toBe(true);
    await until(`document.querySelector('#progress-text')?.textContent === '1800 B of 1800 B sent'`, 30_000);
    await page.getByLabel('Live').uncheck();
    await page.locator('#usart-baud').fill('115200');
    await page.locator('#usart-apply').click();
    await until(`document.querySelector('#event-log')?.textContent?.includes('USART1 set to 115200 Bd 8N1')`);
    await page.locator('#usart-settings summary').click();
  });

  it('draws a timeline with a time axis, and zooms and pans from the keyboard', async () => {
    const canvas = page.locator('#timeline-canvas');
    await canvas.focus();
    const view = (pattern: string) =>
      until(`/${pattern}/.test(document.querySelector('#timeline-view')?.textContent ?? '')`);
    await view('^live, 30 s shown$');
    await page.keyboard.press('+');
    await view('^live, 15 s shown$');
    await page.keyboard.press('ArrowLeft'); // back in time: no longer following
    await view('^15 s shown$');
    await page.keyboard.press('End');
    await view('^live, 15 s shown$');
    await page.keyboard.press('Home'); // the whole session
    await view('^\\d+(\\.\\d)? s shown$');
    await expect(page.locator('#timeline-summary').textContent()).resolves.toMatch(
      /^\d+ B sent, \d+ B received/,
    );
    await canvas.screenshot({ path: screenshotPath('console-timeline.png') });
  });

  it('writes one line per reset', async () => {
    await page.getByRole('button', { name: 'Reset board' }).click();
    await until(
      `document.querySelector('#event-log')?.textContent?.includes('The board reset (reset button)')`,
    );
    await until(`document.querySelector('#terminal-listen')?.textContent === 'Stop listening'`);
    await page.waitForTimeout(300);
    const log = (await logText()) ?? '';
    expect(log.match(/The board reset/g)?.length).toBe(1);
    expect(log).not.toContain('reset button pressed');
    expect(log).not.toContain('session reopened');
  });

  it('switches to dark beside the system setting, where a disabled Connect looks disabled', async () => {
    await page.locator('#theme').selectOption('dark');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('.status-pill[data-state="disconnected"]').waitFor();
    await page.locator('#connect').evaluate((b: HTMLButtonElement) => {
      b.disabled = true;
    });
    const [disabled, enabledDisconnect] = await page.evaluate(() => {
      const style = (id: string) => {
        const s = getComputedStyle(document.getElementById(id)!);
        return { bg: s.backgroundColor, border: s.borderStyle };
      };
      return [style('connect'), style('theme')];
    });
    // Not the accent fill of an enabled primary button: the surface colour, a dashed edge.
    expect(disabled.border).toBe('dashed');
    expect(disabled.bg).not.toBe('rgb(90, 167, 240)');
    expect(enabledDisconnect).toBeDefined();
    await page.locator('#connect').evaluate((b: HTMLButtonElement) => {
      b.disabled = false;
    });
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBe('dark');
    await page.locator('#theme').selectOption('system');
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBeUndefined();
    expect(watched.errors).toEqual([]);
  });

  it('has the terminal on a phone first screen, the page within three screens with panels collapsed', async () => {
    const context = await session.browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'dark',
    });
    const phone = await context.newPage();
    const errors: string[] = [];
    phone.on('pageerror', (e) => errors.push(e.message));
    await phone.goto(session.server.url);
    await phone.getByRole('button', { name: 'Connect', exact: true }).click();
    await phone.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    await phone.locator('#terminal-output .xterm').waitFor();
    for (const id of ['terminal-output', 'terminal-input', 'terminal-send']) {
      const box = await phone.locator(`#${id}`).boundingBox();
      expect(box!.y + box!.height, `#${id} on the first screen`).toBeLessThanOrEqual(844);
    }
    // Panels start collapsed on a phone.
    await expect(phone.locator('details.panel[open]').count()).resolves.toBe(0);
    const height = await phone.evaluate(() => document.documentElement.scrollHeight);
    console.log(`console on a 390×844 phone: page ${height} px, ${(height / 844).toFixed(2)} screens`);
    expect(height).toBeLessThanOrEqual(3 * 844);
    const { smallText, smallTargets } = await auditPage(phone);
    expect(smallText).toEqual([]);
    expect(smallTargets).toEqual([]);
    await phone.screenshot({ path: screenshotPath('console-phone-first-screen.png') });
    expect(errors).toEqual([]);
    await context.close();
  });
});
