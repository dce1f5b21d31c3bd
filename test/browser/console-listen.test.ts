/**
 * The terminal listens from the moment the console connects, with nothing
 * pressed: bursts of 64 B to 16 KB from the virtual peer at 115200 and at
 * 921600 Bd all arrive exactly; a UTF-8 line shows as its characters and
 * ANSI colours act; an overrun says how many bytes were lost and the
 * terminal keeps listening; the plotter draws a series from `temp=` lines.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatchedPage } from './support/browser.ts';
import {
  BOOT_RATE_LINK,
  type ConsoleSession,
  connectConsole,
  openConsole,
} from './support/console-session.ts';

let session: ConsoleSession;
let watched: WatchedPage;
let page: Page;

beforeAll(async () => {
  // The virtual board's link pinned at the boot rate: how much a burst at
  session = await openConsole({ query: BOOT_RATE_LINK });
  ({ watched, page } = session);
  await connectConsole(page);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

interface ConsoleHandle {
  terminal: { view: { receivedText(): string; screenText(): string; receivedBytes: number } };
  plotter: { state: { series: string[]; samples: number } };
}
const received = () =>
  page.evaluate(() =>
    (window as unknown as { dmaConsole: ConsoleHandle }).dmaConsole.terminal.view.receivedText(),
  );
const receivedCount = () =>
  page.evaluate(
    () => (window as unknown as { dmaConsole: ConsoleHandle }).dmaConsole.terminal.view.receivedBytes,
  );
const screen = () =>
  page.evaluate(() =>
    (window as unknown as { dmaConsole: ConsoleHandle }).dmaConsole.terminal.view.screenText(),
  );

/** A burst of `size` printable bytes, a line feed every 64, unique to `tag`. */
function burst(tag: string, size: number): string {
  let out = '';
  for (let i = 0; out.length < size; i++) {
    const line = `${tag}#${i}#`;
    out += `${line}${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2).slice(0, 63 - line.length)}\n`;
  }
  return out.slice(0, size);
}

/** Sends `text` from the virtual peer (typed as hex, so line feeds go too) and waits until the terminal has all of it. */
async function fromPeer(text: string, timeout = 30_000): Promise<void> {
  const before = await receivedCount();
  const bytes = Buffer.from(text, 'utf8');
  await page.locator('#peer-ending').selectOption('none');
  await page.locator('#peer-hex').check();
  await page.locator('#peer-data').fill(bytes.toString('hex'));
  await page.locator('#peer-inject').click();
  await page.waitForFunction(
    (n) => (window as unknown as { dmaConsole: ConsoleHandle }).dmaConsole.terminal.view.receivedBytes >= n,
    before + bytes.length,
    { timeout },
  );
}

async function setBaud(baud: number): Promise<void> {
  await page.locator('#usart-settings summary').click();
  await page.locator('#usart-baud').fill(String(baud));
  await page.locator('#usart-apply').click();
  await page.waitForFunction(
    (b) => document.querySelector('#event-log')?.textContent?.includes(`USART1 set to ${b} Bd 8N1`),
    baud,
  );
  await page.waitForFunction(
    () => document.querySelector('#terminal-listen')?.textContent === 'Stop listening',
  );
  await page.locator('#usart-settings summary').click();
}

describe('the terminal, always listening', () => {
  it('listens from connect, in a ring sized from the arena and the rates', async () => {
    await page.waitForFunction(() =>
      /circular reception started in a \d+-byte ring/.test(
        document.querySelector('#event-log')?.textContent ?? '',
      ),
    );
    const ring = Number(
      (await page.locator('#event-log').textContent())?.match(/started in a (\d+)-byte ring/)?.[1],
    );
    const arenaKiB = Number(
      (await page.locator('#hello [data-fact="Arena"]').textContent())?.match(/\+ ([\d.]+) KiB/)?.[1],
    );
    // Far more than the 256 bytes it once had, and room left in the arena for sends.
    expect(ring).toBeGreaterThanOrEqual(4096);
    expect(ring).toBeLessThan(arenaKiB * 1024);
    await expect(page.locator('#terminal-status').textContent()).resolves.toContain('Listening');
  });

  for (const baud of [115_200, 921_600]) {
    it(`takes bursts of 64 B to 16 KB whole at ${baud} Bd`, async () => {
      if (baud !== 115_200) await setBaud(baud);
      for (const size of [64, 1000, 4096, 16_384]) {
        const text = burst(`${baud / 100}-${size}`, size);
        const before = await receivedCount();
        await fromPeer(text);
        // Exactly these bytes, once each, in order: nothing lost, nothing doubled.
        await expect(receivedCount()).resolves.toBe(before + size);
        expect((await received()).endsWith(text)).toBe(true);
      }
      await expect(page.locator('#event-log').textContent()).resolves.not.toContain('overran');
    }, 90_000);
  }

  it('says how many bytes an overrun lost and keeps listening', async () => {
    // At 921600 Bd the line brings 92 KB/s, eight times what a 115200 Bd link carries: a 60 KB burst outruns the ring.
    const text = burst('flood', 60_000);
    await page.locator('#peer-hex').check();
    await page.locator('#peer-data').fill(Buffer.from(text).toString('hex'));
    await page.locator('#peer-inject').click();
    await page.waitForFunction(
      () =>
        /overran: at least \d+ bytes lost; listening again/.test(
          document.querySelector('#event-log')?.textContent ?? '',
        ),
      null,
      { timeout: 30_000 },
    );
    const log = (await page.locator('#event-log').textContent()) ?? '';
    const lost = Number(log.match(/overran: at least (\d+) bytes lost/)?.[1]);
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThanOrEqual(60_000);
    await expect(page.locator('#terminal-status').textContent()).resolves.toMatch(
      /lost to an overrun|Listening/,
    );
    // Still listening: the next burst arrives whole.
    await page.waitForFunction(
      () => document.querySelector('#terminal-listen')?.textContent === 'Stop listening',
    );
    const after = burst('after', 2000);
    await fromPeer(after);
    expect((await received()).endsWith(after)).toBe(true);
    await setBaud(115_200);
  }, 90_000);

  it('folds a run of USART1 overruns into one line', async () => {
    // A 2-byte ring overruns at once; while the receiver changes hands the
    // USART may overrun byte after byte. How many times depends on timing:
    // whatever happened, the log must not flood.
    await page.locator('#ring-size').fill('2');
    await page.getByRole('button', { name: 'Start circular monitor' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('2-byte ring'),
    );
    await page.locator('#peer-hex').check();
    await page.locator('#peer-data').fill('55'.repeat(3000));
    await page.locator('#peer-inject').click();
    await page.waitForFunction(
      () => document.querySelector('#terminal-listen')?.textContent === 'Stop listening',
      null,
      { timeout: 30_000 },
    );
    // 3000 characters at 115200 Bd: about 0.26 s on the line.
    await page.waitForTimeout(600);
    const log = (await page.locator('#event-log').textContent()) ?? '';
    expect(log.match(/USART1 overrun \(ORE\)/g)?.length ?? 0).toBeLessThan(4);
    // The folding itself, exactly: 490 overrun reports in a burst are one line.
    await page.evaluate(() => {
      const app = (
        window as unknown as { dmaConsole: { log: { add(k: string, m: string, d?: string): void } } }
      ).dmaConsole;
      for (let i = 0; i < 490; i++) app.log.add('error', 'USART1 overrun (ORE)', `#${i}`);
    });
    // (Real overruns of the burst above, within the folding window, fold into the same line.)
    await page.waitForFunction(() => {
      const m = (document.querySelector('#event-log')?.textContent ?? '').match(
        /USART1 overrun \(ORE\) × (\d+) in \d+\.\d s/,
      );
      return m !== null && Number(m[1]) >= 490;
    });
    const folded = (await page.locator('#event-log').textContent()) ?? '';
    expect(folded.match(/USART1 overrun \(ORE\) × \d+ in/g)).toHaveLength(1);
  }, 60_000);

  it('shows a UTF-8 line as its characters and acts on ANSI colours', async () => {
    await fromPeer('héllo wörld ✓ 温度\r\n\x1b[31mred\x1b[0m plain\r\n');
    await page.waitForFunction(() =>
      (window as unknown as { dmaConsole: ConsoleHandle }).dmaConsole.terminal.view
        .screenText()
        .includes('red plain'),
    );
    const shown = await screen();
    expect(shown).toContain('héllo wörld ✓ 温度');
    // The escape sequence coloured the text; it is not drawn.
    expect(shown).not.toContain('[31m');
    const redCells = await page.locator('#terminal-output .xterm-rows span[class*="xterm-fg-1"]').count();
    expect(redCells).toBeGreaterThan(0);
  });

  it('plots the numbers of temp= lines, one series per field', async () => {
    await page.locator('#peer-ending').selectOption('lf');
    await page.locator('#peer-hex').uncheck();
    for (const [t, adc] of [
      [21.5, 1200],
      [22.5, 1234],
      [23, 1300],
      [22, 1250],
    ]) {
      await page.locator('#peer-data').fill(`temp=${t} adc=${adc}`);
      await page.locator('#peer-inject').click();
      await page.waitForTimeout(60);
    }
    await page.waitForFunction(
      () => (window as unknown as { dmaConsole: ConsoleHandle }).dmaConsole.plotter.state.samples >= 4,
    );
    const state = await page.evaluate(
      () => (window as unknown as { dmaConsole: ConsoleHandle }).dmaConsole.plotter.state,
    );
    expect(state.series).toEqual(['temp', 'adc']);
    // uPlot drew it: its canvas and a legend entry per series.
    await page.locator('#plot-chart canvas').waitFor();
    await expect(page.locator('#plot-chart .u-legend .u-series').allTextContents()).resolves.toEqual(
      expect.arrayContaining([expect.stringContaining('temp'), expect.stringContaining('adc')]),
    );
    const painted = await page.locator('#plot-chart canvas').evaluate((c: HTMLCanvasElement) => {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let blue = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 2]! > 180 && data[i]! < 90) blue++;
      return blue;
    });
    expect(painted).toBeGreaterThan(20); // the temp series' line (#2563eb)
    const download = page.waitForEvent('download');
    await page.locator('#plot-export').click();
    const csv = await (await download).path();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('time_s,temp,adc');
    expect(lines.slice(-4).map((l) => l.split(',').slice(1).join(','))).toEqual([
      '21.5,1200',
      '22.5,1234',
      '23,1300',
      '22,1250',
    ]);
    expect(watched.errors).toEqual([]);
  });
});
