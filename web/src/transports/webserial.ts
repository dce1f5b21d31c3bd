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
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
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
        if (this.closing) throw new TransportClosedError('the serial port is closed');
        await this.writer.ready;
        await this.writer.write(chunk);
      },
      close: () => this.close(),
      abort: () => this.close(),
    });
    port.addEventListener('disconnect', this.onPortDisconnect);
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
      if (this.closing) return;
      const reader = this.currentReader();
      if (!reader) {
        this.finishReadable(new TransportClosedError('the serial port stopped delivering data'));
        return;
      }
      try {
        const { value, done } = await reader.read();
        if (done) {
          this.dropReader();
          if (this.closing) return;
          continue;
        }
        if (value.length > 0) {
          // The consumer may have cancelled while the read was pending (a disconnect mid-transfer).
          if (!this.closing) controller.enqueue(value);
          return;
        }
      } catch (e) {
        this.dropReader();
        if (this.closing) return;
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
