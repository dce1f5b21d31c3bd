/**
 * WebSerial as a driver Transport: the ST-LINK virtual COM port at
 * 115200 8N1.
 *
 * The port's own streams are never handed out. The transport holds the
 * only reader and writer on them and offers streams of its own, so that
 * `close()` can always cancel the reader and release both locks before
 * `SerialPort.close()`, which rejects while either stream is locked. It
 * also lets reading survive the line errors WebSerial reports by erroring
 * `port.readable` (framing, parity, break, overrun): the next
 * `port.readable` is picked up and the link's framing resynchronises.
 *
 * WebSerial has no way to change the rate of an open port: `setBaudRate`
 * closes and reopens it (the board is not reset by that), with the
 * transport's own streams staying open across.
 */
import { TransportClosedError } from '../../../driver/transport/errors.ts';
import type { Transport, TransportInfo } from '../../../driver/transport/transport.ts';
import { NoDeviceChosenError, TransportOpenError, TransportUnsupportedError } from './errors.ts';

/** STMicroelectronics: every ST-LINK (V2-1 on the Nucleo-G071RB, V3) enumerates with it. */
export const ST_USB_VENDOR_ID = 0x0483;
export const DEFAULT_BAUD_RATE = 115_200;

/** Line errors after which WebSerial offers a fresh `port.readable`. */
const RECOVERABLE_READ_ERRORS = new Set(['BreakError', 'FramingError', 'ParityError', 'BufferOverrunError']);

export interface WebSerialOptions {
  baudRate?: number;
  /** A line error the port recovered from (the bytes around it are lost). */
  onLineError?: (error: Error) => void;
  /** The device went away (USB unplugged, board reset through ST-LINK). */
  onDisconnect?: () => void;
}

export function webSerialSupported(nav: Navigator = navigator): boolean {
  return 'serial' in nav && nav.serial !== undefined;
}

/** Shows the browser's port chooser, filtered to ST-LINK devices. Needs a user gesture. */
export async function requestWebSerialPort(nav: Navigator = navigator): Promise<SerialPort> {
  if (!webSerialSupported(nav)) {
    throw new TransportUnsupportedError(
      'this browser has no WebSerial: use Chrome or Edge on a desktop, or choose WebUSB or the virtual board',
    );
  }
  try {
    return await nav.serial.requestPort({ filters: [{ usbVendorId: ST_USB_VENDOR_ID }] });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'NotFoundError') {
      throw new NoDeviceChosenError('no serial port was chosen', { cause: e });
    }
    throw new TransportOpenError(`the serial port chooser failed: ${messageOf(e)}`, { cause: e });
  }
}

/** Opens the port at 8N1 and wraps it. */
export async function openWebSerial(
  port: SerialPort,
  options: WebSerialOptions = {},
): Promise<WebSerialTransport> {
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
  try {
    await port.open({ baudRate, dataBits: 8, stopBits: 1, parity: 'none', flowControl: 'none' });
  } catch (e) {
    throw new TransportOpenError(
      `the serial port could not be opened (${messageOf(e)}); is another program or tab using it?`,
      { cause: e },
    );
  }
  return new WebSerialTransport(port, baudRate, options);
}

export class WebSerialTransport implements Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: TransportInfo;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Set while setBaudRate closes and reopens the port: reads and writes wait for it. */
  private reopening: Promise<void> | undefined;
  private rate: number;
  private readController: ReadableStreamDefaultController<Uint8Array> | undefined;
  private closing: Promise<void> | undefined;
  private readonly onPortDisconnect = () => this.disconnected();

  constructor(
    readonly port: SerialPort,
    baudRate: number,
    private readonly options: WebSerialOptions,
  ) {
    const usb = port.getInfo();
    this.info = {
      kind: 'webserial',
      description: describePort(usb),
      baudRate,
    };
    this.rate = baudRate;
    if (!port.writable) throw new TransportOpenError('the serial port opened without a writable stream');
    this.writer = port.writable.getWriter();
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.readController = controller;
      },
      pull: (controller) => this.pull(controller),
      cancel: () => this.close(),
    });
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (this.reopening) await this.reopening;
        if (this.closing) throw new TransportClosedError('the serial port is closed');
        await this.writer.ready;
        await this.writer.write(chunk);
      },
      close: () => this.close(),
      abort: () => this.close(),
    });
    port.addEventListener('disconnect', this.onPortDisconnect);
  }

  get baudRate(): number {
    return this.rate;
  }

  /**
   * Closes the port and opens it again at `baud` (the host link's
   * SET_LINK_BAUD negotiation calls it once the board has agreed). The
   * driver waits for the link to be idle first, so nothing is in transit.
   */
  setBaudRate(baud: number): Promise<void> {
    if (this.closing) return Promise.reject(new TransportClosedError('the serial port is closed'));
    const previous = this.reopening ?? Promise.resolve();
    const work = previous.then(() => this.reopen(baud));
    this.reopening = work.finally(() => {
      if (this.reopening === settled) this.reopening = undefined;
    });
    const settled = this.reopening;
    return work;
  }

  private async reopen(baud: number): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    if (reader) {
      await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
    await this.writer.ready.catch(() => {});
    this.writer.releaseLock();
    await this.port.close();
    try {
      await this.port.open({ baudRate: baud, dataBits: 8, stopBits: 1, parity: 'none', flowControl: 'none' });
    } catch (e) {
      // Back at the rate it had, if the port takes that: the board falls back to its boot rate by itself.
      await this.port
        .open({ baudRate: this.rate, dataBits: 8, stopBits: 1, parity: 'none', flowControl: 'none' })
        .catch(() => {});
      if (this.port.writable) this.writer = this.port.writable.getWriter();
      throw new TransportOpenError(`the serial port cannot run at ${baud} baud (${messageOf(e)})`, {
        cause: e,
      });
    }
    if (!this.port.writable)
      throw new TransportOpenError('the serial port reopened without a writable stream');
    this.writer = this.port.writable.getWriter();
    this.rate = baud;
  }

  /** Cancels the reader, releases both locks, then closes the port. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    // Loop until one chunk is delivered: a recoverable line error yields a
    // fresh port.readable, and an empty read delivers nothing.
    for (;;) {
      if (this.reopening) await this.reopening.catch(() => {});
      if (this.closing) return;
      const reader = this.currentReader();
      if (!reader) {
        this.finishReadable(new TransportClosedError('the serial port stopped delivering data'));
        return;
      }
      try {
        const { value, done } = await reader.read();
        if (done) {
          // Cancelled by a reopen (which released it), or the port's stream ended.
          if (this.reader === reader) this.dropReader();
          if (this.closing) return;
          continue;
        }
        if (value.length > 0) {
          // The consumer may have cancelled while the read was pending (a disconnect mid-transfer).
          if (!this.closing) controller.enqueue(value);
          return;
        }
      } catch (e) {
        if (this.reader === reader) this.dropReader();
        if (this.closing) return;
        // A reopen cancelled the read: wait for it at the top of the loop.
        if (this.reopening) continue;
        const error = e instanceof Error ? e : new Error(String(e));
        if (!RECOVERABLE_READ_ERRORS.has(error.name)) {
          this.finishReadable(
            new TransportClosedError(`the serial port failed: ${error.message}`, { cause: e }),
          );
          return;
        }
        this.options.onLineError?.(error);
      }
    }
  }

  private currentReader(): ReadableStreamDefaultReader<Uint8Array> | undefined {
    if (!this.reader && this.port.readable) this.reader = this.port.readable.getReader();
    return this.reader;
  }

  private dropReader(): void {
    this.reader?.releaseLock();
    this.reader = undefined;
  }

  private disconnected(): void {
    this.options.onDisconnect?.();
    this.finishReadable(new TransportClosedError('the serial device was disconnected'));
    void this.close();
  }

  private finishReadable(error?: Error): void {
    const controller = this.readController;
    this.readController = undefined;
    if (!controller) return;
    try {
      if (error) controller.error(error);
      else controller.close();
    } catch {
      // Already closed or errored by the consumer's cancel.
    }
  }

  private async shutdown(): Promise<void> {
    this.port.removeEventListener('disconnect', this.onPortDisconnect);
    const reader = this.reader;
    this.reader = undefined;
    if (reader) {
      try {
        await reader.cancel();
      } catch {
        // The stream had already failed; its lock is still ours to release.
      }
      reader.releaseLock();
    }
    try {
      // Abort rather than close: a pending write to a device that went away
      // would otherwise keep close() waiting.
      await this.writer.abort();
    } catch {
      // Already errored: nothing left to flush.
    }
    this.writer.releaseLock();
    this.finishReadable();
    try {
      await this.port.close();
    } catch {
      // The device is gone or the port was never fully open: it is closed either way.
    }
  }
}

function describePort(info: SerialPortInfo): string {
  if (info.usbVendorId === undefined) return 'serial port';
  const hex = (n: number | undefined) => (n ?? 0).toString(16).padStart(4, '0');
  return `USB serial ${hex(info.usbVendorId)}:${hex(info.usbProductId)}`;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
