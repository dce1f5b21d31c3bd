/**
 * The console's WebUSB CDC-ACM path in headless Chromium, in a browser
 * that has WebUSB but no WebSerial (as Chrome on Android), against an
 * injected `navigator.usb` whose ST-LINK-shaped device is a virtual board
 * running in the page: interfaces found by class and claimed, 115200 8N1
 * and DTR/RTS set by class requests, bytes over the bulk endpoints, and
 * the interfaces released before the device closes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatchedPage } from './support/browser.ts';
import { type ConsoleSession, openConsole } from './support/console-session.ts';
import { bundleInitScript } from './support/init-script.ts';
import { FIRMWARE_ELF } from './support/site.ts';

let session: ConsoleSession;
let watched: WatchedPage;
let page: Page;

beforeAll(async () => {
  const script = await bundleInitScript(join(import.meta.dirname, 'fixtures/fake-web-usb.ts'), {
    __fakeUsbFirmware: readFileSync(FIRMWARE_ELF).toString('base64'),
  });
  session = await openConsole({ initScript: script });
  ({ watched, page } = session);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

const calls = () => page.evaluate(() => window.__fakeUsb?.calls.slice() ?? []);

describe('console over WebUSB CDC-ACM (injected navigator.usb)', () => {
  it('offers WebUSB and explains why WebSerial is not there', async () => {
    await expect(page.getByRole('radio', { name: 'WebSerial' }).isDisabled()).resolves.toBe(true);
    await expect(page.locator('#transport-webserial-note').textContent()).resolves.toContain('not available');
    await expect(page.getByRole('radio', { name: 'WebUSB' }).isEnabled()).resolves.toBe(true);
  });

  it('claims the VCP interfaces, sets 115200 8N1 and DTR/RTS, and shows the HELLO', async () => {
    await page.getByRole('radio', { name: 'WebUSB' }).check();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    expect(await calls()).toEqual([
      'requestDevice 483',
      'open',
      'selectConfiguration 1',
      'claim 2',
      'claim 3',
      'control class 0x20 value 0 index 2 [00 c2 01 00 00 00 08]',
      'control class 0x22 value 3 index 2',
    ]);
    await expect(page.locator('#hello [data-fact="DEV_ID"]').textContent()).resolves.toContain('0x460');
    await expect(page.locator('#hello [data-fact="Port"]').textContent()).resolves.toContain('STM32 STLink');
  });

  it('sends by DMA through the bulk endpoints', async () => {
    await page.getByLabel('Data', { exact: true }).fill('over WebUSB');
    await page.getByRole('button', { name: 'Send by DMA' }).click();
    await page.waitForFunction(() => window.__fakeUsb?.peerText().includes('over WebUSB'), null, {
      timeout: 20_000,
    });
  });

  it('drops DTR and releases the interfaces before closing the device', async () => {
    const before = (await calls()).length;
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('.status-pill[data-state="disconnected"]').waitFor();
    expect((await calls()).slice(before)).toEqual([
      'control class 0x22 value 0 index 2',
      'release 3',
      'release 2',
      'close',
    ]);
  });

  it('reports an unplugged device', async () => {
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.locator('.status-pill[data-state="connected"]').waitFor({ timeout: 20_000 });
    await page.evaluate(() => window.__fakeUsb?.unplug());
    await page.locator('.status-pill[data-state="lost"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('.status').textContent()).resolves.toContain('unplugged');
    expect(watched.errors).toEqual([]);
  });
});
