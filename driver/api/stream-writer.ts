/**
 * A streaming writer: sends any amount of data through USART1 by DMA, in
 * chunks, keeping the host link busy.
 *
 * - Three arena buffers take turns. A chunk's upload (MEM_WRITE requests)
 *   is queued on the link as soon as its buffer is free, and its start right
 *   behind it, as one request that first waits on the board until the
 *   previous chunk's DMA is done (StartSpec.afterPrevious): the link never
 *   waits for a reply or an event between chunks.
 * - A start is queued only once the previous one was accepted, so chunks go
 *   out in order even when a start has to be tried again. A start's accepted
 *   reply proves the chunk before it is done, which frees that chunk's
 *   buffer for the chunk after next.
 * - A chunk's upload is queued only once the start of the chunk before it
 *   is, so a start goes out right behind its own upload and not behind the
 *   next one's: the DMA starts a chunk as soon as it is on the board.
 * - The last chunk is done when its DMA TC arrives (or a re-read of the
 *   channel shows it, when events were lost), and the stream when USART1's TC
 *   says the last bit has left the wire.
 * - A start that went out unanswered is in doubt: the stream fails with
 *   TransferInDoubtError and its buffers stay reserved.
 */

import type { Board } from '../board/board.ts';
import { type BufferLoan, type DmaBuffer, lendBuffer } from '../board/dma-buffer.ts';
import { BoardRefusedError, PollTimeoutError } from '../board/errors.ts';
import type { DeviceResetError, LinkClosedError } from '../link/errors.ts';
import type { TimerId, Timers } from '../transport/timers.ts';
import type { ChannelOptions, OperationSink } from './channel-engine.ts';
import {
  DmaTransferError,
  StreamAbortedError,
  StreamClosedError,
  TransferAbortedError,
  TransferInDoubtError,
  TransferTimeoutError,
} from './errors.ts';
import type { SerialSide } from './serial-dma.ts';

export interface StreamWriterOptions extends ChannelOptions {
  /**
   * Bytes per DMA transfer; three buffers of this size come from the arena.
   * Default: four of the board's largest MEM_WRITE pieces (4 × 1020 = 4080
   * bytes on this bridge), so each chunk uploads in whole frames.
   */
  chunkSize?: number;
  /** Called after each chunk has been handed to the DMA, with the bytes so far. */
  onProgress?: (bytesStarted: number) => void;
}

export interface CloseOptions {
  /** Stop waiting (the stream goes on: close() again, or abort()). */
  signal?: AbortSignal;
  /** Stop waiting after this long (the stream goes on: close() again, or abort()). */
  timeoutMs?: number;
}

interface Chunk {
  readonly slot: number;
  /** The slot's memory, lent by the ledger; the chunk covers its first `length` bytes. */
  readonly loan: BufferLoan;
  readonly length: number;
  /** The upload's requests, queued on the link in order. */
  readonly uploaded: Promise<void>;
  /** Resolves once the DMA is done reading this chunk's buffer. */
  readonly drained: Promise<void>;
  /** Marks this chunk's DMA done (idempotent; never another chunk's). */
  markDrained(): void;
  /** Cancels the chunk's upload pieces and start while they are not yet sent. */
  readonly cancel: AbortController;
}

const SLOTS = 3;
/** How long a start may wait on the board for the previous chunk (the board may cap it lower). */
const AFTER_PREVIOUS_US = 10_000;
const CHECK_MIN_MS = 250;
const CHECK_MAX_MS = 5_000;

export class StreamWriter<S> {
  /** The three chunk buffers' memory, lent by the ledger for the writer's whole life. */
  readonly #loans: BufferLoan[] = [];
  /** Resolves when each buffer may be written again (its last chunk's DMA is done). */
  private readonly free: Promise<void>[] = [];
  private nextSlot = 0;
  private staged: Uint8Array;
  private stagedLength = 0;
  private failure: unknown;
  /** Chunks uploaded (or uploading) whose start has not been accepted yet, in order. */
  private readonly waiting: Chunk[] = [];
  private starting: Promise<void> | undefined;
  /** The chunk whose start is in flight. */
  private startingChunk: Chunk | undefined;
  private startsAccepted = 0;
  private retryTimer: TimerId | undefined;
  /** The chunk the DMA sends now (its start was accepted). */
  private current: Chunk | undefined;
  private currentDrained = false;
  private lineIdle = false;
  private bytesStarted = 0;
  /** Bytes of the chunks before `current`: all sent. */
  private bytesBeforeCurrent = 0;
  private closing: Promise<S> | undefined;
  /** flushStaged() calls under way (a write() not yet resolved). */
  private flushing = 0;
  private aborted: Promise<{ serial: S; bytesSent: number }> | undefined;

  private readonly changes = new Set<() => void>();
  private checkTimer: TimerId | undefined;
  private checkDelayMs = CHECK_MIN_MS;
  private resyncing = false;
  private readonly chunkSize: number;
  private readonly sink: OperationSink;

  /** @internal use `serial.streamWriter()`. */
  constructor(
    board: Board,
    private readonly side: SerialSide<S>,
    private readonly options: StreamWriterOptions = {},
  ) {
    side.token.check();
    // Before allocating: a revoked serial must not take arena memory with it.
    side.engine.assertUsable();
    side.engine.assertIdle();
    this.chunkSize = options.chunkSize ?? 4 * board.limits.memWrite;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1 || this.chunkSize > 0xffff) {
      throw new RangeError(`chunkSize must be 1..65535 bytes; got ${options.chunkSize}`);
    }
    const align = (options.dataSize ?? 8) / 8;
    const buffers: DmaBuffer[] = [];
    try {
      for (let i = 0; i < SLOTS; i++) {
        buffers.push(board.alloc(this.chunkSize, { align }));
        this.free.push(Promise.resolve());
      }
    } catch (e) {
      for (const b of buffers) b.free();
      throw e;
    }
    for (const b of buffers) this.#loans.push(lendBuffer(b, 'streamWriter()', side.engine.lendTarget));
    side.token.move('streamWriter()');
    this.staged = new Uint8Array(this.chunkSize);
    this.sink = {
      dma: (e) => {
        if (e.te)
          this.fail(new DmaTransferError(e.channel, this.current ? this.current.length - e.cndtr : 0));
        else if (e.tc) this.onCurrentDrained();
      },
      // USART1's TC after the last chunk's DMA TC: the last bit has left the wire.
      usart: (e) => {
        if (e.tc && this.currentDrained && this.waiting.length === 0) {
          this.lineIdle = true;
          this.changed();
        }
      },
      eventsLost: () => void this.resync(),
      gone: (error: DeviceResetError | LinkClosedError) => this.fail(error),
      // At the reply, before any event behind it: the new chunk is current from here on.
      accepted: () => {
        const chunk = this.startingChunk;
        if (chunk) this.accepted(chunk, this.current);
      },
    };
  }

  /** Bytes handed to the DMA so far. */
  get bytesWritten(): number {
    return this.bytesStarted;
  }

  /** Queues `data`; resolves once all of it is uploading or staged (back-pressure: three chunks ahead). */
  async write(data: Uint8Array): Promise<void> {
    this.assertOpen();
    if (!(data instanceof Uint8Array)) throw new TypeError('StreamWriter.write() takes a Uint8Array');
    let offset = 0;
    while (offset < data.length) {
      const n = Math.min(this.chunkSize - this.stagedLength, data.length - offset);
      this.staged.set(data.subarray(offset, offset + n), this.stagedLength);
      this.stagedLength += n;
      offset += n;
      if (this.stagedLength === this.chunkSize) await this.flushStaged();
    }
  }

  /** Sends everything from `source`, then closes; resolves with the serial back. */
  async pipeFrom(source: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<S> {
    if (source instanceof Uint8Array) {
      await this.write(source);
    } else {
      for await (const chunk of source as AsyncIterable<Uint8Array>) await this.write(chunk);
    }
    return this.close();
  }

  /**
   * Sends what is staged, waits until the last bit has left the wire, frees
   * the buffers and resolves with a fresh owner of the serial. A timeout or
   * an abort signal stops the waiting, not the stream: close() again, or
   * abort() it.
   */
  close(options: CloseOptions = {}): Promise<S> {
    this.closing ??= (async () => {
      if (this.stagedLength > 0) await this.flushStaged();
      await this.until(
        () =>
          this.failure !== undefined ||
          (this.flushing === 0 && this.waiting.length === 0 && (this.current === undefined || this.lineIdle)),
      );
      if (this.failure !== undefined) throw this.failure;
      this.stopChecks();
      this.side.engine.release();
      // The board reported the last chunk sent: the memory is free again.
      for (const loan of this.#loans) loan.giveBackAndFree();
      return this.side.fresh();
    })();
    this.closing.catch(() => {});
    return withDeadline(this.closing, options, this.side.engine.timers);
  }

  /**
   * Stops now: staged data is dropped, uploads and starts not yet sent are
   * cancelled, no further chunk starts, the channel is disabled (confirmed by
   * the board), the buffers are freed, and the promise resolves with a fresh
   * owner of the serial and the bytes the DMA actually moved. Later calls of
   * write() or close() throw StreamAbortedError.
   */
  abort(): Promise<{ serial: S; bytesSent: number }> {
    this.aborted ??= (async () => {
      this.failure ??= new StreamAbortedError();
      this.stagedLength = 0;
      this.cancelWaiting();
      this.cancelRetry();
      this.stopChecks();
      this.changed();
      // The stop goes out right behind a start that is in flight; the
      // start's outcome is recorded before the stop's is used.
      const stopping = this.side.engine.stop();
      // Observed below, once the start's outcome is in: a stop refused meanwhile
      // (a session reopened, a revoked handle) must not go unhandled until then.
      stopping.catch(() => {});
      await this.starting;
      let state: Awaited<typeof stopping>;
      try {
        state = await stopping;
      } catch (error) {
        // Not confirmed stopped: the DMA may still read the buffers.
        const why = error instanceof Error ? error.message : String(error);
        for (const loan of this.#loans) loan.doubt(why);
        throw error;
      }
      // Every accepted chunk before the current one went out whole; of the
      // current one, all but what CNDTR says was left.
      const left = this.current ? state.cndtr * ((this.options.dataSize ?? 8) / 8) : 0;
      const bytesSent = this.current ? this.bytesBeforeCurrent + this.current.length - left : 0;
      // Confirmed stopped by the board: the memory is free again.
      for (const loan of this.#loans) loan.giveBackAndFree();
      return { serial: this.side.fresh(), bytesSent };
    })();
    return this.aborted;
  }

  /** A WritableStream view, for `readable.pipeTo(writer.writable)`. */
  get writable(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: async () => {
        await this.close();
      },
      abort: async () => {
        await this.abort();
      },
    });
  }

  // ---------------------------------------------------------------- chunks

  private assertOpen(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closing) throw new StreamClosedError();
  }

  private async flushStaged(): Promise<void> {
    this.flushing++;
    try {
      await this.flushStagedNow();
    } finally {
      this.flushing--;
      this.changed();
    }
  }

  private async flushStagedNow(): Promise<void> {
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % SLOTS;
    const length = this.stagedLength;
    const bytes = this.staged.slice(0, length);
    this.stagedLength = 0;
    // The DMA must be done reading this buffer before it is overwritten.
    await this.unlessFailed(this.free[slot]!);
    // The chunk before this one starts before this one uploads.
    await this.until(() => this.failure !== undefined || this.waiting.every((c) => c === this.startingChunk));
    if (this.failure !== undefined) throw this.failure;
    let markDrained!: () => void;
    const drained = new Promise<void>((resolve) => {
      markDrained = resolve;
    });
    // Resolved by this chunk only: a late "done" for the chunk that used the
    // buffer before cannot free it under this one.
    this.free[slot] = drained;
    const loan = this.#loans[slot]!;
    // One controller a chunk (not one for the stream): a handful of listeners each.
    const cancel = new AbortController();
    const uploaded = loan.write(bytes, 0, { signal: cancel.signal });
    uploaded.catch((e: unknown) => this.failOnLink(e));
    this.waiting.push({ slot, loan, length, uploaded, drained, markDrained, cancel });
    this.pumpStarts();
  }

  /** Queues the next chunk's start, once the one before it was accepted. */
  private pumpStarts(): void {
    if (this.starting || this.failure !== undefined) return;
    const chunk = this.waiting[0];
    if (!chunk) return;
    // A chunk's successor only starts after it: the previous start's reply
    // came, so its events now go to the new sink, and the board waits for
    // its last items unless its TC already came.
    const previous = this.current;
    const waitForPrevious = previous !== undefined && !this.currentDrained;
    this.startingChunk = chunk;
    this.side.engine.release();
    // Queued on the link before the next chunk's upload (see flushStagedNow).
    queueMicrotask(() => this.changed());
    this.starting = this.side.engine
      .start(
        {
          direction: 'to-peripheral',
          memory: { loan: chunk.loan, length: chunk.length },
          options: this.options,
          usartTcEvent: true,
          // The writer owns the serial throughout: after its first chunk, a
          // start only needs the new memory and length (PROTOCOL.md §6 checks
          // still run on the board).
          sameConfigurationAsLast: this.startsAccepted > 0,
          ...(waitForPrevious ? { afterPrevious: { timeoutUs: AFTER_PREVIOUS_US } } : {}),
          signal: chunk.cancel.signal,
        },
        this.sink,
      )
      .then((outcome) => {
        this.starting = undefined;
        this.startingChunk = undefined;
        if (outcome.ok) {
          // accepted() ran at the reply (even after an abort: the chunk is on its way until the stop).
          if (this.failure === undefined) this.pumpStarts();
          return;
        }
        if (outcome.ran === 'unknown') {
          // Whatever failed the stream first, this start may have run: the buffers are in doubt.
          const error = new TransferInDoubtError('the StreamWriter', outcome.error);
          for (const loan of this.#loans) loan.doubt(error.message);
          this.fail(error);
          return;
        }
        if (this.failure !== undefined) return;
        if (outcome.error instanceof PollTimeoutError && previous) {
          // The previous chunk was still going: try again when it should be done.
          this.retryAfter(this.remainingMs(outcome.error.lastValue));
        } else {
          this.fail(outcome.error);
        }
      });
  }

  /** `chunk`'s start was accepted: the chunk before it is done, its buffer free. */
  private accepted(chunk: Chunk, previous: Chunk | undefined): void {
    this.startingChunk = undefined;
    if (this.waiting[0] === chunk) this.waiting.shift();
    this.startsAccepted++;
    if (previous) {
      this.bytesBeforeCurrent += previous.length;
      previous.markDrained();
    }
    this.current = chunk;
    this.currentDrained = false;
    this.lineIdle = false;
    this.bytesStarted += chunk.length;
    this.options.onProgress?.(this.bytesStarted);
    this.checkDelayMs = CHECK_MIN_MS;
    if (this.failure === undefined) this.scheduleCheck(this.expectedMs(chunk.length));
    this.changed();
  }

  private onCurrentDrained(): void {
    if (this.currentDrained) return;
    this.currentDrained = true;
    // Its buffer is free now (a next start would say so too, later).
    this.current?.markDrained();
    this.changed();
  }

  private retryAfter(ms: number): void {
    this.cancelRetry();
    this.retryTimer = this.side.engine.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.pumpStarts();
    }, ms);
  }

  private cancelRetry(): void {
    if (this.retryTimer === undefined) return;
    this.side.engine.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Time to send `cndtr` more items at the channel's rate, plus a little. */
  private remainingMs(cndtr: number): number {
    return Math.ceil((this.side.engine.frameMs ?? 1) * (cndtr & 0xffff)) + 1;
  }

  private expectedMs(items: number): number {
    return Math.max(CHECK_MIN_MS, Math.ceil((this.side.engine.frameMs ?? 0) * items * 1.25) + 100);
  }

  // ---------------------------------------------------------------- lost events

  /**
   * Events were lost, or the current chunk should long be done: read the
   * channel. Only the last chunk needs it (a later start proves the ones
   * before it done, and waits for them on the board).
   */
  private async resync(): Promise<void> {
    const chunk = this.current;
    if (this.resyncing || this.failure !== undefined || !chunk) return;
    this.resyncing = true;
    try {
      const state = await this.side.engine.readState();
      // A later chunk's start accepted meanwhile: the state may predate it.
      if (this.failure !== undefined || this.current !== chunk || this.startingChunk) return;
      if ((state.ccr & 1) === 0) {
        this.fail(new DmaTransferError(this.side.engine.channel.channel, chunk.length - state.cndtr));
        return;
      }
      if (state.cndtr === 0 && this.waiting.length === 0) {
        this.onCurrentDrained();
        if (!this.lineIdle) {
          // USART1's TC event may have been among the lost ones.
          await this.side.engine.settleLine();
          this.lineIdle = true;
          this.changed();
        }
      }
    } catch (error) {
      // The board cannot be reached: the DMA's state is unknown, the buffers stay reserved.
      this.failOnLink(error);
    } finally {
      this.resyncing = false;
    }
  }

  private scheduleCheck(ms: number): void {
    this.stopChecks();
    if (this.failure !== undefined) return;
    this.checkTimer = this.side.engine.timers.setTimeout(() => {
      this.checkTimer = undefined;
      void this.resync().then(() => {
        if (this.failure !== undefined || (this.lineIdle && this.waiting.length === 0)) return;
        this.checkDelayMs = Math.min(CHECK_MAX_MS, this.checkDelayMs * 2);
        if (this.checkTimer === undefined) this.scheduleCheck(this.checkDelayMs);
      });
    }, ms);
  }

  private stopChecks(): void {
    if (this.checkTimer === undefined) return;
    this.side.engine.timers.clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
  }

  // ---------------------------------------------------------------- plumbing

  /** Drops the chunks not yet started: what of them is not yet sent never goes out. */
  private cancelWaiting(): void {
    const failure = this.failure;
    for (const c of this.waiting.splice(0)) c.cancel.abort(failure);
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    if (error instanceof TransferInDoubtError) {
      // A start's outcome is unknown: the DMA may read any of the buffers.
      for (const loan of this.#loans) loan.doubt(error.message);
    }
    this.cancelWaiting();
    this.cancelRetry();
    this.stopChecks();
    this.changed();
  }

  /**
   * The link failed under an upload or a re-read. Once a start may have
   * gone out, what the DMA does is unknown: the stream fails in doubt, not
   * with the link's own error.
   */
  private failOnLink(error: unknown): void {
    const mayRun = this.startsAccepted > 0 || this.starting !== undefined;
    const refused = error instanceof BoardRefusedError || error instanceof StreamAbortedError;
    this.fail(mayRun && !refused ? new TransferInDoubtError('the StreamWriter', error) : error);
  }

  private changed(): void {
    for (const c of [...this.changes]) c();
  }

  /** `promise`, or the writer's failure if that comes first. */
  private async unlessFailed(promise: Promise<void>): Promise<void> {
    let stop: (() => void) | undefined;
    const failed = new Promise<void>((resolve) => {
      stop = () => {
        if (this.failure !== undefined) resolve();
      };
      this.changes.add(stop);
    });
    try {
      await Promise.race([promise, failed]);
    } finally {
      this.changes.delete(stop!);
    }
  }

  /** Resolves once `done()` is true (checked at every change of state). */
  private until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        this.changes.delete(check);
        resolve();
      };
      this.changes.add(check);
    });
  }
}

/** `promise`, or a rejection when the options' deadline (on the board's clock) or signal comes first. */
function withDeadline<T>(promise: Promise<T>, options: CloseOptions, timers: Timers): Promise<T> {
  const { signal, timeoutMs } = options;
  if (signal === undefined && timeoutMs === undefined) return promise;
  if (signal?.aborted) return Promise.reject(new TransferAbortedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    let timer: TimerId | undefined;
    const cleanup = () => {
      if (timer !== undefined) timers.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(new TransferAbortedError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = timers.setTimeout(() => {
        cleanup();
        reject(new TransferTimeoutError(timeoutMs));
      }, timeoutMs);
    }
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}
