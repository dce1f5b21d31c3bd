/**
 * Yielding to the host's event loop between slices of emulation. A
 * MessageChannel message is a macrotask in Node 20 and in browsers and,
 * unlike setTimeout(0), is not clamped to 1 ms (Node) or 4 ms (nested
 * browser timers), so I/O and timers get their turn at little cost.
 */

/** The Node-only parts of a MessagePort, looked up without importing Node. */
interface RefCounted {
  ref?: () => void;
  unref?: () => void;
}

const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;

export class MacrotaskYield {
  private readonly channel = new MessageChannel();
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor() {
    this.channel.port1.onmessage = () => {
      this.waiting.shift()?.();
    };
    // Only keep a Node process alive while something actually waits.
    (this.channel.port1 as unknown as RefCounted).unref?.();
  }

  /** Resolves on a later turn of the event loop. */
  next(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Node's setImmediate runs after the loop's I/O and timers without
    // waiting for a wake-up between threads; browsers have none.
    if (immediate !== undefined) return new Promise((resolve) => immediate!(resolve));
    return new Promise((resolve) => {
      if (this.waiting.length === 0) (this.channel.port1 as unknown as RefCounted).ref?.();
      this.waiting.push(() => {
        if (this.waiting.length === 0) (this.channel.port1 as unknown as RefCounted).unref?.();
        resolve();
      });
      this.channel.port2.postMessage(0);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w();
    this.channel.port1.close();
    this.channel.port2.close();
  }
}
