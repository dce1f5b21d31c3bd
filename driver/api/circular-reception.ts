/**
 * Circular reception: the DMA fills a buffer over and over; each half is
 * handed to the reader as soon as the board's HT or TC event says it is
 * full. Overrun is detected exactly by counting laps: the reader knows
 * how many halves the DMA has completed (each DMA event carries the board's
 * count since the start, so a lost event costs nothing) and where it is now
 * (CNDTR, read right after each half), so it knows whether the half it just
 * copied could have been overwritten before the copy.
 */

import type { Board } from '../board/board.ts';
import { assertDmaBuffer, type DmaBuffer } from '../board/dma-buffer.ts';
import type { DmaEvent, UsartEvent } from '../board/events.ts';
import { type ChannelOptions, itemsFor } from './channel-engine.ts';
import { DmaTransferError, OverrunError } from './errors.ts';
import type { SerialSide } from './serial-dma.ts';
import type { TransferResult } from './transfer.ts';

export class CircularReception<S> implements AsyncIterable<Uint8Array>, AsyncDisposable {
  /** Halves the DMA has completed (HT and TC events). */
  private produced = 0;
  /** Halves handed to the reader. */
  private consumed = 0;
  private failure: unknown;
  private stopped: Promise<TransferResult<S>> | undefined;
  private wake: (() => void) | undefined;
  private readonly items: number;
  private readonly itemBytes: number;
  /** USART errors reported while receiving (the DMA skips bad characters). */
  usartErrors = 0;
  readonly started: Promise<void>;

  /** @internal use `rx.readCircular(buffer)` or `serial.readCircular(buffer)`. */
  constructor(
    private readonly board: Board,
    private readonly side: SerialSide<S>,
    private readonly buffer: DmaBuffer,
    options: ChannelOptions = {},
  ) {
    side.token.check();
    side.engine.assertUsable();
    assertDmaBuffer(buffer, 'readCircular()');
    buffer.assertOwned();
    const size = options.dataSize ?? 8;
    this.items = itemsFor(buffer.address, buffer.length, size);
    this.itemBytes = size / 8;
    if (this.items % 2 !== 0) {
      throw new RangeError(
        `circular reception needs an even number of items to split in halves; got ${this.items}`,
      );
    }
    if (side.engine.busy)
      throw new Error(`DMA1 channel ${side.engine.channel.channel} is still running a transfer`);
    side.token.move('readCircular()');
    buffer.moveInto('readCircular()');
    this.started = side.engine
      .start(
        {
          direction: 'from-peripheral',
          memoryAddress: buffer.address,
          byteLength: buffer.length,
          options,
          circular: true,
          halfTransferEvents: true,
        },
        {
          dma: (e) => this.onDma(e),
          usart: (e) => this.onUsart(e),
          // Nothing to repair: every DMA event carries the board's count of
          // completions, so the next one brings the count up to date. Until it
          // comes, a half whose event was lost waits for the next half's.
          eventsLost: () => {},
          gone: (error) => this.fail(error),
        },
      )
      .catch((error: unknown) => {
        side.token.restore();
        buffer.restoreAfterRefusal();
        this.fail(error);
        throw error;
      });
    this.started.catch(() => {});
  }

  /** Halves received so far and halves read. */
  get progress(): { produced: number; consumed: number } {
    return { produced: this.produced, consumed: this.consumed };
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.stop().catch(() => {});
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Stops the DMA; resolves with fresh owners once the board confirms it.
   * Safe to call more than once (and after the iteration ended).
   */
  stop(): Promise<TransferResult<S>> {
    this.stopped ??= (async () => {
      await this.started;
      await this.side.engine.stop();
      return { buffer: this.buffer.handBack(), serial: this.side.fresh() };
    })();
    const stopped = this.stopped;
    if (this.failure === undefined) this.fail(undefined);
    return stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      const { buffer } = await this.stop();
      if (buffer.isAllocation) buffer.free();
    } catch {
      // Refused or gone: nothing to give back.
    }
  }

  private async next(): Promise<IteratorResult<Uint8Array>> {
    await this.started;
    while (this.produced <= this.consumed && this.failure === undefined && !this.stopped) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.failure !== undefined) throw this.failure;
    if (this.stopped) return { done: true, value: undefined };
    if (this.produced - this.consumed >= 3) {
      // The half after the next one is full too: the DMA has refilled the oldest.
      // (Two full unread halves may still be intact: the DMA has wrapped but
      // writes the oldest again only with the next byte; the position check
      // below tells.)
      throw this.overrun();
    }
    const halfItems = this.items / 2;
    const half = this.consumed % 2;
    const offset = half * halfItems * this.itemBytes;
    const ch = this.side.engine.channel;
    // Pipelined: the CNDTR read executes right after the copy, and every event
    // raised before it arrives before its reply, where `producedAtSample` is taken.
    let producedAtSample = this.produced;
    const [data, cndtr] = await Promise.all([
      this.board.readMemory(this.buffer.address + offset, halfItems * this.itemBytes),
      this.board.readRegister(ch.cndtr.address, {
        onReply: () => {
          producedAtSample = this.produced;
        },
      }),
    ]);
    // Where the DMA was, counted in items since the start: whole laps from TC
    // events, plus the position in the current lap.
    const laps = Math.floor(producedAtSample / 2);
    const position = laps * this.items + (this.items - (cndtr & 0xffff));
    // The half started at `consumed × halfItems`; the DMA writes it again from there + one lap.
    if (position > this.consumed * halfItems + this.items) throw this.overrun();
    this.consumed++;
    return { done: false, value: data };
  }

  private overrun(): OverrunError {
    const error = new OverrunError(this.produced, this.consumed);
    this.fail(error);
    void this.stop().catch(() => {});
    return error;
  }

  private onDma(e: DmaEvent): void {
    if (e.te) {
      this.fail(new DmaTransferError(e.channel, this.items - e.cndtr));
      return;
    }
    // The board counts completions since the start, lost events included, so
    // the count is exact even when events went missing on the way.
    const delta = (e.completions - (this.produced & 0xffff) + 0x1_0000) % 0x1_0000;
    this.produced += delta;
    this.wake?.();
  }

  private onUsart(e: UsartEvent): void {
    if (e.fe || e.ne || e.pe || e.ore) this.usartErrors++;
  }

  private fail(error: unknown): void {
    if (this.failure === undefined && error !== undefined) this.failure = error;
    this.wake?.();
    this.wake = undefined;
  }
}
