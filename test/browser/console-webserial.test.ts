/**
 * The console's WebSerial code path in headless Chromium, against an
 * injected `navigator.serial` whose port is a virtual board running in the
 * page: the chooser's filter, 8N1 at 115200, a DMA write through it, a
 * close that releases the stream locks before closing the port, and an
 * unplugged device reported as such.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath, type WatchedPage } from './support/browser.ts';
import { type ConsoleSession, openConsole } from './support/console-session.ts';
import { bundleInitScript } from './support/init-script.ts';
import { FIRMWARE_ELF, REPO_ROOT } from './support/site.ts';

const FIRMWARE_BIN = join(REPO_ROOT, 'firmware-bridge/build/bridge.bin');

let session: ConsoleSession;
let watched: WatchedPage;
let page: Page;

beforeAll(async () => {
  const script = await bundleInitScript(join(import.meta.dirname, 'fixtures/fake-web-serial.ts'), {
    __fakeSerialFirmware: readFileSync(FIRMWARE_ELF).toString('base64'),
  });
  session = await openConsole({ colorScheme: 'dark', initScript: script });
  ({ watched, page } = session);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

const calls = () => page.evaluate(() => window.__fakeSerial?.calls.slice() ?? []);

async function connectWebSerial(): Promise<void> {
  await page.getByRole('radio', { name: 'WebSerial' }).check();
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
}

describe('console over WebSerial (injected navigator.serial)', () => {
  it('offers WebSerial because the browser has it', async () => {
    await expect(page.getByRole('radio', { name: 'WebSerial' }).isEnabled()).resolves.toBe(true);
  });

  it('asks for an ST-LINK port, opens it at 115200 8N1, moves the link to 2 Mbaud and shows the HELLO', async () => {
    await connectWebSerial();
    // getPorts() at load found no granted port, so the chooser came up; once
    // the board agreed to 2 Mbaud the port was reopened at that rate.
    expect(await calls()).toEqual([
      'getPorts',
      'requestPort 483',
      'open 115200 8N1',
      'close',
      'open 2000000 8N1',
    ]);
    await expect(page.locator('#hello [data-fact="Clocks"]').textContent()).resolves.toContain(
      'link 2000000 Bd',
    );
    await expect(page.locator('#hello [data-fact="DEV_ID"]').textContent()).resolves.toContain('0x460');
    await expect(page.locator('#hello [data-fact="Port"]').textContent()).resolves.toContain('0483:374b');
    await expect(page.locator('.status').textContent()).resolves.toContain('WebSerial');
    // No virtual peer on a real port: the panel is for the in-page virtual board only.
    await expect(page.locator('#peer').isHidden()).resolves.toBe(true);
  });

  it('sends by DMA through the serial port', async () => {
    await page.getByLabel('Data', { exact: true }).fill('over WebSerial');
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    await page.waitForFunction(() => window.__fakeSerial?.peerText().includes('over WebSerial'), null, {
      timeout: 20_000,
    });
    await page.waitForFunction(() =>
      document.querySelector('#progress-text')?.textContent?.includes('14 B of 14 B'),
    );
  });

  it('reads by DMA through the serial port', async () => {
    await page.getByLabel('Bytes', { exact: true }).fill('3');
    await page.getByRole('button', { name: 'Read N bytes' }).click();
    await page.waitForFunction(() =>
      document.querySelector('#event-log')?.textContent?.includes('DMA read of 3'),
    );
    await page.evaluate(() => window.__fakeSerial?.inject('abc'));
    await page.waitForFunction(() => document.querySelector('#result-text')?.textContent === 'abc', null, {
      timeout: 20_000,
    });
    await page.screenshot({ path: screenshotPath('console-webserial-dark.png'), fullPage: true });
  });

  it('releases the stream locks before closing the port', async () => {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('.status-pill[data-state="disconnected"]').waitFor();
    const log = await calls();
    expect(log.at(-1)).toBe('close');
    expect(log.filter((c) => c.includes('locked'))).toEqual([]);
  });

  it('reports an unplugged device', async () => {
    await connectWebSerial();
    await page.evaluate(() => window.__fakeSerial?.unplug());
    await page.locator('.status-pill[data-state="lost"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('.status').textContent()).resolves.toContain('unplugged');
    await expect(page.getByRole('button', { name: 'Connect', exact: true }).isEnabled()).resolves.toBe(true);
    expect(watched.errors).toEqual([]);
  });

  it('reconnects by itself when the board is plugged back in', async () => {
    const before = (await calls()).length;
    await page.evaluate(() => window.__fakeSerial?.replug());
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    // The same port, opened again without the chooser.
    expect((await calls()).slice(before)).toEqual(['replug', 'open 115200 8N1', 'close', 'open 2000000 8N1']);
    await expect(page.locator('#event-log').textContent()).resolves.toContain(
      'plugged in again; reconnecting',
    );
  });

  it('offers the port granted before after a reload, and connects without the chooser', async () => {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('.status-pill[data-state="disconnected"]').waitFor();
    await page.reload();
    await page.locator('#granted-port:not([hidden])').waitFor();
    await expect(page.locator('#granted-port').textContent()).resolves.toBe(
      'WebSerial remembers USB serial 0483:374b: Connect opens it.',
    );
    await expect(page.getByRole('radio', { name: 'WebSerial' }).isChecked()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    expect(await calls()).toEqual(['getPorts', 'open 115200 8N1', 'close', 'open 2000000 8N1']);
    await expect(page.getByRole('button', { name: 'Choose another port' }).isDisabled()).resolves.toBe(true);
  });

  it('says when no bridge answers, and links to the steps for flashing it', async () => {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('.status-pill[data-state="disconnected"]').waitFor();
    await page.evaluate(() => window.__fakeSerial?.silence());
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const error = page.locator('#connect-error');
    await error.waitFor({ timeout: 20_000 });
    await expect(error.textContent()).resolves.toContain('No bridge firmware answered on this port');
    // Collapsed after the first visit; the link opens the steps and goes there.
    await page.locator('#flash-steps').evaluate((d: HTMLDetailsElement) => {
      d.open = false;
    });
    await error.getByRole('link', { name: 'How to flash the bridge firmware' }).click();
    await expect(page.locator('#flash-steps').evaluate((d: HTMLDetailsElement) => d.open)).resolves.toBe(
      true,
    );
    const steps = await page.locator('#flash-steps').textContent();
    for (const fact of [
      'NOD_G071RB',
      'NODE_G071RB',
      'Unplug the USB cable and plug it back in',
      'st-flash --reset write bridge.bin 0x08000000',
    ]) {
      expect(steps).toContain(fact);
    }
    // The download is the firmware's flash image as built.
    const href = await page.locator('#firmware-download').getAttribute('href');
    expect(await page.locator('#firmware-download').getAttribute('download')).toBe('bridge.bin');
    const size = await page.evaluate(
      async (url) => (await (await fetch(url!)).arrayBuffer()).byteLength,
      href,
    );
    expect(size).toBe(statSync(FIRMWARE_BIN).size);
    await page.locator('#flash-steps').screenshot({ path: screenshotPath('console-first-steps.png') });
    expect(watched.errors).toEqual([]);
  });
});
