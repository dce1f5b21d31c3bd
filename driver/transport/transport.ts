/**
 * The one shape every byte channel takes: WebSerial, WebUSB, Node
 * serialport (through `Duplex.toWeb()`), TCP, the virtual board, the
 * in-memory pair and the fault injector. Web Streams are the common ground
 * that browsers and Node share, so nothing above this layer knows which
 * transport it runs on.
 *
 * Chunks are arbitrary: a reader must not assume one chunk per frame.
 * A writer must not reuse a chunk's buffer after handing it over.
 */
export interface Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Closes both directions and releases the underlying resource. Safe to
   * call more than once and while the streams are locked.
   */
  close(): Promise<void>;
  readonly info?: TransportInfo;
  /**
   * Changes the line rate, keeping the streams (a serial port: serialport's
   * update(), WebSerial's close and reopen, the virtual board's host port).
   * Absent where there is no line rate to change (TCP, an in-memory pair):
   * then the host link stays at the board's boot rate.
   */
  setBaudRate?(baud: number): Promise<void>;
  /** The highest rate setBaudRate can give (a USB-serial bridge's limit); no limit when absent. */
  readonly maxBaudRate?: number | undefined;
}

export interface TransportInfo {
  /** e.g. 'memory', 'webserial', 'serialport', 'virtual-board'. */
  kind: string;
  /** Human-readable identity: a port path, a USB product name. */
  description?: string;
  /** The line rate, when there is one. */
  baudRate?: number;
}
