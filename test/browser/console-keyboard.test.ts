/**
 * The console driven from the keyboard alone, plus the parts a mouse user
 * also relies on: every control labelled, live regions present, typed
 * errors shown by class and message, a file streamed in several DMA
 * starts with a moving progress bar and a stream stopped midway, the
 * circular monitor, and a board reset in the middle of a stream.
 */
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
}, 120_000);

afterAll(async () => {
  await session?.close();
});

const focusedId = () => page.evaluate(() => document.activeElement?.id ?? '');
const logText = () => page.locator('#event-log').textContent();

/** Presses Tab until the element with `id` has focus; fails if it is not reachable. */
async function tabTo(id: string, limit = 40): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if ((await focusedId()) === id) return;
  }
  throw new Error(`#${id} is not reachable with Tab`);
}

describe('console from the keyboard', () => {
  it('labels every control and has live regions for status and log', async () => {
    const unlabelled = await page.evaluate(() =>
      Array.from(document.querySelectorAll('input, select, textarea, button'))
        .filter((el) => {
          const e = el as HTMLInputElement;
          if (e.type === 'hidden') return false;
          const byLabel = e.labels && e.labels.length > 0;
          const byAria = e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
          const byText = el.tagName === 'BUTTON' && el.textContent?.trim();
          return !(byLabel || byAria || byText);
        })
        .map((el) => el.id || el.outerHTML.slice(0, 60)),
    );
    expect(unlabelled).toEqual([]);
    await expect(page.locator('[role="status"][aria-live="polite"]').count()).resolves.toBe(1);
    await expect(page.locator('#event-log[role="log"][aria-live="polite"]').count()).resolves.toBe(1);
    // Clickable things are buttons, not divs.
    await expect(
      page.locator('div[onclick], span[onclick], [role="button"]:not(button)').count(),
    ).resolves.toBe(0);
  });

  it('offers a skip link first, then the theme, then the transport choice', async () => {
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe(
      'Skip to the console',
    );
    await page.keyboard.press('Tab');
    expect(await focusedId()).toBe('theme');
    await page.keyboard.press('Tab');
    expect(await focusedId()).toBe('transport-virtual');
  });

  it('connects with Tab and Enter, and moves focus to Disconnect', async () => {
    await tabTo('connect');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).toBe('solid'); // the focus ring is visible
    await page.keyboard.press('Enter');
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    expect(await focusedId()).toBe('disconnect');
  });

  it('shows a typed error by its class and message, as an alert', async () => {
    await page.locator('#send-format').selectOption('hex');
    await page.locator('#send-data').fill('48 6');
    await page.locator('#send-format').focus();
    await tabTo('send');
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toContain('HexInputError');
    await expect(alert.textContent()).resolves.toContain('even number of digits');
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('(HexInputError)'),
    );
  });

  it('sends hex typed at the keyboard', async () => {
    await page.locator('#send-data').fill('48 65 78 21');
    await page.locator('#send-format').focus();
    await tabTo('send');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#peer-text')?.textContent?.includes('Hex!'));
  });

  it('streams a file in double-buffered chunks with the progress bar following', async () => {
    await page.locator('#peer-clear').click();
    await page.locator('#send-format').selectOption('file');
    // 4120 bytes: eight whole chunks of 512, then a partial one of 24 that close() sends.
    const content = Buffer.from(
      Array.from({ length: 4120 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'.charCodeAt(i % 26)),
    );
    await page
      .locator('#send-file')
      .setInputFiles({ name: 'data.txt', mimeType: 'text/plain', buffer: content });
    const seen = page.evaluate(
      () =>
        new Promise<number[]>((resolve) => {
          const values: number[] = [];
          const progress = document.querySelector('#progress') as HTMLProgressElement;
          new MutationObserver(() => {
            values.push(progress.value);
            if (progress.value === 4120) resolve(values);
          }).observe(progress, { attributes: true });
        }),
    );
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    const values = await seen;
    // A chunk counts as sent once the next one has started (the writer starts one only after the last finished).
    expect(values).toContain(4096);
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA stream of 4120 bytes finished'),
    );
    // The peer's dumps are redrawn a few times a second.
    await page.waitForFunction(
      () =>
        document.querySelector('#peer-summary')?.textContent === '4120 bytes received, the last 2048 shown',
    );
    await expect(page.locator('#peer-text').textContent()).resolves.toBe(
      content.subarray(4120 - 2048).toString('latin1'),
    );
    // The dumps keep the newest bytes in view.
    const atEnd = (id: string) =>
      page
        .locator(id)
        .evaluate(
          (e) => e.scrollHeight > e.clientHeight && e.scrollTop + e.clientHeight >= e.scrollHeight - 1,
        );
    await expect(atEnd('#peer-text')).resolves.toBe(true);
    await expect(atEnd('#peer-hex-dump')).resolves.toBe(true);
    await expect(logText()).resolves.toContain('DMA stream of 4120 bytes started (512-byte chunks');
  });

  it('stops a stream no later than the end of the chunk on the wire, and says how much reached the peer', async () => {
    await page.locator('#peer-clear').click();
    const content = Buffer.alloc(40_800, 0x2e); // eighty chunks
    await page
      .locator('#send-file')
      .setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: content });
    // The progress bar shows the chunks finished; the one after them is on
    // the wire. Read it in the Stop click's own dispatch (capture runs first),
    // so how late the click lands does not matter.
    await page.evaluate(() => {
      const stop = document.querySelector('#stop')!;
      const record = () => {
        const progress = document.querySelector<HTMLProgressElement>('#progress')!;
        document.body.dataset.progressAtStop = String(progress.value);
      };
      // On the window in the capture phase: before the panel's own handler on the button.
      window.addEventListener(
        'click',
        (e) => {
          if (e.target === stop) record();
        },
        { capture: true },
      );
    });
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    // The first chunk is on the wire once the peer has its first bytes.
    await page.waitForFunction(() =>
      /^\d+ bytes? received/.test(document.querySelector('#peer-summary')?.textContent ?? ''),
    );
    await page.getByRole('button', { name: 'Stop sending' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#progress-text')?.textContent?.includes('Send stopped'),
    );
    const finishedAtStop = Number(await page.locator('body').getAttribute('data-progress-at-stop'));
    // The log line follows the progress text within the same stop.
    await page.waitForFunction(() =>
      /DMA stream stopped after \d+ of 40800 bytes/.test(
        document.querySelector('#event-log')?.textContent ?? '',
      ),
    );
    const stopped = (await logText())?.match(/DMA stream stopped after (\d+) of 40800 bytes/);
    expect(stopped).not.toBeNull();
    const sent = Number(stopped![1]);
    // The bar counts a chunk once the next has started, so at the click one
    // chunk may be on the wire and the next one accepted behind it: the abort
    // stops the channel within those two, never later.
    expect(sent).toBeGreaterThanOrEqual(finishedAtStop);
    expect(sent).toBeLessThanOrEqual(finishedAtStop + 2 * 512);
    expect(sent).toBeLessThan(40_800);
    await expect(page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value)).resolves.toBe(sent);
    await expect(page.locator('#progress-text').textContent()).resolves.toBe(
      `Send stopped: ${sent} B of 40800 B sent`,
    );
    // The peer got what the log reports, give or take the byte USART1 held
    // in TDR when the channel went off, and nothing arrives after it.
    const atPeer = async () =>
      Number((await page.locator('#peer-summary').textContent())?.match(/^\d+/)?.[0]);
    await page.waitForFunction(
      (n) =>
        Math.abs(Number(document.querySelector('#peer-summary')?.textContent?.match(/^\d+/)?.[0]) - n) <= 1,
      sent,
    );
    await page.waitForTimeout(300);
    const received = await atPeer();
    expect(Math.abs(received - sent)).toBeLessThanOrEqual(1);
    await page.locator('#transfer').screenshot({ path: screenshotPath('console-stream-stopped.png') });
    // USART1 is back for the next send, which arrives whole after the stopped stream's bytes.
    await page.locator('#send-format').selectOption('text');
    await page.locator('#send-data').fill('after the stop');
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#peer-text')?.textContent?.endsWith('after the stop'),
    );
    await expect(atPeer()).resolves.toBe(received + 'after the stop'.length);
  });

  it('monitors circular reception and stops it', async () => {
    await page.locator('#ring-size').fill('64');
    await page.getByRole('button', { name: 'Start circular monitor' }).click();
    // It borrows the receiver from the terminal's own reception first.
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('64-byte ring'),
    );
    // 40 bytes into a 64-byte ring: the first half (32 bytes) fills and is
    // handed over at HT; the other 8 when the line goes idle (USART1 IDLE).
    await page.locator('#peer-data').fill('abcdefghij'.repeat(4));
    await page.locator('#peer-inject').click();
    await page.waitForFunction(
      () => document.querySelector('#result-text')?.textContent === 'abcdefghij'.repeat(4),
      null,
      { timeout: 20_000 },
    );
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA1 ch2 HT'),
    );
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('USART1 IDLE'),
    );
    await page.keyboard.press('Escape'); // nothing bound to Escape: Stop is a button like the others
    await page.getByRole('button', { name: 'Stop receiving' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#rx-progress-text')?.textContent?.startsWith('Circular monitor stopped'),
    );
    // What it had is kept.
    await expect(page.locator('#rx-progress-text').textContent()).resolves.toBe(
      'Circular monitor stopped: 40 B received',
    );
    await expect(page.locator('#result-text').textContent()).resolves.toBe('abcdefghij'.repeat(4));
  });

  it('resets the virtual board in the middle of a stream, says so, and reopens the session', async () => {
    const before = await page.locator('#hello [data-fact="Boot epoch"]').textContent();
    await page.locator('#send-format').selectOption('file');
    await page
      .locator('#send-file')
      .setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(40_800) });
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA stream of 40800 bytes started'),
    );
    await page.getByRole('button', { name: 'Reset board' }).click();
    // The console says so in one line of the log, not an error: it recovered.
    await page
      .waitForFunction(
        () =>
          document
            .querySelector('#event-log')
            ?.textContent?.includes(
              'The board reset (reset button); the console reconnected: a new session, USART1 taken again',
            ),
        null,
        { timeout: 20_000 },
      )
      .catch(async (e: unknown) => {
        // What the console said instead, for whoever reads the failure.
        throw new Error(`${String(e)}\nevent log: ${await logText()}`);
      });
    // Whether the log line names the send depends on which the console heard first (the send's end
    // or the reset); the progress line always says it.
    await page.waitForFunction(() =>
      document.querySelector('#progress-text')?.textContent?.startsWith('Send abandoned'),
    );
    await expect(page.locator('.error-banner:not([hidden])').count()).resolves.toBe(0);
    const after = await page.locator('#hello [data-fact="Boot epoch"]').textContent();
    expect(after).not.toBe(before);
    // USART1 was taken again on the new session: the next send goes out.
    await page.locator('#send-format').selectOption('text');
    await page.locator('#send-data').fill('after the reset');
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#peer-text')?.textContent?.endsWith('after the reset'),
    );
    await page.screenshot({ path: screenshotPath('console-after-reset.png'), fullPage: true });
    expect(watched.errors).toEqual([]);
  });
});
