/**
 * The console's terminal, full duplex and smoothness on the virtual board
 * in headless Chromium: registers right after connecting, loopback with a
 * send and a reception at once, reads with a timeout, input limits, the
 * terminal (line endings, history, hex, timestamps, pause, clear, save),
 * USART1 settings, the link rate, the timeline, a 60 KB send measured
 * (frame gaps and Stop latency printed, not asserted), a disconnect in the
 * middle of a send.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath, type WatchedPage } from './support/browser.ts';
import {
  BOOT_RATE_LINK,
  type ConsoleSession,
  connectConsole,
  openConsole,
} from './support/console-session.ts';
import { describeMeasurement, measureSend } from './support/measure-send.ts';

let session: ConsoleSession;
let watched: WatchedPage;
let page: Page;

beforeAll(async () => {
  // The virtual link pinned at the boot rate, as on a real board's first
  session = await openConsole({ query: BOOT_RATE_LINK });
  ({ watched, page } = session);
  await connectConsole(page);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

const text = (selector: string) => page.locator(selector).textContent();
const until = (fn: string) => page.waitForFunction(fn, null, { timeout: 20_000 });
const register = (name: string) => text(`tr[data-register="${name}"] td.value`);

describe('console terminal and full duplex', () => {
  it('shows USART1 as configured right after connecting', async () => {
    // 115200 Bd from the 64 MHz kernel clock: BRR = 556; UE, RE and TE set.
    await until(
      `document.querySelector('tr[data-register="USART1_BRR"] td.value')?.textContent === '0x0000022C'`,
    );
    await expect(register('USART1_CR1')).resolves.toBe('0x0000000D');
    // The link runs at the fastest rate the worker said it keeps up with.
    const chosen = (await text('#event-log'))?.match(/link up to (\d+) Bd/)?.[1];
    expect(chosen).toBeDefined();
    await expect(text('#link-rate')).resolves.toBe(`${chosen} Bd`);
  });

  it('limits the byte count to the arena and says so beside the receive controls', async () => {
    // The arena as HELLO gave it, e.g. "0x20001000 + 24 KiB".
    const arena = (await text('#hello [data-fact="Arena"]'))?.match(/\+ ([\d.]+) KiB/);
    expect(arena).not.toBeNull();
    const bytes = Number(arena![1]) * 1024;
    await expect(page.locator('#read-count').getAttribute('max')).resolves.toBe(String(bytes));
    await page.locator('#read-count').fill(String(bytes + 1));
    await page.locator('#read-exact').click();
    const error = page.locator('#receive-error');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain(`at most ${bytes} bytes, the board's DMA memory`);
    await page.locator('#read-count').fill('16');
  });

  it('times out a read after the timeout shown and keeps what arrived', async () => {
    await expect(page.locator('#read-timeout').inputValue()).resolves.toBe('5000');
    // Long enough for the peer's bytes to arrive first on a loaded machine (they take 0.3 ms of the link).
    await page.locator('#read-timeout').fill('2000');
    await page.locator('#read-exact').click();
    await until(
      `document.querySelector('#event-log')?.textContent?.includes('DMA read of 16 bytes started')`,
    );
    await page.locator('#peer-data').fill('abc');
    await page.locator('#peer-inject').click();
    await until(`document.querySelector('#rx-progress-text')?.textContent?.includes('timed out')`);
    await expect(text('#rx-progress-text')).resolves.toBe('Read 16 B: timed out, 3 B of 16 B received');
    await expect(text('#result-text')).resolves.toBe('abc');
    await page.locator('#read-timeout').fill('5000');
  });

  it('receives while it sends: loopback on a split USART1', async () => {
    await page.locator('#peer-loopback').check();
    await page.locator('#read-count').fill('12');
    await page.locator('#read-exact').click();
    await until(
      `document.querySelector('#event-log')?.textContent?.includes('DMA read of 12 bytes started')`,
    );
    // The read is still running: the send goes out on the other channel.
    await expect(page.locator('#send').isEnabled()).resolves.toBe(true);
    await page.locator('#send-format').selectOption('text');
    await page.locator('#send-data').fill('full duplex!');
    await page.locator('#send').click();
    await until(`document.querySelector('#result-text')?.textContent === 'full duplex!'`);
    await expect(text('#rx-progress-text')).resolves.toBe('Read 12 B: complete, 12 B of 12 B received');
  });

  it('is a terminal: line endings, history, hex, timestamps, pause, clear', async () => {
    // It already shows what the reads above received.
    await until(`window.dmaConsole.terminal.view.receivedText() === 'abcfull duplex!'`);
    await page.locator('#terminal-clear').click();
    // Listening since the connection: nothing to press.
    await expect(text('#terminal-listen')).resolves.toBe('Stop listening');
    await page.locator('#terminal-ending').selectOption('crlf');
    await page.locator('#terminal-input').fill('hi');
    await page.locator('#terminal-input').press('Enter');
    // What was sent, marked and with CR LF pictured, then what came back through the loopback.
    await until(`window.dmaConsole.terminal.view.screenText() === '→ hi␍␊\\nhi'`);
    await expect(page.locator('#terminal-input').inputValue()).resolves.toBe('');
    await page.locator('#terminal-input').press('ArrowUp');
    await expect(page.locator('#terminal-input').inputValue()).resolves.toBe('hi');
    await page.locator('#terminal-input').press('ArrowDown');
    await expect(page.locator('#terminal-input').inputValue()).resolves.toBe('');

    await page.locator('#terminal-mode').selectOption('hex');
    await until(`window.dmaConsole.terminal.view.screenText() === '→ 68 69 0D 0A\\n68 69 0D 0A'`);
    await page.locator('#terminal-mode').selectOption('text');
    await page.locator('#terminal-timestamps').check();
    await until(
      `/^\\[ +\\d+\\.\\d{3}\\] → hi␍␊\\n\\[ +\\d+\\.\\d{3}\\] hi$/.test(window.dmaConsole.terminal.view.screenText())`,
    );
    await page.locator('#terminal-timestamps').uncheck();
    await until(`window.dmaConsole.terminal.view.screenText() === '→ hi␍␊\\nhi'`);

    await page.locator('#terminal-pause').check();
    await page.locator('#terminal-ending').selectOption('lf');
    await page.locator('#terminal-input').fill('later');
    await page.locator('#terminal-input').press('Enter');
    await until(
      `document.querySelector('#event-log')?.textContent?.includes('DMA write of 6 bytes finished')`,
    );
    await until(`window.dmaConsole.terminal.view.receivedText().endsWith('later\\n')`);
    await page.waitForTimeout(200);
    await expect(page.evaluate(() => window.dmaConsole!.terminal.view.screenText())).resolves.toBe(
      '→ hi␍␊\nhi',
    );
    await page.locator('#terminal-pause').uncheck();
    await until(`window.dmaConsole.terminal.view.screenText().endsWith('later')`);
    await page.locator('#terminal').screenshot({ path: screenshotPath('console-terminal.png') });

    // Search selects the match in the output.
    await page.locator('#terminal-search').fill('later');
    await page.locator('#terminal-search').press('Enter');
    await expect(text('#terminal-find-status')).resolves.toBe('');
    await page.locator('#terminal-search').fill('absent words');
    await page.locator('#terminal-search').press('Enter');
    await expect(text('#terminal-find-status')).resolves.toBe('No match');

    const download = page.waitForEvent('download');
    await page.locator('#terminal-save').click();
    const saved = readFileSync(await (await download).path(), 'utf8');
    expect(saved).toMatch(/\] → hi␍␊\n/);
    expect(saved).toContain('== Event log');
    expect(saved).toContain('DMA write of 4 bytes finished');

    await page.locator('#terminal-clear').click();
    await until(`window.dmaConsole.terminal.view.screenText() === ''`);
  });

  it('draws the timeline with the DMA and USART events', async () => {
    await until(`/\\d+ TC/.test(document.querySelector('#timeline-summary')?.textContent ?? '')`);
    const summary = await text('#timeline-summary');
    expect(summary).toMatch(/B sent, .*B received; .*(TC.*IDLE|IDLE.*TC)/);
    await expect(page.locator('#timeline-canvas').getAttribute('aria-label')).resolves.toContain('sent');
  });

  it('changes the USART1 line settings, and refuses what it cannot do', async () => {
    await page.locator('#usart-settings summary').click();
    await page.locator('#usart-baud').fill('9600');
    await page.locator('#usart-data-bits').selectOption('7');
    await page.locator('#usart-parity').selectOption('even');
    await page.locator('#usart-stop-bits').selectOption('2');
    await page.locator('#usart-apply').click();
    // 64 MHz / 9600 = 6667 = 0x1A0B; CR1 = UE, RE, TE with PCE (8-bit word: 7 data + parity); CR2 STOP = 2.
    await until(
      `document.querySelector('tr[data-register="USART1_BRR"] td.value')?.textContent === '0x00001A0B'`,
    );
    await expect(register('USART1_CR1')).resolves.toBe('0x0000040D');
    await expect(register('USART1_CR2')).resolves.toBe('0x00002000');
    await until(`document.querySelector('#event-log')?.textContent?.includes('USART1 set to 9600 Bd 7E2')`);
    // The terminal was listening: it listens again at the new rate.
    await until(`document.querySelector('#terminal-listen')?.textContent === 'Stop listening'`);

    await page.locator('#usart-baud').fill('300');
    await page.locator('#usart-apply').click();
    await page.locator('#terminal-error').waitFor();
    await expect(text('#terminal-error')).resolves.toContain("300 Bd is out of USART1's reach");
    await expect(page.locator('#usart-baud').inputValue()).resolves.toBe('9600');

    await page.locator('#usart-baud').fill('115200');
    await page.locator('#usart-data-bits').selectOption('8');
    await page.locator('#usart-parity').selectOption('none');
    await page.locator('#usart-stop-bits').selectOption('1');
    await page.locator('#usart-apply').click();
    await until(
      `document.querySelector('tr[data-register="USART1_BRR"] td.value')?.textContent === '0x0000022C'`,
    );
    await page.locator('#terminal-listen').click();
    await until(`document.querySelector('#terminal-listen')?.textContent === 'Listen'`);
    await page.locator('#peer-loopback').uncheck();
  });

  it('uses the terminal controls from the keyboard alone', async () => {
    await page.locator('#terminal-ending').focus();
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('terminal-input');
    await page.keyboard.type('key');
    await page.keyboard.press('Tab'); // line ending
    await page.keyboard.press('Tab'); // Send line
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('terminal-send');
    await page.keyboard.press('Enter');
    await until(`document.querySelector('#peer-text')?.textContent?.endsWith('key·')`);
    await page.keyboard.press('Tab'); // the terminal's error slot is hidden: next is Listen
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('terminal-listen');
    await page.keyboard.press('Space');
    await until(`document.querySelector('#terminal-listen')?.getAttribute('aria-pressed') === 'true'`);
    await page.keyboard.press('Space');
    await until(`document.querySelector('#terminal-listen')?.getAttribute('aria-pressed') === 'false'`);
    // Search: type, Enter for the next match, Shift+Enter for the one before.
    await page.locator('#terminal-search').fill('');
    await page.locator('#terminal-search').focus();
    await page.keyboard.type('key');
    await page.keyboard.press('Enter');
    await expect(text('#terminal-find-status')).resolves.toBe('');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('terminal-find-prev');
    // The output is passed through by Tab, never a trap.
    await page.locator('#terminal-save').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('terminal-search');
  });

  it('stops listening when Stop comes before the board confirmed the start', async () => {
    const stopped = (await text('#event-log'))?.match(/circular reception stopped/g)?.length ?? 0;
    // Both clicks in one task: the second lands while the start is on the link.
    await page.evaluate(() => {
      const listen = document.querySelector<HTMLButtonElement>('#terminal-listen')!;
      listen.click();
      listen.click();
    });
    await until(
      `(document.querySelector('#event-log')?.textContent?.match(/circular reception stopped/g)?.length ?? 0) > ${stopped}`,
    );
    await expect(text('#terminal-listen')).resolves.toBe('Listen');
  });

  it('sends 60 KB smoothly and stops at once (figures printed)', async () => {
    const m = await measureSend(page, 60 * 1024, { stopAfterBytes: 8 * 1024 });
    console.log(`console benchmark (test run): ${describeMeasurement(m)}`);
    expect(m.stopLatencyMs).toBeDefined();
    expect(m.sentBytes).toBeGreaterThanOrEqual(8 * 1024);
    expect(m.sentBytes).toBeLessThan(60 * 1024);
    await until(
      `document.querySelector('#event-log')?.textContent?.includes('DMA stream stopped after ${m.sentBytes} of 61440 bytes')`,
    );
  });

  it('survives a disconnect in the middle of a send, and connects again', async () => {
    await page.locator('#send-file').setInputFiles({
      name: 'big.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(30_000, 0x41),
    });
    await page.locator('#send').click();
    await until(`(document.querySelector('#progress')?.value ?? 0) > 2000`);
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('.status-pill[data-state="disconnected"]').waitFor();
    await page.waitForTimeout(300);
    expect(watched.errors).toEqual([]);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: screenshotPath('console-desktop.png'), fullPage: true });
    expect(watched.errors).toEqual([]);
  });
});
