/**
 * A streaming writer: sends any amount of data through USART1 by DMA with
 * two arena buffers, uploading the next chunk while the DMA sends the
 * current one (double buffering), so the link and USART1 both stay busy.
 *
 * Each chunk costs its MEM_WRITE frames plus one start request; the start
 * is sent as soon as the previous chunk's DMA TC event arrives and is not
 * waited for before the next upload begins (the board runs requests in
 * order, so the upload into the buffer just freed lands after the start).
 */

import type { Board } from '../board/board.ts';
import type { DmaBuffer } from '../board/dma-buffer.ts';
import type { DeviceResetError, LinkClosedError } from '../link/errors.ts';
import type { ChannelOptions, OperationSink } from './channel-engine.ts';
import { DmaTransferError, StreamAbortedError } from './errors.ts';
import type { SerialSide } from './serial-dma.ts';

export interface StreamWriterOptions extends ChannelOptions {
  /**
   * Bytes per DMA transfer; two buffers of this size come from the arena.
   * Default: four of the board's largest MEM_WRITE pieces (4 × 1020 = 4080
   * bytes on this bridge), so each chunk uploads in whole frames.
   */
  chunkSize?: number;
  /** Called after each chunk has been handed to the DMA, with the bytes so far. */
  onProgress?: (bytesStarted: number) => void;
}

interface Slot {
  buffer: DmaBuffer;
  /** Resolves when the DMA has finished reading this buffer (its TC event). */
  drained: Promise<void>;
}

export class StreamWriter<S> {
  private readonly slots: Slot[];
  private next = 0;
  private staged: Uint8Array;
  private stagedLength = 0;
  private failure: unknown;
  /** The chunk the DMA is sending now, if any. */
  private sending: Promise<void> = Promise.resolve();
  private lastStart: Promise<void> = Promise.resolve();
  /** Resolves when USART1's TC follows the current chunk's DMA TC: the line is idle. */
  private lineIdle: Promise<void> = Promise.resolve();
  private bytesStarted = 0;
  private chunksStarted = 0;
  private closed: Promise<S> | undefined;
  private aborted: Promise<{ serial: S; bytesSent: number }> | undefined;
  /** Fails the chunk in flight, so writes waiting for it end when the stream is aborted. */
  private failCurrent: ((error: unknown) => void) | undefined;
  private readonly chunkSize: number;

  /** @internal use `serial.streamWriter()`. */
  constructor(
    board: Board,
    private readonly side: SerialSide<S>,
    private readonly options: StreamWriterOptions = {},
  ) {
    side.token.check();
    // Before allocating: a revoked serial must not take arena memory with it.
    side.engine.assertUsable();
    this.chunkSize = options.chunkSize ?? 4 * board.limits.memWrite;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1 || this.chunkSize > 0xffff) {
      throw new RangeError(`chunkSize must be 1..65535 bytes; got ${options.chunkSize}`);
    }
    const align = (options.dataSize ?? 8) / 8;
    const a = board.alloc(this.chunkSize, { align });
    let b: DmaBuffer;
    try {
      b = board.alloc(this.chunkSize, { align });
    } catch (e) {
      a.free();
      throw e;
    }
    side.token.move('streamWriter()');
    this.slots = [
      { buffer: a, drained: Promise.resolve() },
      { buffer: b, drained: Promise.resolve() },
    ];
    this.staged = new Uint8Array(this.chunkSize);
  }

  /** Bytes handed to the DMA so far. */
  get bytesWritten(): number {
    return this.bytesStarted;
  }

  /** Queues `data`; resolves once all of it is uploaded or staged (back-pressure). */
  async write(data: Uint8Array): Promise<void> {
    this.assertOpen();
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
   * the two buffers and resolves with a fresh owner of the serial.
   */
  close(): Promise<S> {
    this.closed ??= (async () => {
      if (this.stagedLength > 0) await this.flushStaged();
      await this.lastStart;
      await this.sending;
      if (this.failure !== undefined) throw this.failure;
      await this.lineIdle;
      this.side.engine.release();
      for (const s of this.slots) s.buffer.free();
      return this.side.fresh();
    })();
    return this.closed;
  }

  /**
   * Stops now: staged data is dropped, no further chunk starts, the channel
   * is disabled (confirmed by the board), both buffers are freed, and the
   * promise resolves with a fresh owner of the serial and the bytes the DMA
   * actually moved. Later calls of write() or close() throw StreamAbortedError.
   */
  abort(): Promise<{ serial: S; bytesSent: number }> {
    this.aborted ??= (async () => {
      this.failure ??= new StreamAbortedError();
      this.stagedLength = 0;
      await this.lastStart.catch(() => {});
      const state = await this.side.engine.stop();
      this.failCurrent?.(this.failure);
      // Everything started went out but what the last chunk had left.
      const bytesSent = this.bytesStarted - state.cndtr * ((this.options.dataSize ?? 8) / 8);
      for (const s of this.slots) if (s.buffer.usable) s.buffer.free();
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

  private assertOpen(): void {
    this.throwIfFailed();
    if (this.closed) throw new Error('this StreamWriter is closed');
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async flushStaged(): Promise<void> {
    const slot = this.slots[this.next]!;
    this.next ^= 1;
    const length = this.stagedLength;
    const bytes = this.staged.slice(0, length);
    this.stagedLength = 0;
    // The DMA must be done reading this buffer before it is overwritten.
    await slot.drained;
    // Only a failure stops a flush: close() flushes the last, partial chunk after it has marked the writer closed.
    this.throwIfFailed();
    const view = length === slot.buffer.length ? slot.buffer : slot.buffer.subarray(0, length);
    await view.write(bytes);
    // One channel: the previous chunk must be finished before this one starts.
    await this.sending;
    await this.lastStart;
    this.throwIfFailed();
    let drained!: () => void;
    let failed!: (e: unknown) => void;
    let idle!: () => void;
    const done = new Promise<void>((resolve, reject) => {
      drained = resolve;
      failed = reject;
    });
    const lineIdle = new Promise<void>((resolve) => {
      idle = resolve;
    });
    slot.drained = done;
    this.sending = done;
    this.failCurrent = failed;
    this.lineIdle = lineIdle;
    done.catch((e: unknown) => {
      this.failure ??= e;
      idle();
    });
    let dmaDone = false;
    const finish = () => {
      dmaDone = true;
      drained();
    };
    const sink: OperationSink = {
      dma: (e) => {
        if (e.te) failed(new DmaTransferError(e.channel, length - e.cndtr));
        else if (e.tc) finish();
      },
      // TC after this chunk's DMA TC: the last bit has left the wire (no chunk followed in time).
      usart: (e) => {
        if (e.tc && dmaDone) idle();
      },
      eventsLost: () => {
        void this.side.engine.readState().then(
          async (s) => {
            if ((s.ccr & 1) === 0)
              failed(new DmaTransferError(this.side.engine.channel.channel, length - s.cndtr));
            else if (s.cndtr === 0) {
              finish();
              // The TC event may have been among the lost ones.
              await this.side.engine.settleLine();
              idle();
            }
          },
          (e: unknown) => failed(e),
        );
      },
      gone: (error: DeviceResetError | LinkClosedError) => failed(error),
    };
    // The previous chunk's operation stays armed until now, to hear its TC.
    this.side.engine.release();
    // Not awaited: the next upload goes out right behind this start.
    this.lastStart = this.side.engine
      .start(
        {
          direction: 'to-peripheral',
          memoryAddress: view.address,
          byteLength: length,
          options: this.options,
          usartTcEvent: true,
          // The writer owns the serial throughout: after its first chunk, a
          // start only needs the new memory and length (PROTOCOL.md §6 checks
          // still run on the board).
          sameConfigurationAsLast: this.chunksStarted > 0,
        },
        sink,
      )
      .catch((e: unknown) => {
        this.failure ??= e;
        failed(e);
      });
    this.chunksStarted++;
    this.bytesStarted += length;
    this.options.onProgress?.(this.bytesStarted);
  }
}
