/**
 * The virtual Nucleo-G071RB running the real bridge firmware, as the CLI,
 * the servers and the tests use it.
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualBoard } from '../../emulator/host/virtual-board.ts';

/** The firmware `make -C firmware-bridge` builds. */
export const DEFAULT_FIRMWARE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../firmware-bridge/build/bridge.elf',
);

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

/** Relative to the working directory when inside it, else as given: whichever reads better. */
export function displayPath(path: string): string {
  const near = relative(process.cwd(), path);
  return near === '' || near.startsWith('..') ? path : near;
}

export interface LoadBoardOptions {
  readonly firmware?: string;
  /** USART1 TX wired back to its RX instead of to the virtual peer. */
  readonly loopback?: boolean;
}

/** Loads the firmware onto a new virtual board and starts it running. */
export async function loadVirtualBoard(options: LoadBoardOptions = {}): Promise<VirtualBoard> {
  const path = options.firmware ? resolve(options.firmware) : DEFAULT_FIRMWARE;
  const firmware = await readFile(path).catch(() => {
    throw new FirmwareMissingError(path);
  });
  const board = new VirtualBoard({
    firmware: new Uint8Array(firmware.buffer, firmware.byteOffset, firmware.byteLength),
    usart1: options.loopback ? 'loopback' : 'peer',
  });
  board.start();
  return board;
}
