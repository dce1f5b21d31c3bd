/**
 * USART2 as the ST-LINK virtual COM port: a Transport (Web Streams) for the
 * host. Bytes the host writes queue on USART2's RX wire and arrive one
 * character time apart, as the ST-LINK bridge pushes them at the line rate;
 * a write resolves once the wire queue is short again (USB flow control).
 * Bytes the firmware transmits are handed to `readable` as they finish.
 */
import type { Usart } from '../stm32g071/usart.ts';

/** Structurally the driver's Transport. */
export interface HostPort {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): Promise<void>;
  readonly info: { readonly kind: 'virtual-board'; readonly description: string };
}

/** Characters allowed on the wire before a host write waits (the ST-LINK's buffering). */
const WIRE_HIGH_WATER = 64;

export class HostSerialPort implements HostPort {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info = {
    kind: 'virtual-board',
    description: 'virtual Nucleo-G071RB, USART2 (ST-LINK VCP)',
  } as const;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private outgoing: number[] = [];
  private readonly blockedWrites: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly usart: Usart,
    private readonly wake: () => void,
    private readonly onClose: (port: HostSerialPort) => void,
  ) {
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.controller = undefined;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => {},
      abort: () => {},
    });
  }

  /** The board calls this for each byte USART2 finishes sending. */
  transmitted(byte: number): void {
    if (!this.closed && this.controller) this.outgoing.push(byte);
  }

  /** Hands buffered output to the reader and lets blocked writes go on. The board calls it between slices. */
  flush(): void {
    if (this.outgoing.length > 0 && this.controller && !this.closed) {
      this.controller.enqueue(Uint8Array.from(this.outgoing));
    }
    this.outgoing = [];
    while (this.blockedWrites.length > 0 && this.usart.rxPending <= WIRE_HIGH_WATER)
      this.blockedWrites.shift()!.resolve();
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.flush();
      this.closed = true;
      for (const w of this.blockedWrites.splice(0)) w.reject(new Error('port closed'));
      try {
        this.controller?.close();
      } catch {
        // Already closed or errored by the reader: nothing left to end.
      }
      this.controller = undefined;
      if (!this.writable.locked) await this.writable.close().catch(() => {});
      this.onClose(this);
      this.resolveClosed();
    }
    return this.closedPromise;
  }

  private write(chunk: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('port closed'));
    for (const b of chunk) this.usart.receive(b);
    this.wake();
    if (this.usart.rxPending <= WIRE_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve, reject) => this.blockedWrites.push({ resolve, reject }));
  }
}
