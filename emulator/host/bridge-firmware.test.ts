/**
 * Where the virtual board's default firmware comes from: the images in
 * firmware-bridge/build/ relative to the module (the checkout's build here),
 * read from disk in Node and fetched over HTTP elsewhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BRIDGE_FIRMWARE_URL, BridgeFirmwareError, readBridgeFirmware } from './bridge-firmware.ts';

const checkoutElf = fileURLToPath(new URL('../../firmware-bridge/build/bridge.elf', import.meta.url));
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe.skipIf(!existsSync(checkoutElf))('the bridge firmware by default', () => {
  it("is the checkout's bridge.elf, read from disk", async () => {
    expect(fileURLToPath(BRIDGE_FIRMWARE_URL)).toBe(checkoutElf);
    const bytes = await readBridgeFirmware();
    expect([...bytes.subarray(0, 4)]).toEqual(ELF_MAGIC);
    expect(bytes).toEqual(new Uint8Array(readFileSync(checkoutElf)));
  });

  it('is fetched when its URL is not a file', async () => {
    const elf = readFileSync(checkoutElf);
    server = createServer((req, res) => {
      if (req.url === '/bridge.elf') res.end(elf);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await readBridgeFirmware(new URL(`${base}/bridge.elf`))).toEqual(new Uint8Array(elf));
    await expect(readBridgeFirmware(new URL(`${base}/missing.elf`))).rejects.toThrow(
      /could not be loaded \(HTTP 404/,
    );
  });
});

it('says how to build a firmware that is not there', async () => {
  const missing = new URL('file:///nonexistent/firmware-bridge/build/bridge.elf');
  const error = await readBridgeFirmware(missing).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BridgeFirmwareError);
  expect((error as Error).message).toBe(
    'the bridge firmware /nonexistent/firmware-bridge/build/bridge.elf is not there: build it with "make -C firmware-bridge"',
  );
});
