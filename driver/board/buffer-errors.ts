/**
 * Errors of arena buffers and moved owners: each names the call that moved
 * or locked the object and what to use instead.
 */

import { DriverError } from '../driver-error.ts';

/** A value was moved into a Transfer (or consumed) and used again. */
export class MovedError extends DriverError {
  override name = 'MovedError';
  constructor(
    readonly what: string,
    readonly movedBy: string,
    readonly hint: string,
  ) {
    super(`${what} was moved by ${movedBy}; ${hint}`);
  }
}

/** A DmaBuffer (or another view of the same memory) is owned by a running Transfer. */
export class BufferBusyError extends DriverError {
  override name = 'BufferBusyError';
  constructor(readonly ownedBy: string) {
    super(
      `this DmaBuffer's memory is owned by the Transfer that ${ownedBy} started; ` +
        'wait for it or stop it, then use the buffer it hands back',
    );
  }
}

/** A DmaBuffer was used after free(), or after board.recover() reclaimed the arena. */
export class BufferFreedError extends DriverError {
  override name = 'BufferFreedError';
  constructor(readonly reason: string) {
    super(`this DmaBuffer is no longer valid: ${reason}; allocate a new one with board.alloc()`);
  }
}

/** A DmaBuffer allocated on one board was given to a transfer on another. */
export class ForeignBufferError extends DriverError {
  override name = 'ForeignBufferError';
  constructor(
    readonly bufferBoard: string,
    readonly serialBoard: string,
  ) {
    super(
      `this DmaBuffer was allocated on ${bufferBoard}, but the transfer runs on ${serialBoard}: ` +
        'allocate the buffer with the same board the serial port was taken from',
    );
  }
}
