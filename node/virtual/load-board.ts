/**
 * The virtual Nucleo-G071RB running the real bridge firmware, as the CLI,
 * the servers and the tests use it.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { FIRMWARE_DIR } from '../package/package-root.ts';

/**
 * The bridge firmware: the image the package ships, or in a checkout the one
 * `make -C firmware-bridge` builds (the same place relative to this module).
 */
export const DEFAULT_FIRMWARE = join(FIRMWARE_DIR, 'bridge.elf');

export class FirmwareMissingError extends Error {
  override name = 'FirmwareMissingError';
  constructor(readonly path: string) {
    const shown = displayPath(path);
    super(
      path === DEFAULT_FIRMWARE
        ? `the bridge firmware ${shown} is not built; run "make -C firmware-bridge" (or "npm test" once, which builds it)`
        : `cannot read the firmware ${shown}; pass an ELF built by "make -C firmware-bridge"`,
    );
  }
}

/** A --firmware file that is not an ELF executable (a .bin or .hex image, or something else). */
export class FirmwareNotElfError extends Error {
  override name = 'FirmwareNotElfError';
  constructor(readonly path: string) {
    super(
      `${displayPath(path)} is not an ELF file: the virtual board runs the ELF (bridge.elf), ` +
        'not the .bin or .hex images that go onto a real board',
    );
  }
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** Relative to the working directory when inside it, else as given: whichever reads better. */
export function displayPath(path: string): string {
  const near = relative(process.cwd(), path);
  return near === '' || near.startsWith('..') ? path : near;
}

export interface LoadBoardOptions {
  readonly firmware?: string;
  /** USART1 TX wired back to its RX instead of to the virtual peer. */
  readonly loopback?: boolean;
  /** 'realtime' for a board other programs use (see VirtualBoardOptions.pace). */
  readonly pace?: 'fast' | 'realtime';
}

/** Loads the firmware onto a new virtual board and starts it running. */
export async function loadVirtualBoard(options: LoadBoardOptions = {}): Promise<VirtualBoard> {
  const path = options.firmware ? resolve(options.firmware) : DEFAULT_FIRMWARE;
  const firmware = await readFile(path).catch(() => {
    throw new FirmwareMissingError(path);
  });
  if (!ELF_MAGIC.every((b, i) => firmware[i] === b)) throw new FirmwareNotElfError(path);
  const board = new VirtualBoard({
    firmware: new Uint8Array(firmware.buffer, firmware.byteOffset, firmware.byteLength),
    usart1: options.loopback ? 'loopback' : 'peer',
    ...(options.pace ? { pace: options.pace } : {}),
  });
  board.start();
  return board;
}
