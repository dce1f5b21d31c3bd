/**
 * The transfer panel's operations through the driver's safe DMA API:
 * USART1 and its DMA channel are one moved `Serial1`, buffers come from
 * the board's arena, and every operation hands the Serial1 back when it
 * ends (completed, stopped, or failed with its owners recovered). Stop
 * means `Transfer.stop()`: the board confirms the channel is off before
 * the buffer's memory is reused. A streamed send stops the same way,
 * through `StreamWriter.abort()` (see writeStream).
 */
import {
  type Board,
  DeviceResetError,
  type DmaBuffer,
  DmaTransferError,
  type FinishedTransfer,
  LinkClosedError,
  type Recovered,
  Serial1,
  SerialError,
  type StreamWriter,
  type Transfer,
  TransferAbortedError,
} from '../../../driver/index.ts';
import type { LogKind } from '../ui/event-log.ts';
import type { TransferActions, TransferProgress } from '../ui/transfer-panel.ts';

/**
 * Streamed chunks are this many of the board's largest MEM_WRITE pieces
 * (4 × 1020 = 4080 bytes on this bridge, the StreamWriter's default), so
 * each chunk uploads in whole frames; the progress bar moves once a chunk.
 */
const STREAM_CHUNK_PIECES = 4;
const BAUD_RATE = 115_200;

type Log = (kind: LogKind, message: string) => void;

/** USART1 is lent to one operation at a time; a second one waits for the panel, never races. */
export class SerialBusyError extends Error {
  override name = 'SerialBusyError';
}

export class SerialTransferActions implements TransferActions {
  private constructor(
    private readonly board: Board,
    private serial: Serial1 | undefined,
    private readonly log: Log,
  ) {}

  /** Takes Serial1 (USART1 with DMA1 channel 1) and configures 115200 8N1. */
  static async take(board: Board, log: Log): Promise<SerialTransferActions> {
    const serial = await Serial1.take(board, { baudRate: BAUD_RATE, onWarning: (m) => log('info', m) });
    return new SerialTransferActions(board, serial, log);
  }

  /**
   * Sends by DMA. Data that fits in one chunk goes out as a single
   * writeAll(): one buffer of its own size, and Stop halts the channel
   * mid-transfer. Longer data (files, long text) streams through the
   * driver's double-buffered StreamWriter, which uploads the next chunk
   * while the DMA sends the current one.
   */
  async write(
    bytes: Uint8Array,
    onProgress: (p: TransferProgress) => void,
    signal: AbortSignal,
  ): Promise<number> {
    const chunkSize = STREAM_CHUNK_PIECES * this.board.limits.memWrite;
    return bytes.length <= chunkSize
      ? this.writeOnce(bytes, onProgress, signal)
      : this.writeStream(bytes, chunkSize, onProgress, signal);
  }

  private async writeOnce(
    bytes: Uint8Array,
    onProgress: (p: TransferProgress) => void,
    signal: AbortSignal,
  ): Promise<number> {
    const total = bytes.length;
    const serial = this.borrow();
    const buffer = this.alloc(serial, total);
    try {
      await buffer.write(bytes);
    } catch (e) {
      this.serial = serial;
      buffer.free();
      throw e;
    }
    const transfer = serial.writeAll(buffer);
    await this.confirmed(transfer, `DMA write of ${total} bytes started`);
    let done: FinishedTransfer<Serial1>;
    try {
      done = await transfer.wait({ signal });
    } catch (e) {
      const moved = await this.afterFailure(transfer, e);
      onProgress({ done: moved, total });
      if (e instanceof TransferAbortedError)
        this.log('transfer', `DMA write stopped after ${moved} of ${total} bytes`);
      throw e;
    }
    this.serial = done.serial;
    done.buffer.free();
    onProgress({ done: done.transferred, total });
    this.log('transfer', `DMA write of ${total} bytes finished`);
    return done.transferred;
  }

  /**
   * Streams in chunks of `chunkSize`. Stop aborts the writer at once: no
   * further chunk starts, the board confirms the channel is off, both
   * buffers are freed and Serial1 comes back with the bytes that actually
   * reached the wire, which the log reports. The chunk uploaded behind the
   * one on the wire never goes out. The stop request itself queues behind
   * upload frames already sent on the link, so where the link is no faster
   * than USART1 (the ST-LINK VCP at 115200) the chunk on the wire may still
   * run to its end.
   */
  private async writeStream(
    bytes: Uint8Array,
    chunkSize: number,
    onProgress: (p: TransferProgress) => void,
    signal: AbortSignal,
  ): Promise<number> {
    const total = bytes.length;
    const serial = this.borrow();
    let started = 0;
    let writer: StreamWriter<Serial1>;
    try {
      writer = serial.streamWriter({
        chunkSize,
        // The writer reports a chunk when it starts, and starts one only once
        // the chunk before it has finished: what had started before has been sent.
        onProgress: (bytesStarted) => {
          const finished = started;
          started = bytesStarted;
          onProgress({ done: finished, total });
        },
      });
    } catch (e) {
      // Refused before taking Serial1 (no room in the arena for its two buffers).
      this.serial = serial;
      throw e;
    }
    this.log('transfer', `DMA stream of ${total} bytes started (${chunkSize}-byte chunks, double-buffered)`);

    // Set once the writer has handed Serial1 back or failed on its own: an
    // abort() then would hand out a second owner or hide the failure.
    let settled = false;
    let aborting: Promise<{ serial: Serial1; bytesSent: number }> | undefined;
    let stopRequested!: () => void;
    const stopped = new Promise<'stop'>((resolve) => {
      stopRequested = () => resolve('stop');
    });
    const onStop = () => {
      // Called from the click itself, so no further chunk can start after Stop.
      if (!settled) aborting ??= writer.abort();
      stopRequested();
    };
    signal.addEventListener('abort', onStop, { once: true });
    if (signal.aborted) onStop();
    // A write() or close() pending when the writer is aborted may never
    // settle (the chunk it waits for will not finish), so each step also ends on Stop.
    const step = (pending: Promise<unknown>) => Promise.race([pending.then(() => 'done' as const), stopped]);

    let failure: unknown;
    let failed = false;
    try {
      let outcome: 'done' | 'stop' = 'done';
      for (let offset = 0; offset < total && outcome === 'done'; offset += chunkSize) {
        // Whole chunks, so each write() starts exactly one DMA transfer; close() sends a partial last one.
        outcome = await step(writer.write(bytes.subarray(offset, offset + chunkSize)));
      }
      if (outcome === 'done') {
        const closing = writer.close();
        if ((await step(closing)) === 'done') {
          this.serial = await closing;
          settled = true;
        }
      }
    } catch (e) {
      failed = true;
      failure = e;
      // No abort() from here on unless one already started: the failure path takes Serial1 back.
      settled = true;
    } finally {
      signal.removeEventListener('abort', onStop);
    }

    if (aborting) {
      let result: { serial: Serial1; bytesSent: number };
      try {
        result = await aborting;
      } catch (e) {
        // The abort could not confirm the channel off (a reset, a closed link, a refused request).
        await this.recover(e).catch(() => {});
        throw failed ? failure : e;
      }
      this.serial = result.serial;
      onProgress({ done: result.bytesSent, total });
      this.log('transfer', `DMA stream stopped after ${result.bytesSent} of ${total} bytes`);
      throw new TransferAbortedError(signal.reason);
    }
    if (failed) {
      // The writer failed (a transfer error, a reset, a closed link): its
      // close() rethrows that and keeps Serial1, so take it back by
      // recover() (or, after a reset, let the console's reopen do it).
      const back = await writer.close().catch(() => undefined);
      if (back) this.serial = back;
      else await this.recover(failure).catch(() => {});
      throw failure;
    }
    const sent = writer.bytesWritten;
    onProgress({ done: sent, total });
    this.log('transfer', `DMA stream of ${total} bytes finished`);
    return sent;
  }

  async readExact(count: number, signal: AbortSignal): Promise<Uint8Array> {
    const serial = this.borrow();
    const buffer = this.alloc(serial, count);
    const transfer = serial.readExact(buffer);
    await this.confirmed(transfer, `DMA read of ${count} bytes started`);
    const received = await this.settle(transfer, signal, `DMA read of ${count} bytes`);
    this.log('transfer', `DMA read of ${count} bytes finished`);
    return received;
  }

  async readUntilIdle(maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
    const serial = this.borrow();
    const buffer = this.alloc(serial, maxBytes);
    const transfer = serial.readUntilIdle(buffer);
    await this.confirmed(transfer, `DMA read until idle started (up to ${maxBytes} bytes)`);
    const received = await this.settle(transfer, signal, 'DMA read until idle');
    this.log('transfer', `line idle after ${received.length} bytes`);
    return received;
  }

  async monitor(size: number, onData: (bytes: Uint8Array) => void, signal: AbortSignal): Promise<void> {
    if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) {
      throw new RangeError('the ring size must be an even number of bytes, at least 2');
    }
    const serial = this.borrow();
    const buffer = this.alloc(serial, size);
    const reception = serial.readCircular(buffer);
    await this.confirmed(reception, `circular reception started in a ${size}-byte ring`);
    const stop = () => void reception.stop().catch(() => {});
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const half of reception) onData(half);
    } finally {
      signal.removeEventListener('abort', stop);
      try {
        const back = await reception.stop();
        this.serial = back.serial;
        back.buffer.free();
      } catch (e) {
        if (!sessionGone(e)) this.log('error', `circular reception could not hand USART1 back: ${String(e)}`);
        await this.recover(e).catch(() => {});
      }
      this.log('transfer', 'circular reception stopped');
    }
  }

  /**
   * Logs a start once the board has confirmed it (the channel is enabled),
   * so what the log says has happened has happened. A refused start is
   * not reported here: waiting on the transfer throws it.
   */
  private async confirmed(operation: { readonly started: Promise<void> }, message: string): Promise<void> {
    try {
      await operation.started;
      this.log('transfer', message);
    } catch {
      // Surfaces through wait() or the iteration, with the owners to take back.
    }
  }

  /** Waits for a reception and reads what arrived; on Stop, stops it first. Always frees the buffer. */
  private async settle(transfer: Transfer<Serial1>, signal: AbortSignal, what: string): Promise<Uint8Array> {
    let done: FinishedTransfer<Serial1>;
    try {
      done = await transfer.wait({ signal });
    } catch (e) {
      const moved = await this.afterFailure(transfer, e);
      if (e instanceof TransferAbortedError) this.log('transfer', `${what} stopped after ${moved} bytes`);
      throw e;
    }
    this.serial = done.serial;
    try {
      // The items the DMA moved: the whole buffer for readExact, what arrived before the line went idle for readUntilIdle.
      return await done.buffer.read(0, done.transferred);
    } finally {
      done.buffer.free();
    }
  }

  /**
   * Takes Serial1 back after `wait()` failed: a Stop stops the transfer
   * (the board confirms before the buffer is freed); a transfer or USART
   * error carries the owners; anything else (a reset, a closed link) means
   * starting over. Returns the bytes moved, when known.
   */
  private async afterFailure(transfer: Transfer<Serial1>, error: unknown): Promise<number> {
    if (error instanceof TransferAbortedError) {
      const stopped = await transfer.stop();
      this.serial = stopped.serial;
      stopped.buffer.free();
      return stopped.transferred;
    }
    const recovered = recoveredFrom(error);
    if (recovered) {
      this.serial = recovered.serial;
      recovered.buffer.free();
      return error instanceof DmaTransferError || error instanceof SerialError ? (error.transferred ?? 0) : 0;
    }
    await this.recover(error).catch(() => {});
    return 0;
  }

  private borrow(): Serial1 {
    const serial = this.serial;
    if (!serial) throw new SerialBusyError('USART1 is in use by another transfer; stop it first');
    this.serial = undefined;
    return serial;
  }

  /** A buffer from the arena; if there is none, Serial1 goes back before the error is thrown. */
  private alloc(serial: Serial1, length: number): DmaBuffer {
    try {
      return this.board.alloc(length);
    } catch (e) {
      this.serial = serial;
      throw e;
    }
  }

  /**
   * The way out when an operation ended without handing Serial1 back:
   * start over on the board. Not after a reset or a closed link: the
   * console reopens the session and takes USART1 again itself (or closes
   * it), and a recover() here would race that and could revoke the Serial1
   * it had just taken.
   */
  private async recover(cause: unknown): Promise<void> {
    this.serial = undefined;
    if (sessionGone(cause)) return;
    await this.board.recover();
    this.serial = await Serial1.take(this.board, {
      baudRate: BAUD_RATE,
      onWarning: (m) => this.log('info', m),
    });
    this.log('info', 'USART1 and DMA reset and taken again');
  }
}

/** The board reset or the link closed: the console's own reset and close handling takes it from here. */
function sessionGone(e: unknown): boolean {
  // RevokedError is a DeviceResetError too; one that board.recover() caused is no reset.
  return (e instanceof DeviceResetError && e.evidence !== 'recover') || e instanceof LinkClosedError;
}

function recoveredFrom(e: unknown): Recovered<Serial1> | undefined {
  if (e instanceof DmaTransferError || e instanceof SerialError) {
    return e.recovered as Recovered<Serial1> | undefined;
  }
  return undefined;
}
