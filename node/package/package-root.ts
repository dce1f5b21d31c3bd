/**
 * Files of the installed package, wherever this module runs from: the
 * TypeScript sources of a checkout (node/…) or the compiled package
 * (dist/node/…). The package keeps the checkout's layout below dist/, so
 * one relative path serves both for what is built alongside (the firmware
 * images, located by the emulator's bridge-firmware module); package.json
 * is found by looking upwards.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BRIDGE_IMAGES_URL } from '../../emulator/host/bridge-firmware.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** The directory holding the package's package.json. */
export function packageRoot(): string {
  let dir = here;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'dma-bridge') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the dma-bridge package.json above this module');
    dir = parent;
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The firmware images: firmware-bridge/build/ of a checkout, dist/firmware-bridge/build/
 * of the installed package (the emulator's rule, so both always agree).
 */
export const FIRMWARE_DIR = resolve(fileURLToPath(BRIDGE_IMAGES_URL));
