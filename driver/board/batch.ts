/**
 * Register batches: a typed builder, the result shape, and the split of a
 * long batch into requests that fit the board's limits.
 */

import { BATCH_OP_SIZE, type BatchOp, Limits } from '../protocol/index.ts';
import type { BoardRefusedError } from './errors.ts';

export class BatchBuilder {
  readonly ops: BatchOp[] = [];

  /** Appends the register's value to the result's `values`. */
  read(address: number): this {
    this.ops.push({ op: 'read', address });
    return this;
  }

  write(address: number, value: number): this {
    this.ops.push({ op: 'write', address, value });
    return this;
  }

  /** Writes `(old & ~mask) | (value & mask)`, reading `old` on the board. */
  maskedWrite(address: number, mask: number, value: number): this {
    this.ops.push({ op: 'masked-write', address, mask, value });
    return this;
  }

  /** Waits on the board until `(value & mask) === match`; `timeoutUs` 0 reads exactly once. */
  poll(address: number, mask: number, match: number, timeoutUs = 0): this {
    this.ops.push({ op: 'poll', address, mask, match, timeoutUs });
    return this;
  }
}

export interface BatchFailure {
  /** Index of the failed operation in the batch as given. */
  index: number;
  op: BatchOp;
  error: BoardRefusedError;
}

export interface BatchResult {
  /** Operations that completed, in order; the rest did not run. */
  executed: number;
  /** Values of the READ operations that completed, in order. */
  values: number[];
  /** Why the operation at `executed` failed; absent when all ran. */
  failure?: BatchFailure;
}

/**
 * Splits `ops` into pieces that each fit one request: at most
 * `maxPayload` bytes and at most 64 READs (a reply's limit).
 */
export function splitBatch(ops: readonly BatchOp[], maxPayload: number): BatchOp[][] {
  const pieces: BatchOp[][] = [];
  let piece: BatchOp[] = [];
  let bytes = 0;
  let reads = 0;
  for (const op of ops) {
    const size = BATCH_OP_SIZE[op.op];
    const read = op.op === 'read' ? 1 : 0;
    if (piece.length > 0 && (bytes + size > maxPayload || reads + read > Limits.maxBatchReads)) {
      pieces.push(piece);
      piece = [];
      bytes = 0;
      reads = 0;
    }
    piece.push(op);
    bytes += size;
    reads += read;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}
