/** The bridge firmware ELF built from firmware-bridge/ in this checkout. */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIRMWARE_ELF = fileURLToPath(new URL('../../firmware-bridge/build/bridge.elf', import.meta.url));

export function loadFirmware(): Uint8Array {
  if (!existsSync(FIRMWARE_ELF)) {
    throw new Error(`${FIRMWARE_ELF} is missing: build it with 'make -C firmware-bridge' (npm test does)`);
  }
  return new Uint8Array(readFileSync(FIRMWARE_ELF));
}
