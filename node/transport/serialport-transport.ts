/**
 * A Transport over a serial port (the Nucleo's ST-LINK virtual COM port, a
 * pseudo-terminal, any USB serial adapter) through serialport.
 */
import type { Duplex } from 'node:stream';
import { streamsFromDuplex } from './duplex-streams.ts';
import { classifyPortOpenError, PortOpenError } from './errors.ts';
import { loadSerialport } from './load-serialport.ts';
import type { Transport, TransportEnd, TransportInfo } from './transport-shape.ts';

/** The bridge's host link default (PROTOCOL.md: 115200 8N1). */
export const DEFAULT_BAUD_RATE = 115200;

/** What this transport needs of a serialport stream; SerialPort and SerialPortMock both fit. */
export type SerialPortStreamLike = Duplex & {
  open(callback: (error: Error | null) => void): void;
  close(callback?: (error: Error | null) => void): void;
  /** Changes the line rate of the open port (serialport's update()). */
  update(options: { baudRate: number }, callback?: (error: Error | null) => void): void;
  readonly isOpen: boolean;
};

export interface SerialPortSettings {
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 8;
  readonly stopBits: 1;
  readonly parity: 'none' | 'even';
  readonly autoOpen: false;
}

export type SerialPortFactory = (settings: SerialPortSettings) => SerialPortStreamLike;

export interface SerialportTransportOptions {
  readonly baudRate?: number;
  /** Builds the unopened port; tests pass one over serialport's MockBinding. */
  readonly createPort?: SerialPortFactory;
  readonly readHighWaterMark?: number;
  /** 'even' only to ask ST's system bootloader (8E1) whether it is there; the bridge speaks 8N1. */
  readonly parity?: 'none' | 'even';
  readonly writeHighWaterMark?: number;
}

export class SerialportTransport implements Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Settles when the streams end: `closed` by close(), `lost` when the device went away. */
  readonly ended: Promise<TransportEnd>;
  readonly info: TransportInfo;
  private readonly closeStreams: () => Promise<void>;
  private rate: number;

  private constructor(
    readonly path: string,
    baudRate: number,
    private readonly port: SerialPortStreamLike,
    options: SerialportTransportOptions,
  ) {
    const streams = streamsFromDuplex(port, {
      label: `serial port ${path}`,
      shutdown: () => closePort(port),
      ...(options.readHighWaterMark !== undefined && { readHighWaterMark: options.readHighWaterMark }),
      ...(options.writeHighWaterMark !== undefined && { writeHighWaterMark: options.writeHighWaterMark }),
    });
    this.readable = streams.readable;
    this.writable = streams.writable;
    this.ended = streams.ended;
    this.closeStreams = streams.close;
    this.info = { kind: 'serialport', description: path, baudRate };
    this.rate = baudRate;
  }

  /** The line rate now. */
  get baudRate(): number {
    return this.rate;
  }

  /**
   * Changes the line rate of the open port, keeping its streams: the host
   * link's SET_LINK_BAUD negotiation calls it once the board has agreed.
   * The bytes already written went out at the old rate (the driver waits
   * for the link to be idle first).
   */
  setBaudRate(baud: number): Promise<void> {
    if (!Number.isInteger(baud) || baud <= 0) {
      return Promise.reject(new RangeError(`baud rate must be a positive whole number; got ${baud}`));
    }
    return new Promise<void>((resolve, reject) => {
      this.port.update({ baudRate: baud }, (error) => {
        if (error) {
          reject(
            new Error(
              `${this.path} cannot run at ${baud} baud: ${error.message.replace(/^(Error:?\s*)+/i, '')}`,
            ),
          );
          return;
        }
        this.rate = baud;
        resolve();
      });
    });
  }

  /** Opens `path` at 8N1; fails with a PortOpenError that says what to do. */
  static async open(path: string, options: SerialportTransportOptions = {}): Promise<SerialportTransport> {
    const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
    if (!Number.isInteger(baudRate) || baudRate <= 0) {
      throw new RangeError(`baud rate must be a positive whole number; got ${baudRate}`);
    }
    const settings: SerialPortSettings = {
      path,
      baudRate,
      dataBits: 8,
      stopBits: 1,
      parity: options.parity ?? 'none',
      autoOpen: false,
    };
    // serialport is loaded only when a real port is opened (it is optional).
    const createPort: SerialPortFactory =
      options.createPort ??
      (await loadSerialport().then(
        ({ SerialPort }) =>
          (s) =>
            new SerialPort(s),
      ));
    let port: SerialPortStreamLike;
    try {
      port = createPort(settings);
    } catch (error) {
      throw openError(path, error);
    }
    await new Promise<void>((resolve, reject) => {
      port.open((error) => (error ? reject(openError(path, error)) : resolve()));
    });
    return new SerialportTransport(path, baudRate, port, options);
  }

  /** Ends both streams and releases the port; safe to call twice or after an unplug. */
  close(): Promise<void> {
    return this.closeStreams();
  }
}

function openError(path: string, error: unknown): PortOpenError {
  const message = error instanceof Error ? error.message : String(error);
  // serialport prefixes the OS message with "Error: " once or twice.
  const detail = message.replace(/^(Error:?\s*)+/i, '');
  return new PortOpenError(path, classifyPortOpenError(message), detail, { cause: error });
}

function closePort(port: SerialPortStreamLike): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!port.isOpen) {
      resolve();
      return;
    }
    // The callback reports "not open" when the device vanished meanwhile: closed all the same.
    port.close(() => resolve());
  });
}
