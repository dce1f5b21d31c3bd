/**
 * Follows a board across unplugs. The board is recognised by its USB serial
 * number, because the OS may give it another path when it comes back
 * (ttyACM0 becomes ttyACM1 while the old node is still held).
 *
 * A new connection is a new Transport with new streams; the old one's reader
 * has seen a ConnectionLostError. Reusing the old Link or Board over the new
 * streams would be wrong anyway (the board may have reset and every buffer
 * handle is void), so the owner listens for `reconnected` and opens a fresh
 * Board on the transport it carries.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { findByPath, type PortLister, systemPortLister } from './discovery.ts';
import { SerialportTransport, type SerialportTransportOptions } from './serialport-transport.ts';

export interface BackoffOptions {
  /** First wait after the disconnect. */
  readonly initialMs?: number;
  /** Waits double up to this. */
  readonly maxMs?: number;
  /** Stop looking after this long; `gave-up` follows. */
  readonly giveUpAfterMs?: number;
}

export interface ReconnectingOptions extends SerialportTransportOptions {
  /** The board to follow; looked up from the port list when omitted. */
  readonly serialNumber?: string;
  readonly list?: PortLister;
  readonly backoff?: BackoffOptions;
}

export class ReconnectGaveUpError extends Error {
  constructor(
    readonly target: string,
    readonly waitedMs: number,
  ) {
    super(
      `the board (${target}) did not come back within ${Math.round(waitedMs / 1000)} s; ` +
        'plug it in again and reopen it, or run "dma-bridge list"',
    );
    this.name = 'ReconnectGaveUpError';
  }
}

export interface ReconnectingEvents {
  /** The current transport was lost; its reader has seen the error. */
  disconnected: [error: Error];
  /** A new transport is open on the same board: open a new Board over it. */
  reconnected: [transport: SerialportTransport];
  /** No board came back in time; the instance is closed. */
  'gave-up': [error: ReconnectGaveUpError];
  /** close() was called. */
  closed: [];
}

export class ReconnectClosedError extends Error {
  constructor() {
    super('the reconnecting port was closed while waiting for the board');
    this.name = 'ReconnectClosedError';
  }
}

export class ReconnectingSerialPort extends EventEmitter<ReconnectingEvents> {
  private current: SerialportTransport;
  private closed = false;
  private readonly stop = new AbortController();

  private constructor(
    transport: SerialportTransport,
    /** The USB serial number, or undefined when the port has none (then the path is followed). */
    readonly serialNumber: string | undefined,
    private readonly options: ReconnectingOptions,
  ) {
    super();
    this.current = transport;
    this.watch(transport);
  }

  static async open(path: string, options: ReconnectingOptions = {}): Promise<ReconnectingSerialPort> {
    const serialNumber =
      options.serialNumber ?? (await findByPath(path, options.list ?? systemPortLister))?.serialNumber;
    const transport = await SerialportTransport.open(path, options);
    return new ReconnectingSerialPort(transport, serialNumber, options);
  }

  /** The transport of the current connection (a lost one until `reconnected`). */
  get transport(): SerialportTransport {
    return this.current;
  }

  /** Resolves with the next connection's transport; rejects if reconnection gives up or close() is called. */
  nextConnection(): Promise<SerialportTransport> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ReconnectClosedError());
        return;
      }
      const settle = (): void => {
        this.off('reconnected', onReconnected);
        this.off('gave-up', onGaveUp);
        this.off('closed', onClosed);
      };
      const onReconnected = (transport: SerialportTransport): void => {
        settle();
        resolve(transport);
      };
      const onGaveUp = (error: Error): void => {
        settle();
        reject(error);
      };
      const onClosed = (): void => {
        settle();
        reject(new ReconnectClosedError());
      };
      this.on('reconnected', onReconnected);
      this.on('gave-up', onGaveUp);
      this.on('closed', onClosed);
    });
  }

  /** Stops following the board and closes the current transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    await this.current.close();
    this.emit('closed');
  }

  private watch(transport: SerialportTransport): void {
    void transport.ended.then((end) => {
      if (end.kind !== 'lost' || this.closed || transport !== this.current) return;
      this.emit('disconnected', end.error);
      void this.reconnect(transport.path);
    });
  }

  private async reconnect(lastPath: string): Promise<void> {
    const initialMs = this.options.backoff?.initialMs ?? 100;
    const maxMs = this.options.backoff?.maxMs ?? 2000;
    const giveUpAfterMs = this.options.backoff?.giveUpAfterMs ?? 60_000;
    const list = this.options.list ?? systemPortLister;
    const started = Date.now();
    let wait = initialMs;
    while (!this.closed && Date.now() - started < giveUpAfterMs) {
      try {
        await sleep(wait, undefined, { signal: this.stop.signal });
      } catch {
        return; // close() was called
      }
      wait = Math.min(wait * 2, maxMs);
      const path = await this.locate(list, lastPath).catch(() => undefined);
      if (path === undefined || this.closed) continue;
      try {
        const transport = await SerialportTransport.open(path, this.options);
        if (this.closed) {
          await transport.close();
          return;
        }
        this.current = transport;
        this.watch(transport);
        this.emit('reconnected', transport);
        return;
      } catch {
        // The device node often exists before udev has set its permissions: try again later.
      }
    }
    if (this.closed) return;
    this.closed = true;
    this.emit('gave-up', new ReconnectGaveUpError(this.describeTarget(), Date.now() - started));
  }

  /** The board's path now, if it is listed. */
  private async locate(list: PortLister, lastPath: string): Promise<string | undefined> {
    const ports = await list();
    const port =
      this.serialNumber === undefined
        ? ports.find((candidate) => candidate.path === lastPath)
        : ports.find((candidate) => candidate.serialNumber === this.serialNumber);
    return port?.path;
  }

  private describeTarget(): string {
    return this.serialNumber === undefined ? this.current.path : `serial number ${this.serialNumber}`;
  }
}
