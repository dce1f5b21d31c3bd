/**
 * Measures the console while it sends a file by DMA: the gaps between
 * animation frames (how smooth the page stays) and, when asked, how long
 * Stop takes from the click to the console saying the send stopped. The
 * clock is the page's own (performance.now), read inside the page, so how
 * fast the test runner drives the browser does not count.
 */
import type { Page } from 'playwright-core';

export interface SendMeasurement {
  /** Bytes in the file. */
  readonly size: number;
  /** Frame gaps during the send, ms, sorted. */
  readonly frameGapsMs: number[];
  readonly frameGapP50Ms: number;
  readonly frameGapP99Ms: number;
  readonly frameGapMaxMs: number;
  /** From the Send click to the end (finished, or stopped). */
  readonly durationMs: number;
  /** From the Stop click to "Send stopped" on the page; undefined when not stopped. */
  readonly stopLatencyMs?: number;
  /** Bytes the console reports sent. */
  readonly sentBytes: number;
}

const RECORDER = `(() => {
  const m = { frames: [], running: true, stopClick: undefined, stopped: undefined };
  window.__measure = m;
  const tick = (t) => {
    m.frames.push(t);
    if (m.running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const stop = document.querySelector('#stop');
  window.addEventListener('click', (e) => {
    if (e.target === stop && m.stopClick === undefined) m.stopClick = performance.now();
  }, { capture: true });
  const text = document.querySelector('#progress-text');
  new MutationObserver(() => {
    if (m.stopped === undefined && (text.textContent || '').startsWith('Send stopped')) m.stopped = performance.now();
  }).observe(text, { childList: true, characterData: true, subtree: true });
})()`;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Sends `size` bytes as a file through the transfer panel. With
 * `stopAfterBytes`, presses Stop once the progress bar passes that many.
 */
export async function measureSend(
  page: Page,
  size: number,
  options: { stopAfterBytes?: number; timeoutMs?: number } = {},
): Promise<SendMeasurement> {
  const timeout = options.timeoutMs ?? 60_000;
  await page.locator('#send-format').selectOption('file');
  const content = Buffer.alloc(size);
  for (let i = 0; i < size; i++) content[i] = 0x20 + (i % 95);
  await page
    .locator('#send-file')
    .setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: content });

  // Frames and the stop's two ends are recorded in the page. A string, so
  // no helper a TypeScript loader adds to named functions leaks into the page.
  await page.evaluate(RECORDER);
  // A new send starts from zero: the bar must not still show the last one's end.
  const started = await page.evaluate(() => {
    (document.querySelector('#progress') as HTMLProgressElement).value = 0;
    return performance.now();
  });
  await page.locator('#send').click();
  if (options.stopAfterBytes !== undefined) {
    await page.waitForFunction(
      (n) => (document.querySelector('#progress') as HTMLProgressElement).value >= n,
      options.stopAfterBytes,
      { timeout },
    );
    await page.locator('#stop').click();
    await page.waitForFunction(
      () => document.querySelector('#progress-text')?.textContent?.startsWith('Send stopped'),
      null,
      {
        timeout,
      },
    );
  } else {
    await page.waitForFunction(
      (n) => document.querySelector('#progress-text')?.textContent === n,
      `${size} B of ${size} B sent`,
      { timeout },
    );
  }
  const result = await page.evaluate(() => {
    const m = (
      window as unknown as {
        __measure: { frames: number[]; running: boolean; stopClick?: number; stopped?: number };
      }
    ).__measure;
    m.running = false;
    return { frames: m.frames, stopClick: m.stopClick, stopped: m.stopped, now: performance.now() };
  });
  const sentBytes = await page.locator('#progress').evaluate((p: HTMLProgressElement) => p.value);
  const gaps = result.frames.slice(1).map((t, i) => t - result.frames[i]!);
  gaps.sort((a, b) => a - b);
  const end = result.stopped ?? result.now;
  return {
    size,
    frameGapsMs: gaps,
    frameGapP50Ms: percentile(gaps, 50),
    frameGapP99Ms: percentile(gaps, 99),
    frameGapMaxMs: gaps.at(-1) ?? Number.NaN,
    durationMs: end - started,
    stopLatencyMs:
      result.stopClick !== undefined && result.stopped !== undefined
        ? result.stopped - result.stopClick
        : undefined,
    sentBytes,
  };
}

export function describeMeasurement(m: SendMeasurement): string {
  const f = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(1));
  return (
    `${m.size} B send: ${m.sentBytes} B in ${f(m.durationMs)} ms; frame gaps p50 ${f(m.frameGapP50Ms)} ms, ` +
    `p99 ${f(m.frameGapP99Ms)} ms, max ${f(m.frameGapMaxMs)} ms over ${m.frameGapsMs.length} frames` +
    (m.stopLatencyMs === undefined ? '' : `; Stop answered in ${f(m.stopLatencyMs)} ms`)
  );
}
