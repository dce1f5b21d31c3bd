/**
 * Register batches: a typed builder, the result shape, and the split of a
 * long batch into requests that fit the board's limits.
 */

import { BATCH_OP_SIZE, BATCH_OP_VALUES, type BatchOp, Limits } from '../protocol/index.ts';
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

  /**
   * Appends a consistent snapshot of DMA channel `channel` (four values:
   * CCR, CNDTR | completions << 16, its ISR nibble | starts << 16,
   * USART1_ISR); see `parseChannelStatus`.
   */
  status(channel: number): this {
    this.ops.push({ op: 'status', channel });
    return this;
  }
}

/**
 * The batch a caller gave, as plain frozen records: each operation's fields
 * read exactly once (a getter or a Proxy cannot say one thing to the checks
 * and another to the board), each checked. Everything after this decides
 * and sends from the snapshot only.
 */
export function snapshotBatch(
  ops: readonly BatchOp[] | ((builder: BatchBuilder) => unknown),
): readonly BatchOp[] {
  let list: readonly BatchOp[];
  if (typeof ops === 'function') {
    const builder = new BatchBuilder();
    ops(builder);
    list = builder.ops;
  } else {
    list = ops;
  }
  if (!Array.isArray(list)) throw new TypeError('a batch is an array of operations or a builder function');
  const out: BatchOp[] = [];
  for (const op of Array.from(list)) out.push(snapshotOp(op));
  return Object.freeze(out);
}

function snapshotOp(op: unknown): BatchOp {
  if (typeof op !== 'object' || op === null)
    throw new TypeError(`a batch operation is an object; got ${String(op)}`);
  const o = op as Record<string, unknown>;
  const kind = o.op;
  switch (kind) {
    case 'read':
      return Object.freeze({ op: kind, address: u32(o.address, 'a register address') });
    case 'write': {
      const address = u32(o.address, 'a register address');
      return Object.freeze({ op: kind, address, value: u32(o.value, 'a register value') });
    }
    case 'masked-write': {
      const address = u32(o.address, 'a register address');
      const mask = u32(o.mask, 'a mask');
      return Object.freeze({ op: kind, address, mask, value: u32(o.value, 'a register value') });
    }
    case 'poll': {
      const address = u32(o.address, 'a register address');
      const mask = u32(o.mask, 'a mask');
      const match = u32(o.match, 'a match value');
      const timeoutUs = o.timeoutUs;
      if (!isWholeUpTo(timeoutUs, 0xffff)) {
        throw new RangeError(`a POLL timeout is 0 to 65535 µs; got ${String(timeoutUs)}`);
      }
      return Object.freeze({ op: kind, address, mask, match, timeoutUs });
    }
    case 'status': {
      const channel = o.channel;
      if (!isWholeUpTo(channel, 0xff)) {
        throw new RangeError(`a STATUS channel is a byte; got ${String(channel)}`);
      }
      return Object.freeze({ op: kind, channel });
    }
    default:
      throw new TypeError(`unknown batch operation ${JSON.stringify(kind)}`);
  }
}

/** True for a whole number from 0 to `max` (Number.isInteger is false for anything not a number). */
export function isWholeUpTo(value: unknown, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function u32(value: unknown, what: string): number {
  if (!isWholeUpTo(value, 0xffff_ffff)) {
    throw new RangeError(`${what} is a whole number from 0 to 0xFFFFFFFF; got ${String(value)}`);
  }
  return value;
}

/** A channel's state as one STATUS operation reads it, all at one instant. */
export interface ChannelStatus {
  ccr: number;
  cndtr: number;
  /** HT and TC completions since the channel was last enabled (mod 2^16), raised but unreported ones included. */
  completions: number;
  /** The channel's DMA1_ISR nibble: bit 1 TC, bit 2 HT, bit 3 TE. */
  flags: number;
  /** The channel's count of starts (EN 0 → 1 writes, mod 2^16, from a base drawn at boot): the number its events carry. */
  starts: number;
  usartIsr: number;
}

/** Reads the four values of a STATUS operation starting at `values[at]`. */
export function parseChannelStatus(values: readonly number[], at = 0): ChannelStatus {
  if (values.length < at + BATCH_OP_VALUES.status) {
    throw new RangeError(
      `a STATUS operation gives ${BATCH_OP_VALUES.status} values; ${values.length - at} left`,
    );
  }
  const [ccr, counts, flags, usartIsr] = values.slice(at, at + 4) as [number, number, number, number];
  return {
    ccr,
    cndtr: counts & 0xffff,
    completions: counts >>> 16,
    flags: flags & 0xf,
    starts: flags >>> 16,
    usartIsr,
  };
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
  /** Values of the READ (one each) and STATUS (four each) operations that completed, in order. */
  values: number[];
  /** Why the operation at `executed` failed; absent when all ran. */
  failure?: BatchFailure;
}

/**
 * Splits `ops` into pieces that each fit one request: at most
 * `maxPayload` bytes and at most 64 values (a reply's limit).
 */
export function splitBatch(ops: readonly BatchOp[], maxPayload: number): BatchOp[][] {
  const pieces: BatchOp[][] = [];
  let piece: BatchOp[] = [];
  let bytes = 0;
  let reads = 0;
  for (const op of ops) {
    const size = BATCH_OP_SIZE[op.op];
    const read = BATCH_OP_VALUES[op.op];
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
