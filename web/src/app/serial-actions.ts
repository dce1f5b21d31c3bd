/**
 * The console's operations on USART1 through the driver's safe DMA API.
 * USART1 is taken once and split (`Serial1.split()`): sending uses the
 * transmit half on DMA1 channel 1, receiving the receive half on DMA1
 * channel 2, so a send and a reception run at the same time (full duplex:
 * with TX looped to RX, what is sent is received while it is sent). Each
 * half is lent to one operation at a time and handed back when it ends
 * (completed, stopped, timed out, or failed with its owners recovered).
 * Stop means the driver's stop: `Transfer.stop()` or
 * `StreamWriter.abort()`, called at once; the board confirms the channel
 * is off before a buffer's memory is reused.
 */
import {
  type Board,
  type CircularReception,
  DeviceResetError,
  type DmaBuffer,
  DmaTransferError,
  type FinishedTransfer,
  LinkClosedError,
  OverrunError,
  type Recovered,
  Serial1,
  SerialError,
  type SerialRx,
  type SerialTx,
  SessionEndedError,
  type StreamWriter,
  type Transfer,
  TransferAbortedError,
  TransferTimeoutError,
} from '../../../driver/index.ts';
import type { LogKind } from '../ui/event-log.ts';
import { RingTracker } from './ring-tracker.ts';
import { applySerialSettings, DEFAULT_SERIAL_SETTINGS, type SerialSettings } from './serial-settings.ts';

/**
 * Streamed chunks: small enough that Stop is quick where the host link is no
 * faster than USART1 (the ST-LINK's 115200 Bd). The stop request goes out
 * behind the upload frames already on the link (at most a window of four),
 * so at 115200 a 512-byte chunk bounds that wait to about 180 ms, where the
 * default 4080-byte chunk could hold it back more than a second.
 */
export const STREAM_CHUNK_BYTES = 512;

/** A circular reception with nothing handed over for this long looks at CNDTR for a tail left in the ring. */
const TAIL_CHECK_MS = 1_000;

type Log = (kind: LogKind, message: string) => void;

export interface TransferProgress {
  readonly done: number;
  readonly total: number;
}

/** How a reception ended and what it received. */
export interface Reception {
  readonly bytes: Uint8Array;
  readonly ended: 'complete' | 'idle' | 'timeout' | 'stopped';
}

export interface ReadOptions {
  signal: AbortSignal;
  /** Give up (keeping what arrived) after this long; 0 or undefined waits until stopped. */
  timeoutMs?: number;
}

/** Bytes on the wire, for the timeline: sent as chunks finish, received as they are read. */
export type TrafficListener = (direction: 'tx' | 'rx', bytes: number) => void;

/**
 * A circular reception fell so far behind that the DMA wrote over bytes not
 * yet read. `lost` counts the bytes the DMA received that were never handed
 * over (the ring's unread part is dropped: it may mix two laps).
 */
export class ReceptionOverrunError extends Error {
  override name = 'ReceptionOverrunError';
  constructor(readonly lost: number) {
    super(
      `USART1 reception overran: ${lost} byte${lost === 1 ? '' : 's'} lost before the console could read them`,
    );
  }
}

/** One half of USART1 is lent to one operation at a time; a second one is told, never raced. */
export class SerialBusyError extends Error {
  override name = 'SerialBusyError';
}

export class SerialTransferActions {
  private settingsValue: SerialSettings;

  private constructor(
    private readonly board: Board,
    private tx: SerialTx | undefined,
    private rx: SerialRx | undefined,
    private readonly log: Log,
    settings: SerialSettings,
    private readonly traffic: TrafficListener,
  ) {
    this.settingsValue = settings;
  }

  /** Takes Serial1 (USART1 with DMA1 channels 1 and 2), applies the line settings, splits it. */
  static async take(
    board: Board,
    log: Log,
    settings: SerialSettings = DEFAULT_SERIAL_SETTINGS,
    traffic: TrafficListener = () => {},
  ): Promise<SerialTransferActions> {
    const serial = await Serial1.take(board, {
      baudRate: settings.baudRate,
      onWarning: (m) => log('info', m),
    });
    await applySerialSettings(board, settings);
    const { tx, rx } = serial.split();
    return new SerialTransferActions(board, tx, rx, log, settings, traffic);
  }

  get settings(): SerialSettings {
    return this.settingsValue;
  }

  get idle(): boolean {
    return this.tx !== undefined && this.rx !== undefined;
  }

  /** Changes baud rate, word length, parity and stop bits; only while nothing is sent or received. */
  async configure(settings: SerialSettings): Promise<void> {
    if (!this.idle) {
      throw new SerialBusyError('stop sending and receiving before changing the USART1 settings');
    }
    await applySerialSettings(this.board, settings);
    this.settingsValue = settings;
    this.log('info', `USART1 set to ${describeSettings(settings)}`);
  }

  /**
   * Sends by DMA. Data that fits in one chunk goes out as a single
   * writeAll(): Stop halts the channel mid-transfer. Longer data streams
   * through the driver's double-buffered StreamWriter.
   */
  write(bytes: Uint8Array, onProgress: (p: TransferProgress) => void, signal: AbortSignal): Promise<number> {
    return bytes.length <= STREAM_CHUNK_BYTES
      ? this.writeOnce(bytes, onProgress, signal)
      : this.writeStream(bytes, STREAM_CHUNK_BYTES, onProgress, signal);
  }

  private async writeOnce(
    bytes: Uint8Array,
    onProgress: (p: TransferProgress) => void,
    signal: AbortSignal,
  ): Promise<number> {
    const total = bytes.length;
    const tx = this.borrowTx();
    const buffer = this.alloc(total, () => {
      this.tx = tx;
    });
    try {
      await buffer.write(bytes);
    } catch (e) {
      this.tx = tx;
      buffer.free();
      throw e;
    }
    const transfer = tx.writeAll(buffer);
    await confirmed(transfer, () => this.log('transfer', `DMA write of ${total} bytes started`));
    let done: FinishedTransfer<SerialTx>;
    try {
      done = await transfer.wait({ signal });
    } catch (e) {
      const moved = await this.afterFailure(transfer, e, (back) => {
        this.tx = back;
      });
      onProgress({ done: moved, total });
      this.traffic('tx', moved);
      if (e instanceof TransferAbortedError)
        this.log('transfer', `DMA write stopped after ${moved} of ${total} bytes`);
      throw e;
    }
    this.tx = done.serial;
    done.buffer.free();
    onProgress({ done: done.transferred, total });
    this.traffic('tx', done.transferred);
    this.log('transfer', `DMA write of ${total} bytes finished`);
    return done.transferred;
  }

  /**
   * Streams in chunks of `chunkSize`. Stop calls the writer's abort() from
   * the click itself, ahead of anything else the console would send: no
   * further chunk starts, the board confirms the channel off, both buffers
   * are freed and the transmit half comes back with the count of bytes that
   * reached the wire, which the log reports.
   */
  private async writeStream(
    bytes: Uint8Array,
    chunkSize: number,
    onProgress: (p: TransferProgress) => void,
    signal: AbortSignal,
  ): Promise<number> {
    const total = bytes.length;
    const tx = this.borrowTx();
    let started = 0;
    let writer: StreamWriter<SerialTx>;
    try {
      writer = tx.streamWriter({
        chunkSize,
        // The writer reports a chunk when it starts, and starts one only once
        // the chunk before it has finished: what had started before has been sent.
        onProgress: (bytesStarted) => {
          const finished = started;
          this.traffic('tx', bytesStarted - started);
          started = bytesStarted;
          onProgress({ done: finished, total });
        },
      });
    } catch (e) {
      // Refused before taking the transmit half (no room in the arena for its buffers).
      this.tx = tx;
      throw e;
    }
    this.log('transfer', `DMA stream of ${total} bytes started (${chunkSize}-byte chunks, double-buffered)`);

    // Set once the writer has handed the half back or failed on its own: an
    // abort() then would hand out a second owner or hide the failure.
    let settled = false;
    let aborting: Promise<{ serial: SerialTx; bytesSent: number }> | undefined;
    let stopRequested!: () => void;
    const stopped = new Promise<'stop'>((resolve) => {
      stopRequested = () => resolve('stop');
    });
    const onStop = () => {
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
        outcome = await step(writer.write(bytes.subarray(offset, offset + chunkSize)));
      }
      if (outcome === 'done') {
        const closing = writer.close();
        if ((await step(closing)) === 'done') {
          this.tx = await closing;
          settled = true;
        }
      }
    } catch (e) {
      failed = true;
      failure = e;
      settled = true;
    } finally {
      signal.removeEventListener('abort', onStop);
    }

    if (aborting) {
      let result: { serial: SerialTx; bytesSent: number };
      try {
        result = await aborting;
      } catch (e) {
        // The abort could not confirm the channel off (a reset, a closed link, a refused request).
        await this.recover(e).catch(() => {});
        throw failed ? failure : e;
      }
      this.tx = result.serial;
      onProgress({ done: result.bytesSent, total });
      this.log('transfer', `DMA stream stopped after ${result.bytesSent} of ${total} bytes`);
      throw new TransferAbortedError(signal.reason);
    }
    if (failed) {
      const back = await writer.close().catch(() => undefined);
      if (back) this.tx = back;
      else await this.recover(failure).catch(() => {});
      throw failure;
    }
    const sent = writer.bytesWritten;
    this.traffic('tx', sent - started);
    onProgress({ done: sent, total });
    this.log('transfer', `DMA stream of ${total} bytes finished`);
    return sent;
  }

  /** Receives `count` bytes; on Stop or timeout, stops and keeps what arrived. */
  async readExact(count: number, options: ReadOptions): Promise<Reception> {
    const rx = this.borrowRx();
    const buffer = this.alloc(count, () => {
      this.rx = rx;
    });
    const transfer = rx.readExact(buffer);
    await confirmed(transfer, () => this.log('transfer', `DMA read of ${count} bytes started`));
    const reception = await this.settle(transfer, options, `DMA read of ${count} bytes`);
    if (reception.ended === 'complete') this.log('transfer', `DMA read of ${count} bytes finished`);
    return reception;
  }

  /** Receives until the line goes idle after data (or `maxBytes` arrived). */
  async readUntilIdle(maxBytes: number, options: ReadOptions): Promise<Reception> {
    const rx = this.borrowRx();
    const buffer = this.alloc(maxBytes, () => {
      this.rx = rx;
    });
    const transfer = rx.readUntilIdle(buffer);
    await confirmed(transfer, () =>
      this.log('transfer', `DMA read until idle started (up to ${maxBytes} bytes)`),
    );
    const reception = await this.settle(transfer, options, 'DMA read until idle');
    if (reception.ended === 'complete') {
      this.log('transfer', `line idle after ${reception.bytes.length} bytes`);
      return { ...reception, ended: 'idle' };
    }
    return reception;
  }

  /**
   * Circular reception into a ring of `size` bytes until `signal` aborts.
   * Each half goes to `onData` when the DMA fills it; when the line goes
   * idle, the part of the current half received so far goes too (USART1's
   * IDLE event), and on Stop whatever the ring holds that was not handed
   * over yet. Every byte is handed over once, in order.
   */
  async monitor(size: number, onData: (bytes: Uint8Array) => void, signal: AbortSignal): Promise<void> {
    if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) {
      throw new RangeError('the ring size must be an even number of bytes, at least 2');
    }
    const rx = this.borrowRx();
    const buffer = this.alloc(size, () => {
      this.rx = rx;
    });
    const ring = new RingTracker(size, buffer.address);
    const reception = rx.readCircular(buffer);
    // Listening for Stop from here on: a Stop while the start is on its way
    // stops the reception once the board has confirmed the start.
    const stop = () => void reception.stop().catch(() => {});
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    let started = false;
    await confirmed(reception, () => {
      started = true;
      this.log('transfer', `circular reception started in a ${size}-byte ring`);
    });
    const deliver = (bytes: Uint8Array) => {
      if (bytes.length === 0) return;
      lastDelivery = performance.now();
      this.traffic('rx', bytes.length);
      onData(bytes);
    };
    // Halves and idle snapshots are handed over one after the other, in order.
    let handing: Promise<void> = Promise.resolve();
    const enqueue = (job: () => Promise<void>) => {
      handing = handing.then(job).catch(() => {});
    };
    const channel = this.board.chip.dma.channels[1]!;
    // An IDLE seen while a full half was still on its way to the iteration is
    // answered once that half has been handed over.
    let idleAhead = false;
    const snapshot = async () => {
      if (signal.aborted) return;
      const cndtr = await this.board.readRegister(channel.cndtr.address);
      const fresh = await ring.partial(cndtr, (address, length) => this.board.readMemory(address, length));
      idleAhead = fresh === undefined;
      if (fresh) deliver(fresh);
    };
    // The IDLE event can be among those a full event queue drops: a loss, and
    // a quiet second, look at CNDTR too, so the tail of a burst is never left waiting.
    let lastDelivery = performance.now();
    const unsubscribe = this.board.subscribe((n) => {
      if (signal.aborted) return;
      if ((n.kind === 'usart' && n.idle) || n.kind === 'events-lost') enqueue(snapshot);
    });
    const tailCheck = setInterval(() => {
      if (!signal.aborted && performance.now() - lastDelivery > TAIL_CHECK_MS) enqueue(snapshot);
    }, TAIL_CHECK_MS);
    let overran = false;
    let written = 0;
    try {
      // The board reports IDLE only while its interrupt is enabled; the
      // circular start leaves it as it was.
      if (started) await this.setIdleEvents(true);
      for await (const half of reception) {
        enqueue(async () => {
          deliver(ring.half(half));
          if (idleAhead) await snapshot();
        });
      }
    } catch (e) {
      if (!(e instanceof OverrunError)) throw e;
      overran = true;
    } finally {
      signal.removeEventListener('abort', stop);
      unsubscribe();
      clearInterval(tailCheck);
      await handing;
      written = await this.finishMonitor(reception, ring, overran ? undefined : deliver);
    }
    if (overran) throw new ReceptionOverrunError(Math.max(0, written - ring.position));
  }

  /**
   * Stops the reception, hands over what the ring still holds (unless
   * `deliver` is undefined: after an overrun the ring may mix two laps), and
   * takes the receive half back. Returns how many bytes the DMA wrote in all.
   */
  private async finishMonitor(
    reception: CircularReception<SerialRx>,
    ring: RingTracker,
    deliver: ((bytes: Uint8Array) => void) | undefined,
  ): Promise<number> {
    let back: { buffer: DmaBuffer; serial: SerialRx };
    try {
      back = await reception.stop();
    } catch (e) {
      if (!sessionGone(e)) this.log('error', `circular reception could not hand USART1 back: ${String(e)}`);
      await this.recover(e).catch(() => {});
      this.log('transfer', 'circular reception stopped');
      return ring.position;
    }
    let written = ring.position;
    try {
      // The channel is off: CNDTR says where it stopped.
      const channel = this.board.chip.dma.channels[1]!;
      const cndtr = await this.board.readRegister(channel.cndtr.address);
      written = ring.written(reception.progress.produced, cndtr);
      if (deliver)
        deliver(
          (await ring.partial(cndtr, (address, length) => back.buffer.read(address - ring.base, length))) ??
            new Uint8Array(0),
        );
      await this.setIdleEvents(false);
    } catch {
      // The rest of the ring is lost with the session; the halves already shown stay.
    }
    this.rx = back.serial;
    back.buffer.free();
    this.log('transfer', 'circular reception stopped');
    return written;
  }

  private async setIdleEvents(on: boolean): Promise<void> {
    const cr1 = this.board.chip.usart1.cr1;
    const idleie = 1 << cr1.fields.find((f) => f.name === 'IDLEIE')!.offset;
    const result = await this.board.raw.batch((b) => b.maskedWrite(cr1.address, idleie, on ? idleie : 0));
    if (result.failure) throw result.failure.error;
  }

  /** Waits for a reception; on Stop or timeout, stops it and keeps what arrived. Always frees the buffer. */
  private async settle(transfer: Transfer<SerialRx>, options: ReadOptions, what: string): Promise<Reception> {
    const timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : undefined;
    let done: FinishedTransfer<SerialRx>;
    let ended: Reception['ended'] = 'complete';
    try {
      done = await transfer.wait({ signal: options.signal, timeoutMs });
    } catch (e) {
      if (!(e instanceof TransferAbortedError || e instanceof TransferTimeoutError)) {
        await this.afterFailure(transfer, e, (back) => {
          this.rx = back;
        });
        throw e;
      }
      ended = e instanceof TransferTimeoutError ? 'timeout' : 'stopped';
      done = await transfer.stop();
      const how = ended === 'timeout' ? `timed out after ${timeoutMs} ms` : 'stopped';
      this.log('transfer', `${what} ${how}, ${done.transferred} bytes received`);
    }
    this.rx = done.serial;
    try {
      const bytes = done.transferred > 0 ? await done.buffer.read(0, done.transferred) : new Uint8Array(0);
      this.traffic('rx', bytes.length);
      return { bytes, ended };
    } finally {
      done.buffer.free();
    }
  }

  /**
   * Takes a half back after `wait()` failed: a transfer or USART error
   * carries the owners; anything else (a reset, a closed link) means
   * starting over. Returns the bytes moved, when known.
   */
  private async afterFailure<S extends SerialTx | SerialRx>(
    transfer: Transfer<S>,
    error: unknown,
    giveBack: (serial: S) => void,
  ): Promise<number> {
    if (error instanceof TransferAbortedError) {
      const stopped = await transfer.stop();
      giveBack(stopped.serial);
      stopped.buffer.free();
      return stopped.transferred;
    }
    const recovered = recoveredFrom<S>(error);
    if (recovered) {
      giveBack(recovered.serial);
      recovered.buffer.free();
      return error instanceof DmaTransferError || error instanceof SerialError ? (error.transferred ?? 0) : 0;
    }
    await this.recover(error).catch(() => {});
    return 0;
  }

  private borrowTx(): SerialTx {
    const tx = this.tx;
    if (!tx) throw new SerialBusyError('USART1 is already sending; wait for it or press Stop first');
    this.tx = undefined;
    return tx;
  }

  private borrowRx(): SerialRx {
    const rx = this.rx;
    if (!rx) throw new SerialBusyError('USART1 is already receiving; stop that reception first');
    this.rx = undefined;
    return rx;
  }

  /** A buffer from the arena; if there is none, the half goes back (`giveBack`) before the error is thrown. */
  private alloc(length: number, giveBack: () => void): DmaBuffer {
    try {
      return this.board.alloc(length);
    } catch (e) {
      giveBack();
      throw e;
    }
  }

  /**
   * The way out when an operation ended without handing its half back:
   * start over on the board (which revokes both halves, so both are taken
   * again). Not after a reset or a closed link: the console reopens the
   * session and takes USART1 again itself (or closes it), and a recover()
   * here would race that.
   */
  private async recover(cause: unknown): Promise<void> {
    this.tx = undefined;
    this.rx = undefined;
    if (sessionGone(cause)) return;
    await this.board.recover();
    const serial = await Serial1.take(this.board, {
      baudRate: this.settingsValue.baudRate,
      onWarning: (m) => this.log('info', m),
    });
    await applySerialSettings(this.board, this.settingsValue);
    const { tx, rx } = serial.split();
    this.tx = tx;
    this.rx = rx;
    this.log('info', 'USART1 and its DMA channels were reset and taken again');
  }
}

export function describeSettings(s: SerialSettings): string {
  const parity = { none: 'N', even: 'E', odd: 'O' }[s.parity];
  return `${s.baudRate} Bd ${s.dataBits}${parity}${s.stopBits}`;
}

/** Logs a start once the board has confirmed it, so what the log says has happened has happened. */
async function confirmed(
  operation: { readonly started: Promise<void> },
  onStarted: () => void,
): Promise<void> {
  try {
    await operation.started;
    onStarted();
  } catch {
    // A refused start surfaces through wait() or the iteration, with the owners to take back.
  }
}

/** The board reset or the link closed: the console's own reset and close handling takes it from here. */
export function sessionGone(e: unknown): boolean {
  // RevokedError is a DeviceResetError too; one that board.recover() caused is no reset.
  // A request the session's end failed before it was sent ends the same way.
  return (
    (e instanceof DeviceResetError && e.evidence !== 'recover') ||
    e instanceof LinkClosedError ||
    e instanceof SessionEndedError
  );
}

function recoveredFrom<S>(e: unknown): Recovered<S> | undefined {
  if (e instanceof DmaTransferError || e instanceof SerialError) {
    return e.recovered as Recovered<S> | undefined;
  }
  return undefined;
}
