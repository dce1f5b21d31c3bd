/**
 * A transport between the host and the virtual board that does something
 * to chosen frames from the board: drops them, damages them (a bit flip the
 * CRC catches), or cuts their closing delimiter; or silences everything
 * the board sends. The frames are picked by their decoded body, so a test
 * can say "the next DMA TC event" or "the reply to the start".
 */

import { cobsDecode } from '../../driver/protocol/cobs.ts';
import type { Transport } from '../../driver/transport/transport.ts';

export type FrameFault = 'drop' | 'damage' | 'cut-delimiter';

export interface FilteredTransport extends Transport {
  /** Frames the filter acted on. */
  readonly hits: number;
  /** Applies `fault` to the next frame `match` picks (once). */
  once(match: (body: Uint8Array) => boolean, fault: FrameFault): void;
  /** While on, nothing the board sends reaches the host. */
  silence(on: boolean): void;
}

export function frameFilter(inner: Transport): FilteredTransport {
  let pending: number[] = [];
  let rule: { match: (body: Uint8Array) => boolean; fault: FrameFault } | undefined;
  let silent = false;
  const state = { hits: 0 };
  const filter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const out: number[] = [];
      for (const b of chunk) {
        pending.push(b);
        if (b !== 0) continue;
        const frame = Uint8Array.from(pending);
        pending = [];
        if (silent) continue;
        const body = new Uint8Array(frame.length);
        const n = cobsDecode(frame, 0, frame.length - 1, body);
        if (rule && n >= 6 && rule.match(body.subarray(0, n))) {
          const { fault } = rule;
          rule = undefined;
          state.hits++;
          if (fault === 'drop') continue;
          if (fault === 'damage') frame[1] = frame[1]! ^ (frame[1] === 1 ? 2 : 1);
          if (fault === 'cut-delimiter') {
            for (const x of frame.subarray(0, frame.length - 1)) out.push(x);
            continue;
          }
        }
        for (const x of frame) out.push(x);
      }
      if (out.length > 0) controller.enqueue(Uint8Array.from(out));
    },
  });
  return {
    readable: inner.readable.pipeThrough(filter),
    writable: inner.writable,
    close: () => inner.close(),
    get hits() {
      return state.hits;
    },
    once(match, fault) {
      rule = { match, fault };
    },
    silence(on) {
      silent = on;
    },
  };
}

const DMA_EVENT = 0x42;
const USART_EVENT = 0x43;

/** A DMA event of `channel` whose flags include `flag` (TC 0x2, HT 0x4). */
export const dmaEvent =
  (flag: number, channel = 1) =>
  (body: Uint8Array): boolean =>
    body[1] === DMA_EVENT && body[4] === channel && (body[5]! & flag) !== 0;

/** A USART event with TC (bit 6) set. */
export const usartTcEvent = (body: Uint8Array): boolean => body[1] === USART_EVENT && (body[4]! & 0x40) !== 0;

/** The reply to a REG_BATCH (a start is one). */
export const batchReply = (body: Uint8Array): boolean => body[1] === 0x85;
