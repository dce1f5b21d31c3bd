/**
 * Errors of the safe DMA API. Each names what happened and what to do next,
 * in the words of the call that caused it.
 */

import type { DmaBuffer } from '../board/dma-buffer.ts';
import { DriverError } from '../driver-error.ts';

/** A transfer was started on a DMA channel that is still running one. */
export class ChannelBusyError extends DriverError {
  override name = 'ChannelBusyError';
  constructor(readonly channel: number) {
    super(
      `DMA1 channel ${channel} is still running a transfer: wait for it or stop it first ` +
        '(each serial side has one channel; split() the serial for a transmit and a receive at once)',
    );
  }
}

/** A buffer does not fit the transfer's data size. */
export class AlignmentError extends DriverError {
  override name = 'AlignmentError';
}

/**
 * Owners handed back after a failure, so the caller can go on. `S` is the
 * serial owner's type (Serial1, SerialTx or SerialRx: see SerialOwner).
 */
export interface Recovered<S = unknown> {
  readonly buffer: DmaBuffer;
  readonly serial: S;
}

/**
 * The DMA reported a transfer error (TEIF): a bus error on one of its
 * addresses; the hardware cleared EN. The channel has been stopped and its
 * flags are cleared by the next start, so it is usable again; `recovered`
 * holds the owners when the transfer had any to give back.
 */
export class DmaTransferError<S = unknown> extends DriverError {
  override name = 'DmaTransferError';
  constructor(
    readonly channel: number,
    readonly transferred: number,
    readonly recovered?: Recovered<S>,
  ) {
    super(
      `DMA1 channel ${channel} stopped with a transfer error (TEIF) after ${transferred} item(s); ` +
        'the channel is usable again' +
        (recovered ? ': take the buffer and serial from error.recovered' : ''),
    );
  }
}

export type SerialErrorKind = 'overrun' | 'framing' | 'noise' | 'parity';

/** USART_ISR bits of the reception errors (PE 0, FE 1, NE 2, ORE 3), as events report them. */
export const SERIAL_ERROR_FLAGS = 0xf;

/**
 * USART1 reported a reception error (ISR ORE, FE, NE or PE); the flags have
 * been cleared. For a byte-level read after an overrun, the byte in RDR is
 * still valid and at least one byte after it was lost. When the error ended
 * a transfer, the channel was stopped first and `recovered` holds the
 * owners to go on with.
 */
export class SerialError<S = unknown> extends DriverError {
  override name = 'SerialError';
  readonly kinds: SerialErrorKind[];
  constructor(
    readonly isrFlags: number,
    readonly recovered?: Recovered<S>,
    /** Items received before the transfer was stopped. */
    readonly transferred?: number,
  ) {
    const kinds: SerialErrorKind[] = [];
    if (isrFlags & (1 << 3)) kinds.push('overrun');
    if (isrFlags & (1 << 1)) kinds.push('framing');
    if (isrFlags & (1 << 2)) kinds.push('noise');
    if (isrFlags & (1 << 0)) kinds.push('parity');
    super(
      `USART1 reception error: ${kinds.join(', ')}. ` +
        (kinds.includes('overrun')
          ? 'Bytes arrived faster than they were read: read more often or use DMA reception. '
          : '') +
        (kinds.some((k) => k !== 'overrun')
          ? 'Check that both ends use the same baud rate, frame format and wiring.'
          : '') +
        (recovered ? ' The transfer was stopped: take the buffer and serial from error.recovered.' : ''),
    );
    this.kinds = kinds;
  }
}

/** Circular reception lapped the reader: a half was overwritten before it was read. */
export class OverrunError extends DriverError {
  override name = 'OverrunError';
  constructor(
    readonly halvesProduced: number,
    readonly halvesConsumed: number,
    readonly reason = `the DMA filled ${halvesProduced} halves but only ${halvesConsumed} were read, so data was overwritten`,
  ) {
    super(`circular reception overran: ${reason}; read faster, use a larger buffer, or lower the baud rate`);
  }
}

/**
 * The request that starts a transfer went out and no answer came (the link
 * timed out, closed, or its session was reopened): the DMA may be running
 * on the buffer. The buffer and the serial stay with the transfer and its
 * memory stays reserved (never handed out again) until the board confirms
 * the channel is off: `board.recover()` or `board.reconnect()` does.
 */
export class TransferInDoubtError extends DriverError {
  override name = 'TransferInDoubtError';
  constructor(
    readonly by: string,
    /** The link's error: Error's own `cause`, set by this parameter property. */
    override readonly cause: unknown,
  ) {
    super(
      `whether ${by} started is unknown: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Its buffer stays reserved and its serial moved, since the DMA may be using them; call ' +
        'board.recover() (or board.reconnect()) to stop every channel and start over',
    );
  }
}

/** A StreamWriter was used after close() began. */
export class StreamClosedError extends DriverError {
  override name = 'StreamClosedError';
  constructor() {
    super(
      'this StreamWriter is closed: write() and close() after close() are not allowed; use the serial close() returned',
    );
  }
}

/** A StreamWriter was used after abort(). */
export class StreamAbortedError extends DriverError {
  override name = 'StreamAbortedError';
  constructor() {
    super('this StreamWriter was stopped by abort(); use the serial that abort() returned');
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

/** A SerialTx or SerialRx constructed outside Serial1.split(): it would be a second owner of its channel. */
export class SerialHalfConstructionError extends DriverError {
  override name = 'SerialHalfConstructionError';
}
