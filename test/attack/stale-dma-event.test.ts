/**
 * "Events are never taken for another transfer's: each DMA event names the
 * start it belongs to." A start's number counts starts since boot, and the
 * event counter starts over at boot too: a DMA event of the previous boot,
 * delayed on the line past a reset, names a start number and a counter the
 * new boot will use again.
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
const CCR1 = 0x4002_0008;
const CNDTR1 = 0x4002_000c;
const CMAR1 = 0x4002_0014;

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

/** A DMA event of channel 1 with TC, of start number `start`. */
const tcOfStart = (start: number) => (b: Uint8Array) =>
  b.length >= 16 &&
  b[1] === DMA_EVENT &&
  b[4] === 1 &&
  (b[5]! & 2) !== 0 &&
  (b[14]! | (b[15]! << 8)) === start;

describe('a DMA event of the previous boot, delayed past a reset', () => {
  it('is not taken for the new boot’s transfer with the same start number', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const h = holdingTransport(vb.hostPort());
    const board = await Board.open(h.transport, { timers });
    const bus = vb.chip.bus;
    /** The same two transfers in each boot: a write (start 1), then a 16-byte reception (start 2). */
    const twoTransfers = async (peerAnswers: boolean) => {
      const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const out = board.alloc(4);
      await out.write(pattern(4));
      const w = await serial.writeAll(out).wait();
      w.buffer.free();
      const buf = board.alloc(16);
      const rx = w.serial.readExact(buf);
      await rx.started;
      if (peerAnswers) vb.peer.inject(pattern(16, 1));
      return rx;
    };
    try {
      h.hold(tcOfStart(2));
      const first = await twoTransfers(true);
      await first.wait({ timeoutMs: 3000 }).catch(() => {}); // ends by re-reading its channel
      await sleep(5);
      expect(h.held).toBe(1);

      vb.reset();
      await sleep(20);
      await board.reconnect().catch(() => board.reconnect());

      const second = await twoTransfers(false); // the peer stays silent: its DMA runs on
      const waiting = second.wait();
      waiting.catch(() => {});
      expect(bus.read(CCR1, 4) & 1).toBe(1);

      if (!process.env.NO_RELEASE) h.release(); // the old boot's TC of its start 2 arrives now
      await sleep(20);
      const result = await Promise.race([waiting.catch(() => undefined), sleep(50).then(() => undefined)]);
      if (result) result.buffer.free();
      const next = board.alloc(16);
      const en = (bus.read(CCR1, 4) & 1) === 1 && (bus.read(CNDTR1, 4) & 0xffff) > 0;
      const cmar = bus.read(CMAR1, 4) >>> 0;
      const handedOutUnderDma = en && cmar >= next.address && cmar < next.address + next.length;
      console.log(
        'second settled:',
        result !== undefined,
        'next',
        next.address.toString(16),
        'cmar',
        cmar.toString(16),
        'en',
        en,
      );
      vb.peer.inject(pattern(16, 6)); // the DMA nobody stopped writes these into what was handed out
      await sleep(20);
      const inNext = Array.from({ length: 16 }, (_, i) => bus.read(next.address + i, 1));
      const dmaWroteIntoNext = inNext.every((b, i) => b === pattern(16, 6)[i]);
      expect({ secondSettled: result !== undefined, handedOutUnderDma, dmaWroteIntoNext }).toEqual({
        secondSettled: false,
        handedOutUnderDma: false,
        dmaWroteIntoNext: false,
      });
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 10_000);
});
