/**
 * The bridge firmware bundled with the site. `new URL(..., import.meta.url)`
 * is resolved by bundlers (Vite emits the files as assets) and by browsers
 * loading the package's modules as they are; the package ships the images
 * at the same place relative to this module as the checkout builds them.
 * The ELF without debug sections runs on the virtual board (its bytes are
 * fetched when one starts, so the page loads without them); the raw `.bin`
 * is offered as a download for flashing a real Nucleo.
 */
import { TransportOpenError } from './errors.ts';

export const BUNDLED_FIRMWARE_URL: string = new URL(
  '../../../firmware-bridge/build/bridge-stripped.elf',
  import.meta.url,
).href;

/** The flash image to copy onto the ST-LINK drive or write with st-flash at 0x08000000. */
export const FIRMWARE_BIN_URL: string = new URL('../../../firmware-bridge/build/bridge.bin', import.meta.url)
  .href;

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
