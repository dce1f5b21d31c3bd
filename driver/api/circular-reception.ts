/**
 * Circular reception: the DMA fills a buffer over and over; each half is
 * handed to the reader once all of it has been copied. Overrun is detected
 * exactly by counting laps, from the board's state, never from events
 * alone:
 *
 * - the reader copies ahead of the DMA, not a half at a time: whatever the
 *   DMA has written since the last copy is copied with a MEM_READ followed,
 *   in the same pipeline, by a STATUS of the channel (PROTOCOL.md §2), whose
 *   CNDTR and completion count, taken at one instant after the copy, say
 *   where the DMA was when the copy ended (lost events or not) and so what
 *   to copy next; a range the DMA may have started to overwrite is an
 *   OverrunError, never data;
 * - while the data flows, the next copy goes out as soon as the last one is
 *   answered; once the reader has caught up, it looks again after the time
 *   a few hundred bytes take on USART1, less and less often while nothing
 *   comes, and at once on a DMA event (each carries the board's count of
 *   completions); a loss noticed on the link, or a reader waiting longer
 *   than a half should take, makes it read the count again.
 */

import type { Board } from '../board/board.ts';
import { type BufferLoan, type DmaBuffer, lendBuffer } from '../board/dma-buffer.ts';
import type { DmaEvent, UsartEvent } from '../board/events.ts';
import type { TimerId } from '../transport/timers.ts';
import { type ChannelOptions, type ChannelState, itemsFor } from './channel-engine.ts';
import { settleChannelOptions } from './channel-options.ts';
import { DmaTransferError, OverrunError, TransferInDoubtError } from './errors.ts';
import type { SerialSide } from './serial-dma.ts';
import type { TransferResult } from './transfer.ts';

/** A waiting reader re-reads the count no sooner than this, and at most this far apart. */
const CHECK_MIN_MS = 250;
const CHECK_MAX_MS = 5_000;

export class CircularReception<S> implements AsyncIterable<Uint8Array>, AsyncDisposable {
  /** Halves the DMA has completed (HT and TC), as far as the board has told. */
  #produced = 0;
  /** Halves handed to the reader. */
  #consumed = 0;
  /** Items of the half being assembled (number `consumed`) already copied. */
  #assembled = 0;
  readonly #half: Uint8Array;
  /** Where the DMA was when last seen (items since the start, laps included). */
  #position = 0;
  /** The channel's state where stop() left it. */
  #stopState: { readonly state: ChannelState; readonly buffer: DmaBuffer } | undefined;
  /** Delay before looking again once caught up, ms (grows while nothing comes). */
  #lookAgainMs = 0;
  #failure: unknown;
  #stopped: Promise<TransferResult<S>> | undefined;
  #wake: (() => void) | undefined;
  readonly #items: number;
  readonly #itemBytes: number;
  #refreshing: Promise<void> | undefined;
  #checkTimer: TimerId | undefined;
  #checkDelayMs = CHECK_MIN_MS;
  /** USART errors reported while receiving (the DMA skips bad characters). */
  #usartErrors = 0;
  readonly started: Promise<void>;
  readonly #started: Promise<void>;
  /** The buffer's memory, lent by the ledger: private, so no caller can hand it back early. */
  readonly #loan: BufferLoan;
  /** Where the lent memory starts on the board (from the ledger). */
  readonly #address: number;
  readonly #board: Board;
  readonly #side: SerialSide<S>;

  /** @internal use `rx.readCircular(buffer)` or `serial.readCircular(buffer)`. */
  constructor(board: Board, side: SerialSide<S>, buffer: DmaBuffer, callerOptions: ChannelOptions = {}) {
    this.#board = board;
    this.#side = side;
    // Read once into a frozen copy: the caller's object is never read again.
    const options = settleChannelOptions(callerOptions, 'readCircular()');
    side.token.check();
    side.engine.assertUsable();
    side.engine.assertIdle();
    const size = options.dataSize;
    this.#itemBytes = size / 8;
    let items = 0;
    // Checked and lent from the buffer's private state and the ledger, never its properties.
    const loan = lendBuffer(buffer, 'readCircular()', side.engine.lendTarget, (address, length) => {
      items = itemsFor(address, length, size);
      if (items % 2 !== 0) {
        throw new RangeError(
          `circular reception needs an even number of items to split in halves; got ${items}`,
        );
      }
    });
    this.#loan = loan;
    this.#items = items;
    this.#half = new Uint8Array((this.#items / 2) * this.#itemBytes);
    this.#address = loan.aim(side.engine.lendTarget.ledger, side.engine.channel.channel).address;
    side.token.move('readCircular()');
    this.#started = side.engine
      .start(
        {
          direction: 'from-peripheral',
          memory: { loan },
          options,
          circular: true,
          halfTransferEvents: true,
        },
        {
          dma: (e) => this.#onDma(e),
          usart: (e) => this.#onUsart(e),
          eventsLost: () => void this.#refresh(),
          gone: (error) => this.#fail(error),
        },
      )
      .then((outcome) => {
        if (outcome.ok) return;
        if (outcome.ran === 'no') {
          side.token.restore();
          loan.restore();
          this.#fail(outcome.error);
          throw outcome.error;
        }
        // The DMA may be filling the buffer: it stays locked, the serial moved.
        const error = new TransferInDoubtError('readCircular()', outcome.error);
        loan.doubt(error.message);
        this.#fail(error);
        throw error;
      });
    this.#started.catch(() => {});
    // The caller's promise is a separate one: an own `then` or `constructor` set on it changes nothing inside.
    this.started = this.#started.then(() => undefined);
    this.started.catch(() => {});
    // State in private fields, the instance frozen: `started` and friends cannot be swapped.
    Object.freeze(this);
  }

  /** USART errors reported while receiving (the DMA skips bad characters). */
  get usartErrors(): number {
    return this.#usartErrors;
  }

  /** Halves received so far and halves read. */
  get progress(): { produced: number; consumed: number } {
    return { produced: this.#produced, consumed: this.#consumed };
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#next(),
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
    this.#stopped ??= (async () => {
      await this.#started;
      let state: ChannelState;
      try {
        state = await this.#side.engine.stop();
      } catch (error) {
        // Not confirmed stopped: the DMA may still fill the buffer.
        this.#loan.doubt(error instanceof Error ? error.message : String(error));
        throw error;
      }
      const buffer = this.#loan.handBack();
      this.#stopState = { state, buffer };
      return { buffer, serial: this.#side.fresh() };
    })();
    // A reader waiting for data ends its iteration.
    this.#wakeReader();
    return this.#stopped;
  }

  /**
   * After stop(): the bytes the DMA wrote after the last half the iteration
   * returned (less than a half), read from the board where the stopped
   * channel left them, through the buffer stop() handed back: call it
   * before that buffer is freed or used again (it then fails with the
   * buffer's own error, never reading memory another owner holds). Empty
   * if the DMA had come round onto them again (they would be overwritten
   * data) or the stop failed.
   */
  async rest(): Promise<Uint8Array> {
    await this.stop().catch(() => {});
    const stopped = this.#stopState;
    if (stopped === undefined) return new Uint8Array(0);
    this.#noteState(stopped.state);
    const halfItems = this.#items / 2;
    const from = this.#consumed * halfItems;
    const known = Math.max(this.#position, this.#produced * halfItems);
    if (known <= from || known - from >= halfItems) return new Uint8Array(0);
    const offset = (from % this.#items) * this.#itemBytes;
    return stopped.buffer.read(offset, (known - from) * this.#itemBytes);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      const { buffer } = await this.stop();
      buffer[Symbol.dispose]();
    } catch {
      // Refused, in doubt or gone: nothing to give back.
    }
  }

  async #next(): Promise<IteratorResult<Uint8Array>> {
    await this.#started;
    const halfItems = this.#items / 2;
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#stopped) return { done: true, value: undefined };
      const halfStart = this.#consumed * halfItems;
      const from = halfStart + this.#assembled;
      // Events count whole halves; a STATUS says exactly where the DMA is.
      const known = Math.max(this.#position, this.#produced * halfItems);
      if (known - from > this.#items) throw this.#overrun();
      if (known <= from) {
        await this.#waitForData();
        continue;
      }
      this.#disarmCheck();
      const to = Math.min(known, halfStart + halfItems);
      const offset = (from % this.#items) * this.#itemBytes;
      // Pipelined: the board runs the STATUS right after the copy.
      const [data, state] = await Promise.all([
        this.#board.readMemory(this.#address + offset, (to - from) * this.#itemBytes),
        this.#side.engine.readState(),
      ]);
      this.#noteState(state);
      if (this.#failure !== undefined) throw this.#failure;
      // The copy is whole if the DMA, where it stood right after it, had not
      // come round to its first item again.
      if (this.#position > from + this.#items) throw this.#overrun();
      this.#half.set(data, this.#assembled * this.#itemBytes);
      this.#assembled += to - from;
      this.#lookAgainMs = 0;
      if (this.#assembled === halfItems) {
        this.#assembled = 0;
        this.#consumed++;
        return { done: false, value: this.#half.slice() };
      }
    }
  }

  /**
   * Caught up with the DMA: waits for an event, or looks at the
   * channel again after the time a few hundred bytes take on the line (then
   * less and less often while nothing comes).
   */
  async #waitForData(): Promise<void> {
    const frameMs = this.#side.engine.frameMs;
    this.#armCheck();
    const timers = this.#side.engine.timers;
    let timer: TimerId | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
      if (frameMs !== undefined) {
        const pieceMs = frameMs * Math.min(this.#items / 2, 256);
        this.#lookAgainMs = this.#lookAgainMs === 0 ? pieceMs : Math.min(this.#lookAgainMs * 2, pieceMs * 64);
        timer = timers.setTimeout(() => {
          void this.#refresh().then(() => this.#wake?.());
        }, this.#lookAgainMs);
      }
    });
    timers.clearTimeout(timer);
  }

  /** Where the DMA stands, from a STATUS: whole laps from the completion count (an HT is half a lap), plus CNDTR. */
  #noteState(state: ChannelState): void {
    const laps = Math.floor(this.#lapCompletions(state.completions) / 2);
    this.#position = Math.max(this.#position, laps * this.#items + (this.#items - state.cndtr));
    this.#noteCompletions(state.completions);
  }

  /** The board's 16-bit completion count as a count since the start, near what is known. */
  #lapCompletions(count: number): number {
    const delta = (count - (this.#produced & 0xffff) + 0x1_0000) % 0x1_0000;
    return delta < 0x8000 ? this.#produced + delta : this.#produced - (0x1_0000 - delta);
  }

  #overrun(): OverrunError {
    const error = new OverrunError(this.#produced, this.#consumed);
    this.#fail(error);
    void this.stop().catch(() => {});
    return error;
  }

  #onDma(e: DmaEvent): void {
    if (e.te) {
      this.#fail(new DmaTransferError(e.channel, this.#items - e.cndtr));
      return;
    }
    this.#noteCompletions(e.completions);
  }

  /** The board counts completions since the start, lost events included: only ever move forward. */
  #noteCompletions(count: number): void {
    const delta = (count - (this.#produced & 0xffff) + 0x1_0000) % 0x1_0000;
    if (delta === 0 || delta >= 0x8000) return;
    this.#produced += delta;
    this.#wake?.();
  }

  /** Reads the channel's count now (after a loss, or a long wait). */
  #refresh(): Promise<void> {
    if (this.#failure !== undefined || this.#stopped) return Promise.resolve();
    this.#refreshing ??= this.#side.engine
      .readState()
      .then(
        (state) => {
          if ((state.ccr & 1) === 0) {
            this.#fail(new DmaTransferError(this.#side.engine.channel.channel, this.#items - state.cndtr));
            return;
          }
          this.#noteState(state);
        },
        (error: unknown) => {
          // The board cannot be reached: what the DMA does is unknown.
          if (this.#failure === undefined && !this.#stopped) this.#fail(error);
        },
      )
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** While a reader waits, re-read the count once a half should have filled, then less and less often. */
  #armCheck(): void {
    if (this.#checkTimer !== undefined) return;
    const frameMs = this.#side.engine.frameMs ?? 0;
    const halfMs = Math.ceil((frameMs * this.#items) / 2);
    const delay = Math.max(this.#checkDelayMs, Math.ceil(halfMs * 1.25) + 100);
    const timers = this.#side.engine.timers;
    this.#checkTimer = timers.setTimeout(() => {
      this.#checkTimer = undefined;
      this.#checkDelayMs = Math.min(CHECK_MAX_MS, this.#checkDelayMs * 2);
      void this.#refresh().then(() => {
        if (this.#wake !== undefined && this.#failure === undefined && !this.#stopped) this.#armCheck();
      });
    }, delay);
  }

  #disarmCheck(): void {
    this.#checkDelayMs = CHECK_MIN_MS;
    if (this.#checkTimer === undefined) return;
    this.#side.engine.timers.clearTimeout(this.#checkTimer);
    this.#checkTimer = undefined;
  }

  #onUsart(e: UsartEvent): void {
    if (e.fe || e.ne || e.pe || e.ore) this.#usartErrors++;
  }

  #fail(error: unknown): void {
    if (this.#failure === undefined) this.#failure = error;
    this.#wakeReader();
  }

  /** No more re-reads while nobody waits; a waiting reader looks at the state again. */
  #wakeReader(): void {
    this.#disarmCheck();
    this.#wake?.();
  }
}
