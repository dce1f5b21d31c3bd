/**
 * The bridge firmware a virtual board runs unless told otherwise. One rule
 * wherever this code runs: the images sit in firmware-bridge/build/ at the
 * same place relative to this module. For the TypeScript sources of a
 * checkout that is the checkout's own build (make -C firmware-bridge); for
 * the installed package it is dist/firmware-bridge/build/, the images the
 * package ships. So nothing needs the ARM toolchain unless the firmware is
 * rebuilt.
 *
 * No Node import, so a browser can load this module too: in Node the file is
 * read through process.getBuiltinModule, elsewhere fetched.
 */

/**
 * Held in a variable on purpose: bundlers copy the file of a literal
 * `new URL('…', import.meta.url)` into the site, and the web console ships
 * only the stripped ELF (web/src/transports/firmware.ts).
 */
const IMAGES_DIR = '../../firmware-bridge/build/';

/** The directory of the firmware images (bridge.elf, .bin, .hex, bridge-stripped.elf, manifest.json). */
export const BRIDGE_IMAGES_URL: URL = /* @__PURE__ */ new URL(IMAGES_DIR, import.meta.url);

/** The bridge firmware's ELF, with its debug sections. */
export const BRIDGE_FIRMWARE_URL: URL = /* @__PURE__ */ new URL('bridge.elf', BRIDGE_IMAGES_URL);

export class BridgeFirmwareError extends Error {
  override name = 'BridgeFirmwareError';
}

/**
 * The bytes of the bridge firmware (or of another image at `url`), for
 * `new VirtualBoard({ firmware })`.
 */
export async function readBridgeFirmware(url: URL = BRIDGE_FIRMWARE_URL): Promise<Uint8Array> {
  const fs =
    url.protocol === 'file:' ? globalThis.process?.getBuiltinModule?.('node:fs/promises') : undefined;
  if (fs) {
    const bytes = await fs.readFile(url).catch((error: NodeJS.ErrnoException) => {
      throw new BridgeFirmwareError(
        error.code === 'ENOENT'
          ? `the bridge firmware ${url.pathname} is not there: build it with "make -C firmware-bridge"`
          : `cannot read the bridge firmware ${url.pathname}: ${error.code ?? error.message}`,
        { cause: error },
      );
    });
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const response = await fetch(url);
  if (!response.ok) {
    throw new BridgeFirmwareError(
      `the bridge firmware could not be loaded (HTTP ${response.status} for ${url})`,
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}
