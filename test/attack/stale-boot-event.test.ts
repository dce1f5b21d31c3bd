/**
 * A frame can be delayed. A BOOT event of a boot the host has already left
 * behind (the board reset twice, the first BOOT event was held up on the
 * line) names an epoch that is not the current one: it must not be taken
 * for a new reset, which would free memory a running DMA writes.
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

const BOOT_EVENT = 0x41;
const CCR1 = 0x4002_0008;
const CNDTR1 = 0x4002_000c;
const CMAR1 = 0x4002_0014;

/** Holds back the next BOOT event frame from the board until release(). */
function holdingTransport(inner: Transport) {
  let pending: number[] = [];
  let holdNext = false;
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
        if (holdNext && n >= 2 && body[1] === BOOT_EVENT) {
          holdNext = false;
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
    holdNextBoot() {
      holdNext = true;
    },
    get held() {
      return held.length;
    },
    release() {
      for (const f of held.splice(0)) ctl!.enqueue(f);
    },
  };
}

describe('a delayed BOOT event of an older boot', () => {
  it('is not taken for a reset that frees memory a running DMA writes', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const h = holdingTransport(vb.hostPort());
    const board = await Board.open(h.transport, { timers });
    try {
      // Two resets; the first one's BOOT event is held on the line.
      h.holdNextBoot();
      vb.reset();
      await sleep(50);
      expect(h.held).toBe(1);
      vb.reset();
      await sleep(50);
      await board.reconnect();
      const epochNow = board.hello.bootEpoch;

      const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const buf = board.alloc(32);
      const rx = serial.readExact(buf);
      rx.wait().catch(() => {});
      await rx.started;
      const bus = vb.chip.bus;
      expect(bus.read(CCR1, 4) & 1).toBe(1);

      // The old boot's BOOT event arrives now.
      h.release();
      await sleep(20);
      const next = board.alloc(32);
      const en = (bus.read(CCR1, 4) & 1) === 1 && (bus.read(CNDTR1, 4) & 0xffff) > 0;
      const cmar = bus.read(CMAR1, 4) >>> 0;
      const handedOutUnderDma = en && cmar >= next.address && cmar < next.address + next.length;
      console.log(
        'epoch',
        epochNow.toString(16),
        'next',
        next.address.toString(16),
        'cmar',
        cmar.toString(16),
        'en',
        en,
      );
      // The DMA (which nobody stopped) fills what the allocator handed out.
      vb.peer.inject(pattern(32, 7));
      await sleep(20);
      const inNext = Array.from({ length: 32 }, (_, i) => bus.read(next.address + i, 1));
      const dmaWroteIntoNext = inNext.every((b, i) => b === pattern(32, 7)[i]);
      expect({
        handedOutUnderDma,
        dmaWroteIntoNext,
        boardStillSameBoot: board.hello.bootEpoch === epochNow,
      }).toEqual({
        handedOutUnderDma: false,
        dmaWroteIntoNext: false,
        boardStillSameBoot: true,
      });
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 10_000);
});
