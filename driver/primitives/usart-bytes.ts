/**
 * The byte-level half of the chapter's `Serial1`: USART1, one byte at a time
 * through RDR and TDR, non-blocking in the `nb` style: `WouldBlock` when
 * there is no byte to read or no room to write. Each call is one batch:
 * a POLL of ISR then the data access, so a byte is never read from an
 * empty RDR nor written over a full TDR, whatever happens in between.
 * `Serial1` (driver/api) lends it to its owners.
 */

import { SerialError } from '../api/errors.ts';
import type { BatchBuilder } from '../board/batch.ts';
import type { Board } from '../board/board.ts';
import { PollTimeoutError } from '../board/errors.ts';
import type { Handle } from '../board/handles.ts';
import { type BoardInternals, boardInternals } from '../board/internals.ts';
import { fieldMask } from '../chip/decode.ts';
import type { UsartDescription } from '../chip/types.ts';
import { Capability } from '../protocol/index.ts';

export const WouldBlock: unique symbol = Symbol('WouldBlock');
export type WouldBlock = typeof WouldBlock;

export interface SerialConfig {
  baudRate: number;
  /** Enable the error interrupt so the board reports errors as events (default true). */
  errorEvents?: boolean;
}

export class UsartBytes {
  private readonly u: UsartDescription;
  /** Error flags reported by USART events since the last read: the board cleared them in ISR. */
  private pendingErrors = 0;
  private readonly errorMask: number;

  private readonly internals: BoardInternals;

  constructor(
    private readonly board: Board,
    readonly handle: Handle,
  ) {
    this.internals = boardInternals(board);
    this.u = board.chip.usart1;
    const isr = this.u.isr;
    this.errorMask =
      fieldMask(isr, 'PE') | fieldMask(isr, 'FE') | fieldMask(isr, 'NE') | fieldMask(isr, 'ORE');
    board.subscribe((n) => {
      if (n.kind === 'usart') this.pendingErrors |= n.flags & this.errorMask;
    });
  }

  /** 8N1 at `baudRate` from the USART1 kernel clock HELLO reports; enables UE, TE, RE. */
  async configure(config: SerialConfig): Promise<void> {
    const clock = this.board.hello.usart1ClockHz;
    const brr = Math.round(clock / config.baudRate);
    if (!Number.isFinite(brr) || brr < 16 || brr > 0xffff) {
      throw new RangeError(`${config.baudRate} baud is out of reach from a ${clock} Hz USART1 clock`);
    }
    const cr1 = this.u.cr1;
    const enable = fieldMask(cr1, 'UE') | fieldMask(cr1, 'TE') | fieldMask(cr1, 'RE');
    await this.run((b) =>
      b
        .write(cr1.address, 0)
        .write(this.u.brr.address, brr)
        .write(this.u.cr3.address, config.errorEvents === false ? 0 : fieldMask(this.u.cr3, 'EIE'))
        .write(cr1.address, enable),
    );
  }

  /**
   * One received byte, `WouldBlock` when none is waiting, or SerialError
   * when the USART saw a reception error (flags are cleared; retry).
   * `timeoutUs` lets the board wait that long for a byte.
   */
  async read(options: { timeoutUs?: number } = {}): Promise<number | WouldBlock> {
    await this.raisePendingErrors();
    const isr = this.u.isr;
    const rxne = fieldMask(isr, 'RXNE');
    if (!this.board.hasCapability(Capability.BATCH_POLL)) return this.readWithoutPoll();
    const result = await this.internals.batch(
      (b) =>
        b.poll(isr.address, rxne | this.errorMask, rxne, options.timeoutUs ?? 0).read(this.u.rdr.address),
      { handle: this.handle },
    );
    if (!result.failure) return result.values[0]! & 0xff;
    const error = result.failure.error;
    if (!(error instanceof PollTimeoutError)) throw error;
    const errors = error.lastValue & this.errorMask;
    if (errors !== 0) await this.clearErrors(errors);
    return WouldBlock;
  }

  /** Sends one byte, or `WouldBlock` when TDR is still full after `timeoutUs` (default 0). */
  async write(byte: number, options: { timeoutUs?: number } = {}): Promise<WouldBlock | undefined> {
    if (!Number.isInteger(byte) || byte < 0 || byte > 0xff) throw new RangeError(`not a byte: ${byte}`);
    const txe = fieldMask(this.u.isr, 'TXE');
    if (!this.board.hasCapability(Capability.BATCH_POLL)) {
      const isr = await this.board.readRegister(this.u.isr.address, { handle: this.handle });
      if (!(isr & txe)) return WouldBlock;
      await this.internals.writeRegister(this.u.tdr.address, byte, { handle: this.handle });
      return undefined;
    }
    const result = await this.internals.batch(
      (b) => b.poll(this.u.isr.address, txe, txe, options.timeoutUs ?? 0).write(this.u.tdr.address, byte),
      { handle: this.handle },
    );
    if (!result.failure) return undefined;
    if (result.failure.error instanceof PollTimeoutError) return WouldBlock;
    throw result.failure.error;
  }

  private async readWithoutPoll(): Promise<number | WouldBlock> {
    const isr = await this.board.readRegister(this.u.isr.address, { handle: this.handle });
    const errors = isr & this.errorMask;
    if (errors !== 0) await this.clearErrors(errors);
    if (!(isr & fieldMask(this.u.isr, 'RXNE'))) return WouldBlock;
    return (await this.board.readRegister(this.u.rdr.address, { handle: this.handle })) & 0xff;
  }

  private async raisePendingErrors(): Promise<void> {
    const pending = this.pendingErrors;
    if (pending === 0) return;
    this.pendingErrors = 0;
    throw new SerialError(pending);
  }

  /** ICR bits sit at the ISR positions for PE, FE, NE and ORE. */
  private async clearErrors(errors: number): Promise<never> {
    await this.run((b) => b.write(this.u.icr.address, errors));
    throw new SerialError(errors);
  }

  private async run(build: (b: BatchBuilder) => unknown): Promise<void> {
    const result = await this.internals.batch(build, { handle: this.handle });
    if (result.failure) throw result.failure.error;
  }
}
