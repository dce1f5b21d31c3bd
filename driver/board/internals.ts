/**
 * What the layers above the board (the safe API, the primitives) reach the
 * board through, kept off the Board object so that no caller can replace
 * it: a module-private WeakMap from each board to its internals. Not
 * exported from the package.
 */

import type { BatchOp } from '../protocol/index.ts';
import type { BatchBuilder, BatchResult } from './batch.ts';
import type { ArenaLedger } from './ledger.ts';
import type { OperationOptions } from './operation-options.ts';

export interface BoardInternals {
  /** The board's one ledger of arena memory. */
  readonly ledger: ArenaLedger;
  /** Names the board in messages. */
  readonly name: string;
  /** Register batches without the raw path's read-back (the caller tells the ledger itself). */
  batch(
    ops: readonly BatchOp[] | ((builder: BatchBuilder) => unknown),
    options?: OperationOptions,
  ): Promise<BatchResult>;
  writeRegister(address: number, value: number, options?: OperationOptions): Promise<void>;
}

const internals = new WeakMap<object, BoardInternals>();

/** @internal called once by the Board's constructor. */
export function registerBoardInternals(board: object, value: BoardInternals): void {
  if (internals.has(board)) throw new TypeError('this board already has its internals');
  internals.set(board, Object.freeze(value));
}

/** @internal the internals of a genuine board; throws for anything else. */
export function boardInternals(board: object): BoardInternals {
  const value = internals.get(board);
  if (!value) throw new TypeError('not a Board opened with Board.open()');
  return value;
}
