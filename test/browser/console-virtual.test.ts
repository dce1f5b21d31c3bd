/**
 * The console in real headless Chromium with the virtual board in its Web
 * Worker, with the production build served from a sub-path (/console/):
 * connect, HELLO, live registers on a timer, a DMA write arriving
 * at the peer, a DMA read of bytes the peer sent, events in the log, a
 * transfer stopped midway, typed errors (framing, circular overrun) and
 * their alert dismissed.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath, type WatchedPage } from './support/browser.ts';
import { type ConsoleSession, openConsole } from './support/console-session.ts';

let session: ConsoleSession;
let server: ConsoleSession['server'];
let watched: WatchedPage;
let page: Page;

beforeAll(async () => {
  // Mounted below the root, as on a shared static host: every URL the site
  // uses must be relative to its page (the other browser tests serve it at /).
  session = await openConsole({ base: '/console/' });
  ({ server, watched, page } = session);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

const log = () => page.locator('#event-log');

describe('console on the virtual board', () => {
  it('loads the production build from a sub-path', async () => {
    expect(new URL(page.url()).pathname).toBe('/console/');
    await expect(page.title()).resolves.toBe('DMA bridge console');
    const scripts = await page.evaluate(() =>
      Array.from(
        document.querySelectorAll('script[src]'),
        (s) => new URL((s as HTMLScriptElement).src).pathname,
      ),
    );
    // The built page, not the development one: a hashed bundle under the mount.
    expect(scripts).toEqual([expect.stringMatching(/^\/console\/assets\/[\w-]+\.js$/)]);
    expect(server.notFound).toEqual([]);
  });

  it('connects and shows the HELLO', async () => {
    await expect(page.getByRole('radio', { name: 'Virtual board' }).isChecked()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    const hello = page.locator('#hello');
    await expect(hello.locator('[data-fact="Firmware"]').textContent()).resolves.toMatch(/v\d+\.\d+\.\d+/);
    await expect(hello.locator('[data-fact="DEV_ID"]').textContent()).resolves.toContain('0x460');
    await expect(hello.locator('[data-fact="UID"]').textContent()).resolves.toMatch(/[0-9A-F]{24}/);
    await expect(hello.locator('[data-fact="Arena"]').textContent()).resolves.toContain('0x20');
    await expect(hello.locator('[data-fact="Window"]').textContent()).resolves.toContain('4 requests');
    await expect(hello.locator('[data-fact="Boot epoch"]').textContent()).resolves.toMatch(/0x[0-9A-F]{8}/);
    await expect(log().textContent()).resolves.toContain('HELLO');
  });

  it('shows live registers decoded into fields', async () => {
    const cr1 = page.locator('tr[data-register="USART1_CR1"]');
    // The first reading comes a moment after connecting: wait for it (bounded).
    await expect
      .poll(() => cr1.locator('td.value').textContent(), { timeout: 10_000 })
      .toMatch(/0x[0-9A-F]{8}/);
    await expect
      .poll(() => page.locator('tr[data-register="DMA1_CCR1"] .bitfield').first().textContent(), {
        timeout: 10_000,
      })
      .toContain('EN');
    await expect(page.locator('tr[data-register="DMAMUX_C0CR"]').count()).resolves.toBe(1);
  });

  it('re-reads the registers on a timer while Live is checked, and only then', async () => {
    // Every read rewrites the "read at" stamp: count the rewrites while
    // nothing else happens, for `ms` or until there are `enough`.
    const countReads = (ms: number, enough = Number.POSITIVE_INFINITY) =>
      page.evaluate(
        ([ms, enough]) =>
          new Promise<number>((resolve) => {
            const stamp = document.querySelector('#registers .toolbar small')!;
            let reads = 0;
            const done = () => {
              observer.disconnect();
              clearTimeout(timer);
              resolve(reads);
            };
            const observer = new MutationObserver((records) => {
              reads += records.length;
              if (reads >= enough) done();
            });
            observer.observe(stamp, { childList: true, characterData: true, subtree: true });
            const timer = setTimeout(done, ms);
          }),
        [ms, enough] as const,
      );
    const live = page.getByLabel('Live');
    await expect(live.isChecked()).resolves.toBe(false);
    await expect(countReads(400)).resolves.toBe(0);
    await live.check();
    // Every 500 ms: two reads within 1.5 s.
    await expect(countReads(1500, 2)).resolves.toBe(2);
    await live.uncheck();
    await page.waitForTimeout(100); // a read already on its way may still land
    await expect(countReads(600)).resolves.toBe(0);
  });

  it('writes text by DMA and the peer receives it', async () => {
    await page.getByLabel('Data', { exact: true }).fill('Hello, DMA!');
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    await page.waitForFunction(
      () => document.querySelector('#peer-text')?.textContent?.includes('Hello, DMA!'),
      null,
      {
        timeout: 20_000,
      },
    );
    await page.waitForFunction(() =>
      document.querySelector('#progress-text')?.textContent?.includes('11 B of 11 B'),
    );
    const progress = await page.locator('#progress').evaluate((p: HTMLProgressElement) => [p.value, p.max]);
    expect(progress).toEqual([11, 11]);
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA1 ch1 TC'),
    );
    // The register panel followed the event: the channel's counter ran down to zero.
    await expect(page.locator('tr[data-register="DMA1_CNDTR1"] td.value').textContent()).resolves.toBe(
      '0x00000000',
    );
  });

  it('reads bytes the peer sends', async () => {
    await page.getByLabel('Bytes', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Read N bytes' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA read of 4'),
    );
    await page.getByLabel('Bytes to send').fill('ping');
    await page.getByRole('button', { name: 'Send to board RX' }).click();
    await page.waitForFunction(() => document.querySelector('#result-text')?.textContent === 'ping', null, {
      timeout: 20_000,
    });
    await expect(page.locator('#result-hex').textContent()).resolves.toContain('70 69 6E 67');
  });

  it('reads until the line goes idle', async () => {
    await page.getByLabel('Bytes', { exact: true }).fill('64');
    await page.getByRole('button', { name: 'Read until idle' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('until idle started'),
    );
    await page.getByLabel('Bytes to send').fill('idle after me');
    await page.getByRole('button', { name: 'Send to board RX' }).click();
    await page.waitForFunction(
      () => document.querySelector('#result-text')?.textContent === 'idle after me',
      null,
      {
        timeout: 20_000,
      },
    );
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('USART1 IDLE'),
    );
  });

  it('stops a transfer that is still running', async () => {
    await page.getByLabel('Bytes', { exact: true }).fill('100');
    await page.getByRole('button', { name: 'Read N bytes' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA read of 100'),
    );
    const stop = page.getByRole('button', { name: 'Stop receiving' });
    await expect(stop.isEnabled()).resolves.toBe(true);
    await stop.click();
    await page.waitForFunction(() =>
      document.querySelector('#rx-progress-text')?.textContent?.includes('stopped'),
    );
    await page.waitForFunction(() =>
      document
        .querySelector('#event-log')
        ?.textContent?.includes('DMA read of 100 bytes stopped, 0 bytes received'),
    );
    await expect(stop.isDisabled()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Read N bytes' }).isEnabled()).resolves.toBe(true);
  });

  it("shows the driver's typed error when the line has a framing error, and carries on", async () => {
    await page.getByLabel('Bytes', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Read N bytes' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA read of 4 bytes started'),
    );
    await page.getByRole('button', { name: 'Send a framing error' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 20_000 });
    await expect(alert.textContent()).resolves.toContain('SerialError');
    await expect(alert.textContent()).resolves.toContain('framing');
    // Beside the receive controls, not in the page header.
    await expect(page.locator('#receive-error').isVisible()).resolves.toBe(true);
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('USART1 framing error (FE)'),
    );
    // The error handed Serial1 back: the next read works.
    await page.getByRole('button', { name: 'Read N bytes' }).click();
    await page.waitForFunction(
      () =>
        (document.querySelector('#event-log')?.textContent?.match(/DMA read of 4 bytes started/g) ?? [])
          .length >= 3,
    );
    await page.getByLabel('Bytes to send').fill('okay');
    await page.getByRole('button', { name: 'Send to board RX' }).click();
    await page.waitForFunction(() => document.querySelector('#result-text')?.textContent === 'okay', null, {
      timeout: 20_000,
    });
    await expect(page.getByRole('alert').isHidden()).resolves.toBe(true); // a new operation clears the old error
  });

  it('shows an OverrunError when the circular monitor falls behind, and recovers', async () => {
    // A 2-byte ring hands over one byte per half: a byte arrives every 87 µs
    // at 115200 Bd, faster than the link can fetch a half. Six bytes, six
    // events: few enough that the board's event queue (8) never drops one.
    await page.getByLabel('Ring size').fill('2');
    await page.getByRole('button', { name: 'Start circular monitor' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('2-byte ring'),
    );
    await page.getByLabel('Bytes to send').fill('xxxxxx');
    await page.getByRole('button', { name: 'Send to board RX' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 20_000 });
    await expect(alert.textContent()).resolves.toContain('Circular monitor failed');
    await expect(alert.textContent()).resolves.toContain('OverrunError');
    await expect(alert.textContent()).resolves.toContain('use a larger ring size');
    await expect(page.locator('#rx-progress-text').textContent()).resolves.toBe('Circular monitor failed');
    await page.screenshot({ path: screenshotPath('console-overrun.png'), fullPage: true });
    // The reception was stopped and Serial1 handed back: a larger ring works.
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('circular reception stopped'),
    );
    await page.getByLabel('Ring size').fill('64');
    await page.getByRole('button', { name: 'Start circular monitor' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('64-byte ring'),
    );
    await page.getByLabel('Bytes to send').fill('0123456789abcdef'.repeat(2));
    await page.getByRole('button', { name: 'Send to board RX' }).click();
    await page.waitForFunction(
      () => document.querySelector('#result-text')?.textContent === '0123456789abcdef'.repeat(2),
      null,
      { timeout: 20_000 },
    );
    await page.getByRole('button', { name: 'Stop receiving' }).click();
    await page.waitForFunction(() => !document.querySelector('#monitor')?.hasAttribute('disabled'));
  });

  it('dismisses the error alert and keeps focus in the page', async () => {
    await page.getByLabel('Data', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toContain('There is nothing to send');
    const dismiss = page.getByRole('button', { name: 'Dismiss' });
    await dismiss.focus();
    await page.keyboard.press('Enter');
    await expect(alert.isHidden()).resolves.toBe(true);
    // The message went with it (a hidden alert has no role to find it by).
    await expect(page.locator('#send-error').textContent()).resolves.toBe('Dismiss');
    // The button vanished under the focus: the page's main region has it now, not <body>.
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('main');
    // The log keeps the error after the alert is gone.
    await expect(log().textContent()).resolves.toContain('Send: There is nothing to send.');
  });

  it('saves a screenshot of the connected console', async () => {
    await page.screenshot({ path: screenshotPath('console.png'), fullPage: true });
    expect(watched.errors).toEqual([]);
    // The worker, the firmware ELF and the styles all came from under the mount too.
    expect(server.notFound).toEqual([]);
  });

  it('disconnects and can connect again', async () => {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('.status-pill[data-state="disconnected"]').waitFor();
    await expect(page.locator('#hello').textContent()).resolves.toContain('not connected');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    expect(watched.errors).toEqual([]);
  });
});
