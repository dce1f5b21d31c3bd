/**
 * The virtual board in a Web Worker, seen from the page: a driver
 * Transport for its USART2 (the ST-LINK port) and a controller for the
 * peer at USART1's far end. One worker runs one board; closing the
 * transport ends the worker.
 */
import { TransportClosedError } from '../../../driver/transport/errors.ts';
import type { Transport, TransportInfo } from '../../../driver/transport/transport.ts';
import type { InjectedError, Usart1Wiring } from '../../../emulator/index.ts';
import { ByteHistory } from '../util/byte-history.ts';
import type { FromWorker, ToWorker } from '../worker/messages.ts';
import { TransportOpenError, TransportUnsupportedError } from './errors.ts';

/** How long the page waits for the worker to load the firmware and open its port. */
const START_TIMEOUT_MS = 10_000;
/** The newest bytes the peer keeps of what it received; the count covers everything. */
const PEER_RECORD_BYTES = 64 * 1024;

export interface VirtualBoardOptions {
  /** The firmware ELF. */
  firmware: Uint8Array;
  usart1?: Usart1Wiring;
  /**
   * The fastest host link to offer, at most (default: the fastest the
   * worker measures it keeps up with): pins the link, e.g. to the boot rate
   * of a real board, so a page behaves the same on every machine.
   */
  maxLinkBaud?: number;
  /** Builds the worker; the default loads board.worker.ts from this bundle. */
  createWorker?: () => Worker;
}

/** The page's handle on USART1's far end. */
export interface PeerControl {
  /** Sends bytes to the board's USART1 RX at the line rate. */
  inject(bytes: Uint8Array): void;
  /** Sends one character received with a framing, noise or parity error. */
  injectError(kind: InjectedError, byte?: number): void;
  /** The newest bytes the board has sent to the peer since the last clear (up to 64 KiB). */
  received(): Uint8Array;
  /** How many bytes the board has sent to the peer since the last clear. */
  receivedCount(): number;
  /** Called with each burst the board sends; returns the unsubscribe function. */
  onBytes(listener: (bytes: Uint8Array) => void): () => void;
  clear(): void;
  setWiring(mode: Usart1Wiring): void;
}

export class VirtualBoardTransport implements Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: TransportInfo;
  readonly peer: PeerControl;
  /** The fastest link the worker keeps up with (measured there at start); the driver negotiates up to it. */
  readonly maxBaudRate: number;
  private readController: ReadableStreamDefaultController<Uint8Array> | undefined;
  private readonly pendingWrites = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextWriteId = 1;
  private closing: Promise<void> | undefined;
  private readonly peerRecord = new ByteHistory(PEER_RECORD_BYTES);
  private readonly peerListeners = new Set<(bytes: Uint8Array) => void>();
  private readonly haltListeners = new Set<(reason: string) => void>();

  private readonly pendingRates = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly worker: Worker,
    description: string,
    maxBaudRate: number,
  ) {
    this.info = { kind: 'virtual-board', description, baudRate: 115_200 };
    this.maxBaudRate = maxBaudRate;
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.readController = controller;
      },
      cancel: () => {
        this.readController = undefined;
        return this.close();
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
    this.peer = this.createPeerControl();
    worker.addEventListener('message', (event: MessageEvent<FromWorker>) => this.onMessage(event.data));
    worker.addEventListener('error', (event) =>
      this.fail(`the virtual board worker failed: ${event.message}`),
    );
  }

  /** Starts a worker, loads the firmware into its board and opens the host port. */
  static async start(options: VirtualBoardOptions): Promise<VirtualBoardTransport> {
    if (typeof Worker === 'undefined') {
      throw new TransportUnsupportedError(
        'this browser cannot run Web Workers, which the virtual board needs',
      );
    }
    const worker =
      options.createWorker?.() ??
      new Worker(new URL('../worker/board.worker.ts', import.meta.url), { type: 'module' });
    const ready = await new Promise<{ description: string; maxBaudRate: number }>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new TransportOpenError('the virtual board did not start in time'));
      }, START_TIMEOUT_MS);
      const onMessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.type === 'ready') {
          cleanup();
          resolve({ description: event.data.description, maxBaudRate: event.data.maxBaudRate });
        } else if (event.data.type === 'failed') {
          cleanup();
          reject(new TransportOpenError(`the virtual board could not start: ${event.data.message}`));
        }
      };
      const onError = (event: ErrorEvent) => {
        cleanup();
        reject(new TransportOpenError(`the virtual board worker failed to load: ${event.message}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        worker.removeEventListener('message', onMessage);
        worker.removeEventListener('error', onError);
      };
      worker.addEventListener('message', onMessage);
      worker.addEventListener('error', onError);
      // The firmware is copied, so the caller's array stays usable for the next board.
      const firmware = options.firmware.slice().buffer;
      send(
        worker,
        {
          type: 'start',
          firmware,
          usart1: options.usart1 ?? 'peer',
          ...(options.maxLinkBaud !== undefined && { maxLinkBaud: options.maxLinkBaud }),
        },
        [firmware],
      );
    }).catch((e: unknown) => {
      worker.terminate();
      throw e;
    });
    return new VirtualBoardTransport(worker, ready.description, ready.maxBaudRate);
  }

  /** Moves the board's host port to `baud` (the driver's rate negotiation, PROTOCOL.md §2). */
  setBaudRate(baud: number): Promise<void> {
    if (this.closing) return Promise.reject(new TransportClosedError('the virtual board is closed'));
    const id = this.nextWriteId++;
    return new Promise<void>((resolve, reject) => {
      this.pendingRates.set(id, {
        resolve: () => {
          this.info.baudRate = baud;
          resolve();
        },
        reject,
      });
      send(this.worker, { type: 'set-baud', id, baud });
    });
  }

  /** Presses the board's reset button. */
  reset(): void {
    if (!this.closing) send(this.worker, { type: 'reset' });
  }

  /** Called if the core halts (lockup): the board then needs a reset. */
  onHalt(listener: (reason: string) => void): () => void {
    this.haltListeners.add(listener);
    return () => this.haltListeners.delete(listener);
  }

  /** Closes the port and ends the worker. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private write(chunk: Uint8Array): Promise<void> {
    if (this.closing) return Promise.reject(new TransportClosedError('the virtual board is closed'));
    const id = this.nextWriteId++;
    return new Promise<void>((resolve, reject) => {
      this.pendingWrites.set(id, { resolve, reject });
      // A copy is transferred: the writer's chunk belongs to the writer.
      const bytes = chunk.slice();
      send(this.worker, { type: 'write', id, bytes }, [bytes.buffer]);
    });
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'data':
        // Data can still be in flight from the worker after the reader
        // cancelled (a disconnect mid-transfer): it has nowhere to go.
        try {
          this.readController?.enqueue(message.bytes);
        } catch {
          this.readController = undefined;
        }
        break;
      case 'write-done': {
        const pending = this.pendingWrites.get(message.id);
        this.pendingWrites.delete(message.id);
        if (message.error === undefined) pending?.resolve();
        else pending?.reject(new TransportClosedError(`the virtual board refused a write: ${message.error}`));
        break;
      }
      case 'baud-done': {
        const pending = this.pendingRates.get(message.id);
        this.pendingRates.delete(message.id);
        if (message.error === undefined) pending?.resolve();
        else
          pending?.reject(new TransportClosedError(`the virtual board refused the rate: ${message.error}`));
        break;
      }
      case 'peer-bytes':
        this.peerRecord.push(message.bytes);
        for (const l of this.peerListeners) l(message.bytes);
        break;
      case 'halted':
        for (const l of this.haltListeners) l(message.reason);
        break;
      case 'port-closed':
        this.finish(new TransportClosedError('the virtual board closed its port'));
        break;
      case 'failed':
        this.fail(message.message);
        break;
      case 'ready':
      case 'reset-done':
        break;
    }
  }

  private fail(message: string): void {
    this.finish(new TransportClosedError(message));
    void this.close();
  }

  private finish(error: Error): void {
    const controller = this.readController;
    this.readController = undefined;
    try {
      if (this.closing) controller?.close();
      else controller?.error(error);
    } catch {
      // The reader cancelled first.
    }
    for (const w of this.pendingWrites.values()) w.reject(error);
    this.pendingWrites.clear();
    for (const w of this.pendingRates.values()) w.reject(error);
    this.pendingRates.clear();
  }

  private async shutdown(): Promise<void> {
    send(this.worker, { type: 'close-port' });
    // Give the worker a moment to stop its loop cleanly; terminate regardless.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 200);
      this.worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
        if (event.data.type === 'port-closed') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    this.worker.terminate();
    this.finish(new TransportClosedError('the virtual board is closed'));
  }

  private createPeerControl(): PeerControl {
    return {
      inject: (bytes) => {
        const copy = bytes.slice();
        send(this.worker, { type: 'peer-inject', bytes: copy }, [copy.buffer]);
      },
      injectError: (kind, byte = 0) => send(this.worker, { type: 'peer-error', kind, byte }),
      received: () => this.peerRecord.tail(),
      receivedCount: () => this.peerRecord.total,
      onBytes: (listener) => {
        this.peerListeners.add(listener);
        return () => this.peerListeners.delete(listener);
      },
      clear: () => {
        this.peerRecord.clear();
        send(this.worker, { type: 'peer-clear' });
      },
      setWiring: (mode) => send(this.worker, { type: 'wiring', usart1: mode }),
    };
  }
}

function send(worker: Worker, message: ToWorker, transfer: Transferable[] = []): void {
  worker.postMessage(message, transfer);
}
