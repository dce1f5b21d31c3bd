/**
 * Circular reception counts laps from the completions a DMA event carries.
 * A DMA event of the previous boot's circular reception, delayed past a
 * reset, names the same start number as the new boot's first one: its
 * completion count must not make the new reception return halves the DMA
 * never wrote.
 */
import { describe, expect, it } from 'vitest';
import { Serial1 } from '../../driver/api/index.ts';
import { Board } from '../../driver/board/index.ts';
import { cobsDecode } from '../../driver/protocol/cobs.ts';
import type { Transport } from '../../driver/transport/transport.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { FAST_BAUD, pattern } from '../support/api-fixtures.ts';
import { loadFirmware } from '../support/firmware.ts';
import { virtualTimers } from '../support/virtual-timers.ts';

const DMA_EVENT = 0x42;

/** Holds back frames `match` picks until release(). */
function holdingTransport(inner: Transport) {
  let pending: number[] = [];
  let match: ((body: Uint8Array) => boolean) | undefined;
  const held: Uint8Array[] = [];
  let ctl: TransformStreamDefaultController<Uint8Array> | undefined;
  const filter = new TransformStream<Uint8Array, Uint8Array>({
    start(c) {
      ctl = c;
    },
    transform(chunk, controller) {
      const out: number[] = [];
      for (const b of chunk) {
        pending.push(b);
        if (b !== 0) continue;
        const frame = Uint8Array.from(pending);
        pending = [];
        const body = new Uint8Array(frame.length);
        const n = cobsDecode(frame, 0, frame.length - 1, body);
        if (match?.(body.subarray(0, n))) {
          match = undefined;
          held.push(frame);
          continue;
        }
        for (const x of frame) out.push(x);
      }
      if (out.length > 0) controller.enqueue(Uint8Array.from(out));
    },
  });
  return {
    transport: {
      readable: inner.readable.pipeThrough(filter),
      writable: inner.writable,
      close: () => inner.close(),
    },
    hold(m: (body: Uint8Array) => boolean) {
      match = m;
    },
    get held() {
      return held.length;
    },
    release() {
      for (const f of held.splice(0)) ctl!.enqueue(f);
    },
  };
}

/** A DMA event of channel 1, of start number `start`, counting `completions`. */
const eventOf = (start: number, completions: number) => (b: Uint8Array) =>
  b.length >= 16 &&
  b[1] === DMA_EVENT &&
  b[4] === 1 &&
  (b[12]! | (b[13]! << 8)) === completions &&
  (b[14]! | (b[15]! << 8)) === start;

describe('a circular reception event of the previous boot, delayed past a reset', () => {
  it("does not make the new boot's circular reception return halves nobody sent", async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const h = holdingTransport(vb.hostPort());
    const board = await Board.open(h.transport, { timers });
    try {
      h.hold(eventOf(1, Number(process.env.STALE_COMPLETIONS ?? 1)));
      let serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const old = serial.readCircular(board.alloc(64));
      await old.started;
      vb.peer.inject(pattern(140, 2)); // four halves and a bit: completions 1..4, one of them held
      await sleep(20);
      expect(h.held).toBe(1);
      await old.stop().catch(() => {});

      vb.reset();
      await sleep(20);
      await board.reconnect().catch(() => board.reconnect());
      serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const circ = serial.readCircular(board.alloc(64)); // start 1 of the new boot; the peer stays silent
      await circ.started;
      const it = circ[Symbol.asyncIterator]();
      const next = it.next();
      next.catch(() => {});
      await sleep(10);
      if (!process.env.NO_RELEASE) h.release();
      const got = await Promise.race([
        next.then(
          (r) => (r.done ? 'done' : `a half: ${Array.from(r.value.subarray(0, 8)).join(',')}...`),
          (e: Error) => e.name,
        ),
        sleep(50).then(() => 'nothing yet'),
      ]);
      console.log('the new reception gave:', got);
      expect(got).toMatch(/nothing yet|Overrun|Error/);
      await circ.stop().catch(() => {});
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 10_000);
});
