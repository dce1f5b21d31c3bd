/**
 * The browser console under load, in headless Chromium on the built static
 * site with the virtual board: a 64 KB burst from the peer received by the
 * always-listening terminal (frame gaps), a 60 KB file sent whole (frame
 * gaps: how smooth the page stays), then sent again and stopped part-way, a
 * few times (Stop latency: from the click to the console saying it
 * stopped). Prints figures; asserts nothing.
 *
 *   npm run bench:console
 */
import { launchChromium, openPage } from '../test/browser/support/browser.ts';
import { describeReceive, measureReceive } from '../test/browser/support/measure-receive.ts';
import { describeMeasurement, measureSend, percentile } from '../test/browser/support/measure-send.ts';
import { buildSite } from '../test/browser/support/site.ts';
import { serveDirectory } from '../test/browser/support/static-server.ts';

const SIZE = 60 * 1024;
const STOPS = Number(process.env.BENCH_STOPS ?? 5);

const site = await buildSite();
const server = await serveDirectory(site.dir);
const browser = await launchChromium();
try {
  const { page, errors } = await openPage(browser);
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
  await page.waitForFunction(
    () => document.querySelector('#terminal-listen')?.textContent === 'Stop listening',
  );

  const burst = await measureReceive(page, 64 * 1024);
  console.log(`console: ${describeReceive(burst)}`);

  const whole = await measureSend(page, SIZE, { timeoutMs: 120_000 });
  console.log(`console: ${describeMeasurement(whole)}`);
  console.log(
    `console: throughput ${((whole.sentBytes / whole.durationMs) * 1000).toFixed(0)} B/s (link 115200 Bd ≈ 11520 B/s)`,
  );

  const latencies: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < STOPS; i++) {
    // Stop at a different place in a chunk each time.
    const m = await measureSend(page, SIZE, { stopAfterBytes: 8 * 1024 + i * 700, timeoutMs: 120_000 });
    console.log(`console: ${describeMeasurement(m)}`);
    if (m.stopLatencyMs !== undefined) latencies.push(m.stopLatencyMs);
    gaps.push(...m.frameGapsMs);
  }
  latencies.sort((a, b) => a - b);
  gaps.sort((a, b) => a - b);
  console.log(
    `console: Stop latency over ${latencies.length} stops: median ${percentile(latencies, 50).toFixed(1)} ms, ` +
      `max ${latencies.at(-1)?.toFixed(1)} ms; frame gap p99 while stopping ${percentile(gaps, 99).toFixed(1)} ms`,
  );
  console.log(`console: page errors: ${errors.length}${errors.length ? `\n  ${errors.join('\n  ')}` : ''}`);
} finally {
  await browser.close();
  await server.close();
  await site.remove();
}
