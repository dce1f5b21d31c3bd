/**
 * The bridge firmware bundled with the site, for the virtual board. Vite
 * emits the ELF as an asset and gives its URL; the bytes are fetched when
 * a virtual board starts, so the page itself loads without them.
 */
import elfUrl from '../../../firmware-bridge/build/bridge.elf?url';
import { TransportOpenError } from './errors.ts';

export const BUNDLED_FIRMWARE_URL: string = elfUrl;

let cached: Promise<Uint8Array> | undefined;

export function loadBundledFirmware(): Promise<Uint8Array> {
  cached ??= fetchFirmware(BUNDLED_FIRMWARE_URL).catch((e: unknown) => {
    cached = undefined; // let the next connect try again
    throw e;
  });
  return cached;
}

async function fetchFirmware(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new TransportOpenError(
      `the bundled firmware could not be loaded (HTTP ${response.status} for ${url})`,
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}
