/**
 * Errors of the safe DMA API. Each names what happened and what to do next,
 * in the words of the call that caused it.
 */

import { DriverError } from '../transport/errors.ts';

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

/** A handle issued before board.recover() or a board reset was used. */
export class RevokedError extends DriverError {
  override name = 'RevokedError';
  constructor(readonly what: string) {
    super(
      `${what} was revoked by board.recover() or a board reset; take the peripheral and allocate buffers again`,
    );
  }
}

/** A buffer does not fit the transfer's data size. */
export class AlignmentError extends DriverError {
  override name = 'AlignmentError';
}

/** A peripheral singleton was taken twice. */
export class AlreadyTakenError extends DriverError {
  override name = 'AlreadyTakenError';
  constructor(readonly what: string) {
    super(`${what} was already taken from this board; pass the one you have around, or call board.recover()`);
  }
}

/** Owners handed back after a failure, so the caller can go on. */
export interface Recovered<B, S> {
  readonly buffer: B;
  readonly serial: S;
}

/** The DMA reported a transfer error (TEIF): a bus error on one of its addresses. EN was cleared by hardware. */
export class DmaTransferError<B = unknown, S = unknown> extends DriverError {
  override name = 'DmaTransferError';
  constructor(
    readonly channel: number,
    readonly transferred: number,
    readonly recovered: Recovered<B, S>,
  ) {
    super(
      `DMA1 channel ${channel} stopped with a transfer error (TEIF) after ${transferred} item(s); ` +
        'the channel has been cleared and is usable again: take the buffer and serial from error.recovered',
    );
  }
}

export type UsartErrorKind = 'overrun' | 'framing' | 'noise' | 'parity';

const USART_ERROR_TEXT: Record<UsartErrorKind, string> = {
  overrun: 'overrun (ORE): a byte arrived before the previous one was read, and was lost',
  framing: 'framing error (FE): a stop bit was missing (baud rate mismatch or line noise)',
  noise: 'noise (NE): the receiver sampled an inconsistent bit',
  parity: 'parity error (PE): the parity bit did not match',
};

/** USART1 reported a reception error. */
export class UsartError extends DriverError {
  override name = 'UsartError';
  constructor(
    readonly kinds: readonly UsartErrorKind[],
    readonly isr: number,
  ) {
    super(`USART1 ${kinds.map((k) => USART_ERROR_TEXT[k]).join('; ')}`);
  }
}

/** Circular reception lapped the reader: a half was overwritten before it was read. */
export class OverrunError extends DriverError {
  override name = 'OverrunError';
  constructor(
    readonly halvesProduced: number,
    readonly halvesConsumed: number,
  ) {
    super(
      `circular reception overran: the DMA filled ${halvesProduced} halves but only ${halvesConsumed} were read, ` +
        'so data was overwritten; read faster, use a larger buffer, or lower the baud rate',
    );
  }
}

/** wait() gave up before the transfer finished. The transfer goes on; stop() it or wait again. */
export class TransferTimeoutError extends DriverError {
  override name = 'TransferTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(
      `the transfer did not finish within ${timeoutMs} ms; it is still running: wait() again or stop() it`,
    );
  }
}

/** wait() was aborted through its signal. The transfer goes on; stop() it or wait again. */
export class TransferAbortedError extends DriverError {
  override name = 'TransferAbortedError';
  constructor(readonly reason: unknown) {
    super('waiting for the transfer was aborted; the transfer is still running: wait() again or stop() it');
  }
}
