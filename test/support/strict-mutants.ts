/**
 * Running deliberately broken firmware on the strict virtual board: boot a
 * mutant, try a HELLO at the boot rate with short deadlines, and read what
 * the board reported. The boards are disposed after each test (see
 * `disposeMutantBoardsAfterEach`), and their reports cleared first: the
 * test has checked them, so the strict-board check after each test must
 * not fail on them again.
 */
import { afterEach } from 'vitest';
import { Board } from '../../driver/index.ts';
import { type BoardHalt, type StrictReport, type StrictRule, VirtualBoard } from '../../emulator/index.ts';
import { buildMutantFirmware, mutantName, type SourceEdit } from './mutant-firmware.ts';
import { virtualTimers } from './virtual-timers.ts';

const boards: VirtualBoard[] = [];

/**
 * Disposes the boards booted here after each test of the calling file.
 * Call it at the top of each file: a module's top-level hooks would be
 * registered only in the first file that imports it (the workers reuse
 * modules across files).
 */
export function disposeMutantBoardsAfterEach(): void {
  afterEach(async () => {
    for (const vb of boards.splice(0)) {
      vb.chip.strict.clear();
      await vb.dispose();
    }
  });
}

export interface BootOptions {
  peerBaudRate?: number;
  /** Subscribed before the firmware runs (see VirtualBoard.onStrict). */
  onStrict?: (report: StrictReport) => void;
}

/** Starts a board on `firmware`; it is disposed after the test. */
export function boot(firmware: Uint8Array, options: BootOptions = {}): VirtualBoard {
  const vb = new VirtualBoard({
    firmware,
    ...(options.peerBaudRate === undefined ? {} : { peerBaudRate: options.peerBaudRate }),
  });
  boards.push(vb);
  if (options.onStrict) vb.onStrict(options.onStrict);
  vb.start();
  return vb;
}

/** Builds the firmware with the edits of `name` in `table` and boots it. */
export function bootMutant<T extends Record<string, readonly SourceEdit[]>>(
  table: T,
  name: keyof T & string,
  options: BootOptions = {},
): VirtualBoard {
  return boot(buildMutantFirmware(mutantName(name), table[name]!), options);
}

/** Opens a session at the boot rate, giving up after about a second of board time. */
export async function hello(vb: VirtualBoard): Promise<Board | Error> {
  return Board.open(vb.hostPort(), {
    timers: virtualTimers(vb),
    linkBaud: 'boot',
    retransmitTimeoutMs: 300,
    maxRetries: 2,
  }).catch((error: Error) => error);
}

/** Resolves when the core halts (at once if it has). */
export function halted(vb: VirtualBoard): Promise<BoardHalt> {
  return vb.halted ? Promise.resolve(vb.halted) : new Promise((resolve) => vb.onHalt(resolve));
}

/** The distinct rules reported, in order of first report. */
export function rules(vb: VirtualBoard): StrictRule[] {
  return [...new Set(vb.strictReports.map((r) => r.rule))];
}

/** Every report as "peripheral: message", one a line. */
export function reportText(vb: VirtualBoard): string {
  return vb.strictReports.map((r) => `${r.peripheral}: ${r.message}`).join('\n');
}
