/**
 * Any frame can be delayed, past a board reset too. An event of an earlier
 * boot that arrives late is never taken for one of the current boot:
 *
 * - DMA events name their start, and start numbers begin at a base drawn
 *   from the boot epoch (PROTOCOL.md §3), so the new boot's transfer with
 *   the same place in its boot's sequence carries another number;
 * - a BOOT event revokes handles but frees nothing: the board may never
 *   have reset, and only its word (a new session's HELLO reply,
 *   RESET_PERIPHERALS answered) says its channels are off.
 *
 * Each case checks the memory a DMA runs on is never handed out again.
 */
import { describe, expect, it } from 'vitest';
import { Serial1 } from '../driver/api/index.ts';
import { Board } from '../driver/board/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { FAST_BAUD, pattern } from './support/api-fixtures.ts';
import { delayingTransport } from './support/delaying-transport.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

const BOOT_EVENT = 0x41;
const DMA_EVENT = 0x42;
const CCR1 = 0x4002_0008;
const CNDTR1 = 0x4002_000c;
const CMAR1 = 0x4002_0014;

/** A DMA event of channel 1 (body: version, type, counter, channel, flags, cndtr, ccr, completions, starts). */
const isChannel1Event = (b: Uint8Array) => b.length >= 16 && b[1] === DMA_EVENT && b[4] === 1;
const tcOfChannel1 = (b: Uint8Array) => isChannel1Event(b) && (b[5]! & 2) !== 0;
const channel1Completions = (completions: number) => (b: Uint8Array) =>
  isChannel1Event(b) && (b[12]! | (b[13]! << 8)) === completions;
const isBootEvent = (b: Uint8Array) => b.length >= 2 && b[1] === BOOT_EVENT;

async function openDelayed() {
  const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
  vb.start();
  const timers = virtualTimers(vb);
  const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
  const line = delayingTransport(vb.hostPort());
  const board = await Board.open(line.transport, { timers });
  const bus = vb.chip.bus;
  /** `next` covers the range channel 1 runs on (CCR.EN set, CNDTR not 0). */
  const underRunningDma = (next: { address: number; length: number }) => {
    const running = (bus.read(CCR1, 4) & 1) === 1 && (bus.read(CNDTR1, 4) & 0xffff) > 0;
    const cmar = bus.read(CMAR1, 4) >>> 0;
    return running && cmar >= next.address && cmar < next.address + next.length;
  };
  /** Lets the peer send `bytes`, then whether they landed in `next`. */
  const dmaWritesInto = async (next: { address: number; length: number }, bytes: Uint8Array) => {
    vb.peer.inject(bytes);
    await sleep(20);
    return Array.from({ length: next.length }, (_, i) => bus.read(next.address + i, 1)).every(
      (b, i) => b === bytes[i],
    );
  };
  const reset = async () => {
    vb.reset();
    await sleep(20);
  };
  const dispose = async () => {
    await board.close().catch(() => {});
    await vb.dispose();
  };
  return { vb, bus, board, line, sleep, underRunningDma, dmaWritesInto, reset, dispose };
}

describe('an event of an earlier boot, delayed past a reset', () => {
  it('a DMA TC does not complete the new boot’s transfer in the same place of its boot', async () => {
    const t = await openDelayed();
    const { board, line } = t;
    /** The same two transfers in each boot: a write, then a 16-byte reception. */
    const twoTransfers = async (beforeReception: () => void, peerAnswers: boolean) => {
      const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const out = board.alloc(4);
      await out.write(pattern(4));
      const w = await serial.writeAll(out).wait();
      w.buffer.free();
      beforeReception();
      const rx = w.serial.readExact(board.alloc(16));
      await rx.started;
      if (peerAnswers) t.vb.peer.inject(pattern(16, 1));
      return rx;
    };
    try {
      const first = await twoTransfers(() => line.hold(tcOfChannel1), true);
      await first.wait({ timeoutMs: 3000 }).catch(() => {}); // its TC held: ends by re-reading its channel
      await t.sleep(5);
      expect(line.held).toBe(1);

      await t.reset();
      await board.reconnect().catch(() => board.reconnect());
      const second = await twoTransfers(() => {}, false); // the peer stays silent: its DMA runs on
      const waiting = second.wait();
      waiting.catch(() => {});
      expect(t.bus.read(CCR1, 4) & 1).toBe(1);

      line.release(); // the old boot's TC of its reception arrives now
      await t.sleep(20);
      const settled = await Promise.race([waiting.catch(() => undefined), t.sleep(50).then(() => undefined)]);
      settled?.buffer.free();
      const next = board.alloc(16);
      expect({
        secondSettled: settled !== undefined,
        handedOutUnderDma: t.underRunningDma(next),
        dmaWroteIntoNext: await t.dmaWritesInto(next, pattern(16, 6)),
      }).toEqual({ secondSettled: false, handedOutUnderDma: false, dmaWroteIntoNext: false });
    } finally {
      await t.dispose();
    }
  }, 10_000);

  it('a circular reception’s event does not make the new one return halves nobody sent', async () => {
    const t = await openDelayed();
    const { board, line } = t;
    try {
      let serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      line.hold(channel1Completions(1));
      const old = serial.readCircular(board.alloc(64));
      await old.started;
      t.vb.peer.inject(pattern(140, 2)); // four halves and a bit: completions 1..4, the first held
      await t.sleep(20);
      expect(line.held).toBe(1);
      await old.stop().catch(() => {});

      await t.reset();
      await board.reconnect().catch(() => board.reconnect());
      serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const circ = serial.readCircular(board.alloc(64)); // the new boot's first start; the peer stays silent
      await circ.started;
      const next = circ[Symbol.asyncIterator]().next();
      next.catch(() => {});
      await t.sleep(10);
      line.release();
      const got = await Promise.race([
        next.then(
          (r) => (r.done ? 'done' : 'a half'),
          (e: Error) => e.name,
        ),
        t.sleep(50).then(() => 'nothing yet'),
      ]);
      expect(got).toBe('nothing yet');
      await circ.stop().catch(() => {});
    } finally {
      await t.dispose();
    }
  }, 10_000);

  it('a BOOT event revokes handles but frees no memory a running DMA writes', async () => {
    const t = await openDelayed();
    const { board, line } = t;
    try {
      // Two resets; the first one's BOOT event is held on the line.
      line.hold(isBootEvent);
      await t.reset();
      await t.sleep(30);
      expect(line.held).toBe(1);
      await t.reset();
      await t.sleep(30);
      await board.reconnect();
      const epochNow = board.hello.bootEpoch;

      const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const buf = board.alloc(32);
      const rx = serial.readExact(buf);
      const outcome = rx.wait().then(
        () => 'completed',
        (e: Error) => e.name,
      );
      await rx.started;
      expect(t.bus.read(CCR1, 4) & 1).toBe(1);

      line.release(); // the older boot's BOOT event arrives now
      await t.sleep(20);
      expect(await outcome).toMatch(/Revoked|DeviceReset/); // taken for a reset: the handles are revoked
      expect(board.arenaUsage().inDoubt).toBeGreaterThanOrEqual(32);
      const next = board.alloc(32);
      expect({
        handedOutUnderDma: t.underRunningDma(next),
        dmaWroteIntoNext: await t.dmaWritesInto(next, pattern(32, 7)),
        sameSession: board.hello.bootEpoch === epochNow,
      }).toEqual({ handedOutUnderDma: false, dmaWroteIntoNext: false, sameSession: true });

      // The board's word frees it: a new session stops the channel.
      await board.reconnect();
      expect(t.bus.read(CCR1, 4) & 1).toBe(0);
      expect(board.arenaUsage().inDoubt).toBe(0);
    } finally {
      await t.dispose();
    }
  }, 10_000);
});
