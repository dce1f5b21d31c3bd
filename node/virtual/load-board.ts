/**
 * The virtual Nucleo-G071RB running the real bridge firmware, as the CLI,
 * the servers and the tests use it.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ElfError } from '../../emulator/core/elf.ts';
import type { HostPort } from '../../emulator/host/host-port.ts';
import { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { formatStrictReports } from '../../emulator/stm32g071/strict.ts';
import { FIRMWARE_DIR } from '../package/package-root.ts';
import { classifyFirmware } from './firmware-image.ts';

/**
 * The bridge firmware: the image the package ships, or in a checkout the one
 * `make -C firmware-bridge` builds (the same place relative to this module).
 */
export const DEFAULT_FIRMWARE = join(FIRMWARE_DIR, 'bridge.elf');

export class FirmwareMissingError extends Error {
  override name = 'FirmwareMissingError';
  constructor(
    readonly path: string,
    why = 'no such file',
  ) {
    const shown = displayPath(path);
    // Only a checkout builds its firmware; an installed package ships it.
    const checkout = !FIRMWARE_DIR.split(/[\\/]/).includes('dist');
    super(
      path === DEFAULT_FIRMWARE
        ? checkout
          ? `the bridge firmware ${shown} is not built; run "make -C firmware-bridge" (or "npm test" once, which builds it)`
          : `the bridge firmware ${shown} is missing from the installed package (${why}); reinstall dma-bridge`
        : `cannot read the firmware ${shown}: ${why}; pass an ELF executable such as ${displayPath(DEFAULT_FIRMWARE)}` +
            (checkout ? ' (built by "make -C firmware-bridge")' : ', the one this package ships'),
    );
  }
}

/** A --firmware file the virtual board cannot run: neither an ARM ELF executable nor a raw flash image. */
export class FirmwareFormatError extends Error {
  override name = 'FirmwareFormatError';
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(
      `${displayPath(path)} ${why}: the virtual board runs an ELF executable such as bridge.elf ` +
        '(or a raw flash image such as bridge.bin)',
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
  /** 'realtime' for a board other programs use (see VirtualBoardOptions.pace). */
  readonly pace?: 'fast' | 'realtime';
  /** Told each strict-board report as it is made, one line (default: none). */
  readonly onStrictReport?: (line: string) => void;
  /** Seed of SRAM's power-on content (default: a random one; see VirtualBoard's `sramSeed`). */
  readonly sramSeed?: number;
  /** Start in ST's system bootloader until a power cycle (see VirtualBoardOptions.bootloader). */
  readonly bootloader?: boolean;
  /** Called with the board powered on but not yet running (to attach a trace from the first instruction). */
  readonly beforeStart?: (board: VirtualBoard) => void;
}

/** Loads the firmware onto a new virtual board and starts it running. */
export async function loadVirtualBoard(options: LoadBoardOptions = {}): Promise<VirtualBoard> {
  const path = options.firmware ? resolve(options.firmware) : DEFAULT_FIRMWARE;
  const firmware = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    const why =
      error.code === 'EISDIR'
        ? 'it is a directory'
        : error.code === 'ENOENT'
          ? 'no such file'
          : error.message;
    throw new FirmwareMissingError(path, why);
  });
  const bytes = new Uint8Array(firmware.buffer, firmware.byteOffset, firmware.byteLength);
  const verdict = classifyFirmware(bytes);
  if (!verdict.ok) throw new FirmwareFormatError(path, verdict.why);
  let board: VirtualBoard;
  try {
    board = new VirtualBoard({
      firmware: bytes,
      usart1: options.loopback ? 'loopback' : 'peer',
      peerBaudRate: 'follow-board', // the CLI's peer stands for a device set to the commands' --baud
      ...(options.pace ? { pace: options.pace } : {}),
      ...(options.sramSeed === undefined ? {} : { sramSeed: options.sramSeed }),
      ...(options.bootloader ? { bootloader: true } : {}),
    });
  } catch (error) {
    // An ELF for another machine, or not an executable: the loader says which.
    if (error instanceof ElfError) throw new FirmwareFormatError(path, `is ${error.message}`);
    throw error;
  }
  const told = options.onStrictReport;
  if (told) board.chip.strict.onReport((r) => told(formatStrictReports([r])));
  options.beforeStart?.(board);
  board.start();
  return board;
}

/**
 * The ST-LINK port of a virtual board of its own: `Board.open(await
 * openVirtualBoard())` runs on the virtual board as on a real one, and
 * `board.close()` (which closes the port) stops and disposes that virtual
 * board too, so the program ends by itself. `port.virtualBoard` is the virtual
 * board (its USART1 peer, its clock) while the port is open.
 */
export interface VirtualBoardPort extends HostPort {
  readonly virtualBoard: VirtualBoard;
}

export async function openVirtualBoard(options: LoadBoardOptions = {}): Promise<VirtualBoardPort> {
  const board = await loadVirtualBoard(options);
  const port = board.hostPort();
  return {
    virtualBoard: board,
    readable: port.readable,
    writable: port.writable,
    info: port.info,
    get baudRate() {
      return port.baudRate;
    },
    maxBaudRate: port.maxBaudRate,
    setBaudRate: (baud) => port.setBaudRate(baud),
    close: async () => {
      await port.close();
      await board.dispose();
    },
  };
}
