/**
 * One direction of an in-memory byte channel: what is written to
 * `writable` comes out of `readable`, copied (the writer may reuse its
 * buffer), in order. `end()` finishes the readable and makes later writes
 * fail; both are safe while the streams are locked by a reader or writer.
 */

import { TransportClosedError } from './errors.ts';

export class BytePipe {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private ended = false;

  constructor(readonly name = 'pipe') {
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.ended = true;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (this.ended) throw new TransportClosedError(`${this.name}: the channel is closed`);
        this.push(chunk);
      },
      close: () => this.end(),
      abort: () => this.end(),
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Delivers bytes to the reader directly (used by middles that bypass the writable). */
  push(chunk: Uint8Array): void {
    if (this.ended || chunk.length === 0) return;
    this.controller.enqueue(chunk.slice());
  }

  /** Ends the readable with an error, so its reader learns why. */
  fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.controller.error(error);
    } catch {
      // Already closed: the reader has seen the end.
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.controller.close();
    } catch {
      // Already closed or errored by a cancelled reader: nothing left to end.
    }
  }
}
