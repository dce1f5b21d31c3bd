/**
 * `serveGdb(board, port)`: the virtual board's core behind a GDB stub on
 * 127.0.0.1, the board still serving its host link. Node only (TCP).
 */
import type { VirtualBoard } from '../host/virtual-board.ts';
import { boardDebugHost } from './board-host.ts';
import { CoreDebugTarget } from './core-target.ts';
import type { DebugHost } from './debug-host.ts';
import { type GdbServer, type GdbServerOptions, startGdbServer } from './gdb/server.ts';

export type { GdbServer, GdbServerOptions };

/** Serves a debug host (the board, or run-elf's machine) to GDB on `port` (0: any free port). */
export function serveDebugHost(
  host: DebugHost,
  port: number,
  options: GdbServerOptions = {},
): Promise<GdbServer> {
  return startGdbServer(port, () => new CoreDebugTarget(host), options);
}

export interface BoardGdbOptions extends GdbServerOptions {
  /**
   * Reset the board and hold it at the reset vector until GDB continues
   * (to debug the boot); default: GDB attaches to the board as it runs.
   */
  readonly haltAtReset?: boolean;
}

export function serveGdb(
  board: VirtualBoard,
  port: number,
  options: BoardGdbOptions = {},
): Promise<GdbServer> {
  if (options.haltAtReset) {
    board.hold();
    board.reset();
  }
  return serveDebugHost(boardDebugHost(board), port, options);
}
