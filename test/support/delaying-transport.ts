/**
 * A transport between the host and the virtual board that holds back a
 * chosen frame from the board and lets it through later: a frame delayed
 * on the line, past whatever the board did meanwhile (a reset). Frames are
 * picked by their decoded body.
 */

import { cobsDecode } from '../../driver/protocol/cobs.ts';
import type { Transport } from '../../driver/transport/transport.ts';

export interface DelayingTransport {
  readonly transport: Transport;
  /** Holds back the next `count` frames `match` picks (default one). */
  hold(match: (body: Uint8Array) => boolean, count?: number): void;
  /** Frames held back and not yet released. */
  readonly held: number;
  /** Sends the held frames on to the host now. */
  release(): void;
}

export function delayingTransport(inner: Transport): DelayingTransport {
  let pending: number[] = [];
  let match: ((body: Uint8Array) => boolean) | undefined;
  let toHold = 0;
  const held: Uint8Array[] = [];
  let out: TransformStreamDefaultController<Uint8Array> | undefined;
  const filter = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      out = controller;
    },
    transform(chunk, controller) {
      const passed: number[] = [];
      for (const b of chunk) {
        pending.push(b);
        if (b !== 0) continue;
        const frame = Uint8Array.from(pending);
        pending = [];
        const body = new Uint8Array(frame.length);
        const n = cobsDecode(frame, 0, frame.length - 1, body);
        if (match?.(body.subarray(0, n))) {
          if (--toHold === 0) match = undefined;
          held.push(frame);
          continue;
        }
        for (const x of frame) passed.push(x);
      }
      if (passed.length > 0) controller.enqueue(Uint8Array.from(passed));
    },
  });
  return {
    transport: {
      readable: inner.readable.pipeThrough(filter),
      writable: inner.writable,
      close: () => inner.close(),
    },
    hold(m, count = 1) {
      match = m;
      toHold = count;
    },
    get held() {
      return held.length;
    },
    release() {
      for (const f of held.splice(0)) out?.enqueue(f);
    },
  };
}
