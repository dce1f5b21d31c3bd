/**
 * Measures the console while the virtual peer sends a burst that the
 * always-on terminal receives: the gaps between animation frames from the
 * injection until the terminal has every byte, read in the page.
 */
import type { Page } from 'playwright-core';
import { percentile } from './measure-send.ts';

export interface ReceiveMeasurement {
  readonly size: number;
  /** What the console said an overrun lost, if one did. */
  readonly lostNote?: string;
  readonly received: number;
  readonly durationMs: number;
  readonly frameGapP50Ms: number;
  readonly frameGapP99Ms: number;
  readonly frameGapMaxMs: number;
  readonly frames: number;
}

/** Sends `size` bytes of text lines from the peer (as hex) and waits for the terminal to have them. */
export async function measureReceive(
  page: Page,
  size: number,
  timeoutMs = 120_000,
): Promise<ReceiveMeasurement> {
  const line = 'the quick brown fox jumps over the lazy dog 0123456789 ABCDEFGH\n';
  const bytes = Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
  await page.locator('#peer-ending').selectOption('none');
  await page.locator('#peer-hex').check();
  await page.locator('#peer-data').fill(bytes.toString('hex'));
  const before = await page.evaluate(
    () =>
      (window as unknown as { dmaConsole: { terminal: { view: { receivedBytes: number } } } }).dmaConsole
        .terminal.view.receivedBytes,
  );
  await page.evaluate(`(() => {
    const m = { frames: [], running: true };
    window.__receive = m;
    const tick = (t) => { m.frames.push(t); if (m.running) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  })()`);
  const started = Date.now();
  await page.locator('#peer-inject').click();
  // Until every byte is shown, or nothing more came for 3 s (an overrun lost some: the log says how many).
  let last = -1;
  let still = 0;
  for (let waited = 0; waited < timeoutMs; waited += 250) {
    await page.waitForTimeout(250);
    const now = await page.evaluate(() => window.dmaConsole!.terminal.view.receivedBytes);
    if (now >= before + size) break;
    still = now === last ? still + 250 : 0;
    last = now;
    if (still >= 3000 && now > before) break;
  }
  const result = await page.evaluate(() => {
    const m = (window as unknown as { __receive: { frames: number[]; running: boolean } }).__receive;
    m.running = false;
    return {
      frames: m.frames,
      received: window.dmaConsole!.terminal.view.receivedBytes,
      log: document.querySelector('#event-log')?.textContent ?? '',
    };
  });
  const gaps = result.frames.slice(1).map((t, i) => t - result.frames[i]!);
  gaps.sort((a, b) => a - b);
  return {
    size,
    lostNote: result.log.match(/overran: [^;]*lost/g)?.join(', '),
    received: result.received - before,
    durationMs: Date.now() - started,
    frameGapP50Ms: percentile(gaps, 50),
    frameGapP99Ms: percentile(gaps, 99),
    frameGapMaxMs: gaps.at(-1) ?? Number.NaN,
    frames: gaps.length,
  };
}

export function describeReceive(m: ReceiveMeasurement): string {
  return (
    `${m.size} B receive burst (terminal, always listening): ${m.received} B shown in ${m.durationMs} ms; ` +
    `frame gaps p50 ${m.frameGapP50Ms.toFixed(1)} ms, p99 ${m.frameGapP99Ms.toFixed(1)} ms, ` +
    `max ${m.frameGapMaxMs.toFixed(1)} ms over ${m.frames} frames` +
    (m.lostNote ? ` (${m.lostNote}: the host link is slower than the line)` : '')
  );
}
