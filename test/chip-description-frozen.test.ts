/**
 * The chip description a Board decides by (which raw writes start a DMA
 * channel, where CCR's fields sit) is deep-frozen: the built-in one cannot
 * be changed, and a board keeps a frozen private copy of one it is given.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Board } from '../driver/board/index.ts';
import { STM32G071 } from '../driver/chip/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { openSerialTarget, pattern, type SerialTarget } from './support/api-fixtures.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

let t: SerialTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('board.chip is frozen', () => {
  it('changing the description does not hide a raw DMA start from the ledger', async () => {
    t = await openSerialTarget();
    const { board, vb } = t;
    const ch = board.chip.dma.channels[0]!;
    const usart = board.chip.usart1;
    const ccr = ch.ccr.address;
    const target = board.arenaRegions().find((r) => r.state === 'free' && r.length >= 64)!.address;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: writing a field the types call readonly, as JavaScript can
      (ch.ccr as any).address = 0x4001_3800 + 0x0c;
    } catch (e) {
      console.log('refused:', (e as Error).message);
    }
    try {
      await board.raw.batch((b) => {
        b.write(ch.cndtr.address, 32)
          .write(ch.cmar.address, target)
          .write(ch.cpar.address, usart.rdr.address)
          .write(ch.mux.address, usart.dmaRequest.rx)
          .write(ccr, (1 << 7) | 1);
      });
    } finally {
      // A frozen description refuses the restore as it refused the change.
      // biome-ignore lint/suspicious/noExplicitAny: the description is shared by every board in the process
      if (!Object.isFrozen(ch.ccr)) (ch.ccr as any).address = ccr;
    }
    const bus = vb.chip.bus;
    const running = (bus.read(ccr, 4) & 1) === 1 && (bus.read(ch.cndtr.address, 4) & 0xffff) > 0;
    const next = board.alloc(64);
    const cmar = bus.read(ch.cmar.address, 4) >>> 0;
    const handedOutUnderDma = running && cmar >= next.address && cmar < next.address + next.length;
    await next.write(new Uint8Array(64)).catch(() => {});
    vb.peer.inject(pattern(32, 3));
    await new Promise((r) => setTimeout(r, 300));
    const inNext = Array.from({ length: 32 }, (_, i) => bus.read(next.address + i, 1));
    expect({ handedOutUnderDma, dmaWroteIntoNext: inNext.some((b) => b !== 0) }).toEqual({
      handedOutUnderDma: false,
      dmaWroteIntoNext: false,
    });
  }, 10_000);

  it("changing a CCR field's offset does not make a safe readExact write past its buffer", async () => {
    t = await openSerialTarget();
    const { board, serial, vb } = t;
    const buf = board.alloc(16);
    const neighbour = board.alloc(64);
    const before = pattern(64, 8);
    await neighbour.write(before);
    const ccr = board.chip.dma.channels[0]!.ccr;
    const pl = ccr.fields.find((f) => f.name === 'PL')!;
    const msize = ccr.fields.find((f) => f.name === 'MSIZE')!;
    const saved = pl.offset;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: writing a field the types call readonly, as JavaScript can
      (pl as any).offset = msize.offset; // priority 'high' (2) now lands in MSIZE: 32-bit items
    } catch (e) {
      console.log('refused:', (e as Error).message);
    }
    try {
      const rx = serial.readExact(buf, { priority: 'high' });
      rx.wait().catch(() => {});
      await rx.started.catch(() => {});
      vb.peer.inject(new Uint8Array(64).fill(0xa5));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      // biome-ignore lint/suspicious/noExplicitAny: the description is shared by every board in the process
      if (!Object.isFrozen(pl)) (pl as any).offset = saved;
    }
    console.log('strict reports:', vb.strictReports.map((r) => `${r.peripheral}: ${r.message}`).join('; '));
    vb.chip.strict.clear();
    const bus = vb.chip.bus;
    const after = Array.from({ length: 64 }, (_, i) => bus.read(neighbour.address + i, 1));
    expect(after).toEqual(Array.from(before));
  }, 10_000);
});

describe('a chip description passed to Board.open', () => {
  it("is copied and frozen: changing the caller's object afterwards changes nothing the board decides by", async () => {
    const mine = structuredClone(STM32G071) as unknown as {
      dma: { channels: { ccr: { address: number } }[] };
    };
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer' });
    vb.start();
    const board = await Board.open(vb.hostPort(), {
      timers: virtualTimers(vb),
      chip: mine as unknown as typeof STM32G071,
    });
    try {
      mine.dma.channels[0]!.ccr.address = 0x4001_380c;
      expect(board.chip).not.toBe(mine);
      expect(board.chip.dma.channels[0]!.ccr.address).toBe(0x4002_0008);
      expect(Object.isFrozen(board.chip.dma.channels[0]!.ccr)).toBe(true);
    } finally {
      await board.close();
      await vb.dispose();
    }
  });
});
